/**
 * Waiting on a run in workflow tests: until its status query shows a stage (and whatever else the
 * test needs), and the message of an update the workflow refused.
 */
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../../src/shared/messages';
import type { PipelineStatus } from '../../src/shared/schemas';
import type { videoPipeline } from '../../src/workflows';
import { eventually } from './temporal';

export function waitStage(
  handle: WorkflowHandle<typeof videoPipeline>,
  stage: PipelineStatus['stage'],
  extra: (s: PipelineStatus) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<PipelineStatus> {
  return eventually(
    async () => {
      const s = await handle.query(statusQuery);
      return s.stage === stage && extra(s) ? s : undefined;
    },
    timeoutMs,
    stage,
  );
}

/** The workflow's reason for refusing an update; fails the test if the update was accepted. */
export async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => assert.fail('the update should have been refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
  return err.cause?.message ?? '';
}
