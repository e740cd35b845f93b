/**
 * cancelPredictions: cancels at Replicate every still-running prediction of a run (or of some of
 * its scenes), found by the generation key each carries (providers/prediction-keys.ts).
 *
 * A generate attempt cancels its own prediction when the run is cancelled while it polls. But a
 * run can be cancelled while no attempt of a scene runs: in the retry backoff after a handover or
 * a failed attempt, or with every worker dead. Temporal then cancels the activity on the server
 * and no worker ever calls Replicate: the prediction runs, and bills, until its Cancel-After
 * deadline. The workflow calls this in its cancellation and failure paths (nonCancellable), after
 * asking its generate activities to cancel (it does not wait for them: running attempts may cancel
 * the same predictions). Idempotent: cancelling a finished prediction changes nothing, and a
 * second call finds nothing left to cancel.
 */
import { Context } from '@temporalio/activity';
import type Replicate from 'replicate';
import { fromReplicateError } from '../providers/errors';
import { CLOCK_SKEW_MARGIN_MS } from '../providers/prediction-keys';
import type { GenerationKey } from '../providers/prediction-keys';
import { TERMINAL, cancelPrediction, keyedPredictionsSince } from '../providers/replicate-predictions';
import { failure, isFailureType } from '../shared/failures';
import type { CancelPredictionsInput, CancelPredictionsResult } from '../shared/schemas';

export interface CancelPredictionsDeps {
  replicate: Replicate;
}

function check(input: CancelPredictionsInput): number {
  if (typeof input?.workflowId !== 'string' || input.workflowId === '') {
    throw failure('InvalidInput', 'cancelPredictions: workflowId is required');
  }
  const since = Date.parse(input.runStartedAt);
  if (!Number.isFinite(since)) {
    throw failure('InvalidInput', `cancelPredictions: runStartedAt must be an ISO time, not ${input.runStartedAt}`);
  }
  if (input.scenes !== undefined && !input.scenes.every((s) => Number.isInteger(s) && s >= 1)) {
    throw failure('InvalidInput', 'cancelPredictions: scenes are numbered from 1');
  }
  return since;
}

export function createCancelPredictionsActivities(deps: CancelPredictionsDeps) {
  const { replicate } = deps;
  return {
    async cancelPredictions(input: CancelPredictionsInput): Promise<CancelPredictionsResult> {
      const ctx = Context.current();
      const since = check(input);
      const namespace = ctx.info.workflowNamespace ?? 'default';
      const scenes = input.scenes ? new Set(input.scenes) : undefined;
      const wanted = (k: GenerationKey) =>
        k.namespace === namespace && k.workflowId === input.workflowId && (!scenes || (!k.kind && scenes.has(k.scene)));
      const result: CancelPredictionsResult = { cancelled: [], found: 0, searched: 0 };
      const ours = keyedPredictionsSince(replicate, {
        sinceMs: since - CLOCK_SKEW_MARGIN_MS,
        signal: ctx.cancellationSignal,
        wanted,
        onListed: () => ctx.heartbeat({ searched: ++result.searched }),
      });
      try {
        await cancelEach();
      } catch (err) {
        // A rejected token (ProviderAuth) or a refusal is final: retrying it for the activity's
        // 15 minutes would only hold a failed run open. Outages stay retryable.
        throw fromReplicateError(err) ?? err;
      }
      ctx.log.info(
        `cancelPredictions ${input.workflowId}: ${result.cancelled.length} cancelled, ${result.found} found, ${result.searched} looked at`,
      );
      return result;

      async function cancelEach(): Promise<void> {
        for await (const { prediction, key } of ours) {
          result.found++;
          if (TERMINAL.has(prediction.status)) continue;
          try {
            await cancelPrediction(replicate, prediction.id);
          } catch (err) {
            const mapped = fromReplicateError(err);
            // Gone already (deleted, another account's id): nothing left to stop.
            if (isFailureType(mapped, 'ProviderRejected')) continue;
            throw mapped ?? err; // transient: the retry policy runs this whole, idempotent search again
          }
          result.cancelled.push(prediction.id);
          ctx.log.info(
            `scene ${key.scene}: cancelled prediction ${prediction.id} (${prediction.status}) of ${input.workflowId}`,
          );
        }
      }
    },
  };
}

export type CancelPredictionsActivities = ReturnType<typeof createCancelPredictionsActivities>;
