/**
 * Publish activity: hands the finished video to the artifact store so the person who asked for it
 * can fetch it from any machine (`vidflow result <id> --download`). Retry-safe: the store's key
 * depends only on the workflow id, and an object already there with the right size is not sent
 * again. With a remote store the local copy is then removed, so workers' disks do not fill up.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ArtifactStore } from '../artifacts/store';
import { ArtifactError } from '../artifacts/store';
import { failure } from '../shared/failures';
import { outputVideoPath } from '../support/paths';

export interface PublishDeps {
  store: ArtifactStore;
  outputDir: string;
}

export interface PublishVideoInput {
  workflowId: string;
  /** The stitcher's output path; must be this run's file in the output folder. */
  path: string;
}

const MB = 1024 * 1024;

function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  if (err instanceof ArtifactError) {
    const msg = `publish: ${err.message}`;
    switch (err.kind) {
      case 'denied':
        return failure('ProviderAuth', msg, { cause: err });
      case 'no-bucket':
        return failure('ConfigMissing', msg, { cause: err });
      case 'refused':
        return failure('InvalidInput', msg, { cause: err });
      case 'disk-full':
        return failure('DiskFull', msg, { cause: err });
      case 'not-found':
      case 'elsewhere':
        // The output is gone from this worker and not in the store: only stitching again helps.
        return failure('OutputMissing', msg, { cause: err });
      case 'unavailable':
        return failure('ProviderUnavailable', msg, { cause: err });
    }
  }
  // EACCES on the output folder, a crash: may be transient, so it stays retryable.
  return err;
}

export function createPublishActivities(deps: PublishDeps) {
  return {
    async publishVideo(input: PublishVideoInput): Promise<{ uri: string; sizeBytes: number }> {
      const ctx = Context.current();
      // The input comes from the history: publish only this run's own output file, never a path
      // someone slipped into it.
      let expected: string;
      try {
        expected = outputVideoPath(deps.outputDir, input.workflowId);
      } catch (err) {
        throw failure('InvalidInput', `publish: ${(err as Error).message}`);
      }
      if (resolve(input.path) !== expected) {
        throw failure('InvalidInput', `publish: ${input.path} is not this run's output file (${expected})`);
      }
      ctx.heartbeat({ percent: 0 });
      let lastPercent = 0;
      try {
        const published = await deps.store.put(expected, input.workflowId, {
          signal: ctx.cancellationSignal,
          onProgress: (bytes, total) => {
            const percent = total > 0 ? Math.floor((bytes / total) * 100) : 100;
            if (percent === lastPercent) return;
            lastPercent = percent;
            ctx.heartbeat({ percent, bytes });
          },
        });
        ctx.heartbeat({ percent: 100 });
        if (deps.store.remote) {
          // Safe after a successful put: a retry finds the object by HeadObject instead.
          await rm(expected, { force: true });
        }
        ctx.log.info(
          `publish: ${published.uri} (${(published.sizeBytes / MB).toFixed(1)} MB)` +
            (deps.store.remote ? '; local copy removed' : ''),
        );
        return published;
      } catch (err) {
        if (ctx.cancellationSignal.aborted) ctx.log.info('publish: cancelled');
        else ctx.log.info(`publish: failed: ${(err as Error).message}`);
        throw toFailure(err);
      }
    },
  };
}

export type PublishActivities = ReturnType<typeof createPublishActivities>;
