/** Removes a run's working files (downloaded clips) once its video is delivered or it is cancelled. */
import { Context } from '@temporalio/activity';
import { rm } from 'node:fs/promises';
import { runWorkDir } from '../support/paths';

export interface CleanupDeps {
  workDir: string;
}

export function createCleanupActivities(deps: CleanupDeps) {
  return {
    /** Idempotent: removing a folder that is already gone is a success. */
    async removeWorkFiles(input: { workflowId: string }): Promise<void> {
      const dir = runWorkDir(deps.workDir, input.workflowId);
      await rm(dir, { recursive: true, force: true });
      Context.current().log.debug(`cleanup: removed ${dir}`);
    },
  };
}

export type CleanupActivities = ReturnType<typeof createCleanupActivities>;
