/**
 * generateKeyframe: one paid image prediction per storyboard keyframe and generation, whatever
 * crashes. The same discipline as a scene's clip (generate.ts), through the same parts:
 *
 * - Its generation key (providers/prediction-keys.ts) has kind `keyframe` with the keyframe's
 *   index in `scene`: a search for keyframe K never adopts scene K's clip, nor the reverse.
 * - The id goes into the heartbeat right after the create; a retry resumes it. A retry without an
 *   id, and a `mayExist` first attempt, look the key up before paying (generation-search.ts) and
 *   adopt only exactly that key and input.
 * - The model's own failures are counted in the heartbeat and bounded by MAX_MODEL_ATTEMPTS
 *   (prediction-outcome.ts), never by attempts, which crashes need.
 * - Only a cancellation the workflow asked for cancels the prediction at Replicate.
 *
 * It polls in its own slot instead of handing over to the prediction tracker: an image takes
 * seconds (FLUX schnell about one, Kontext Pro a few), so the slot a tracked clip frees for
 * minutes would be freed here for moments, at the cost of an async completion and a webhook
 * round trip per keyframe. The polls start fast for the same reason. No generation slot is
 * taken either: a storyboard makes a handful of keyframes once, well under Replicate's limits.
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import type Replicate from 'replicate';
import { failure } from '../shared/failures';
import { IMAGE_MODELS } from '../shared/models';
import type {
  GenerateClipResult,
  GenerateHeartbeat,
  GenerateKeyframeInput,
  KeyframeActivities,
} from '../shared/activity-io';
import { fromReplicateError } from '../providers/errors';
import { ADOPTION_WEBHOOK_BASE, webhookFor } from '../providers/prediction-keys';
import { TERMINAL, createPrediction, getPrediction } from '../providers/replicate-predictions';
import { createKeySearch } from './generation-search';
import type { Job } from './generation-search';
import { cancelIfAsked } from './prediction-cancel';
import { MAX_MODEL_ATTEMPTS, outcome } from './prediction-outcome';
import { nap, patientReader } from './provider-patience';
import { PROVIDER_ERROR_BUDGET_MS, handover } from './generate-deps';

export interface KeyframeDeps {
  replicate: Replicate;
  /** First poll interval (default 500 ms: images are quick); it grows to `maxPollIntervalMs` (default 2 s). */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** Replicate's Cancel-After (default 10 min: an image that takes longer is stuck, not slow). */
  predictionDeadlineSeconds?: number;
  lateCreateGraceMs?: number;
  providerErrorBudgetMs?: number;
  /** The worker's shutdown signal (src/worker/signals.ts): a polling attempt hands over at once. */
  stopping?: AbortSignal;
}

/** The prompt limit the image models take (FLUX has no documented cap; Kling's 2500 keeps plans uniform). */
const MAX_PROMPT_CHARS = 2500;

export function createKeyframeActivities(deps: KeyframeDeps): KeyframeActivities {
  const { replicate } = deps;
  const pollMin = deps.pollIntervalMs ?? 500;
  const pollMax = deps.maxPollIntervalMs ?? 2000;
  const deadline = deps.predictionDeadlineSeconds ?? 10 * 60;
  const stopping = deps.stopping ?? new AbortController().signal;
  const patience = {
    budgetMs: deps.providerErrorBudgetMs ?? PROVIDER_ERROR_BUDGET_MS,
    firstDelayMs: pollMin,
    maxDelayMs: 30_000,
    beatEveryMs: pollMax,
  };
  const search = createKeySearch({
    replicate,
    lateCreateGraceMs: deps.lateCreateGraceMs ?? 3000,
    maxModelFailures: MAX_MODEL_ATTEMPTS,
  });

  return {
    async generateKeyframe(input: GenerateKeyframeInput): Promise<GenerateClipResult> {
      const ctx = Context.current();
      const tag = `keyframe ${input.keyframeIndex}/${input.keyframeCount}`;
      const spec = (IMAGE_MODELS as Record<string, (typeof IMAGE_MODELS)[keyof typeof IMAGE_MODELS] | undefined>)[
        input.imageModel
      ];
      if (!spec) throw failure('InvalidInput', `${tag}: unknown image model ${String(input.imageModel)}`);
      if (!Number.isInteger(input.keyframeIndex) || input.keyframeIndex < 1) {
        throw failure('InvalidInput', `${tag}: keyframes are numbered from 1`);
      }
      if (input.prompt.length > MAX_PROMPT_CHARS) {
        throw failure(
          'InvalidInput',
          `${tag}: prompt is ${input.prompt.length} characters; at most ${MAX_PROMPT_CHARS}`,
        );
      }
      if (input.referenceImage && !spec.reference) {
        throw failure('InvalidInput', `${tag}: ${input.imageModel} takes no reference image`);
      }
      const generation = input.generation ?? 0;
      if (!Number.isInteger(generation) || generation < 0) {
        throw failure('InvalidInput', `${tag}: generation must be a whole number >= 0, not ${generation}`);
      }
      const runStart = input.runStartedAt ? Date.parse(input.runStartedAt) : NaN;
      const job: Job = {
        tag,
        kind: 'keyframe',
        model: spec.replicateModel,
        input: spec.buildInput({
          prompt: input.prompt,
          aspectRatio: input.aspectRatio,
          referenceImage: input.referenceImage,
          seed: input.seed,
        }),
        namespace: ctx.info.workflowNamespace ?? 'default',
        workflowId: input.workflowId,
        scene: input.keyframeIndex,
        generation,
        mayExist: ctx.info.attempt > 1 || input.mayExist === true,
        sinceMs: input.mayExist && Number.isFinite(runStart) ? runStart : ctx.info.scheduledTimestampMs,
      };
      const signal = ctx.cancellationSignal;
      const previous = ctx.info.heartbeatDetails as Partial<GenerateHeartbeat> | undefined;
      if (stopping.aborted) {
        if (previous) ctx.heartbeat(previous);
        throw handover(tag, 'it had not started yet');
      }
      const read = patientReader(ctx, stopping, tag, patience);
      const waiting = { beat: () => ctx.heartbeat(previous), onStop: () => handover(tag, 'it had not resumed yet') };
      const found = await search.existing(ctx, job, previous, read, waiting);
      let prediction = found.prediction;
      const { modelFailures } = found;
      if (!prediction) {
        ctx.log.info(`${tag}: creating prediction on ${job.model} (${input.aspectRatio})`);
        try {
          prediction = await createPrediction(replicate, {
            model: job.model,
            input: job.input,
            // Always the never-resolving base, even with VIDFLOW_WEBHOOK_URL: keyframes are polled, so
            // the receiver has nothing to complete, and the URL only carries the key.
            webhook: webhookFor({ ...job, try: modelFailures }, ADOPTION_WEBHOOK_BASE),
            deadlineSeconds: deadline,
            signal,
          });
        } catch (err) {
          if (signal.aborted && ctx.cancellationDetails?.cancelRequested) await search.cancelLateCreate(ctx, job);
          throw fromReplicateError(err) ?? err;
        }
      }
      const id = prediction.id;
      let status = prediction.status;
      const beat = (): GenerateHeartbeat => ({
        predictionId: id,
        status,
        ...(modelFailures ? { modelFailures } : {}),
      });
      ctx.heartbeat(beat());
      const polling = { beat: () => ctx.heartbeat(beat()), onStop: () => handover(tag, `prediction ${id} lives on`) };
      try {
        let wait = pollMin;
        while (!TERMINAL.has(prediction.status)) {
          await nap(ctx, wait, stopping); // rejects with CancelledFailure when the activity is cancelled
          if (stopping.aborted) throw polling.onStop();
          wait = Math.min(pollMax, Math.round(wait * 1.5));
          prediction = await read('poll', () => getPrediction(replicate, id, signal), polling);
          status = prediction.status;
          ctx.heartbeat(beat());
        }
      } catch (err) {
        if (err instanceof CancelledFailure || signal.aborted) await cancelIfAsked(ctx, replicate, id, tag);
        throw err;
      }
      return outcome(ctx, tag, prediction, modelFailures);
    },
  };
}
