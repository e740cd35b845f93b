/**
 * Generate activity: one paid Replicate prediction per scene and generation, whatever crashes.
 *
 * - Every prediction carries its generation key (workflow, scene, generation, try) in the query
 *   of its webhook URL (providers/prediction-keys.ts). Right after the create, its id goes into
 *   the heartbeat; a retry reads the last heartbeat and resumes polling that id.
 * - A retry without an id (the worker died between the create request and the heartbeat that
 *   records the id), and the first attempt of a run that may have predecessors (`mayExist`: a
 *   reset run starts with no heartbeat details), look their key up among the account's
 *   predictions before paying, and adopt only a prediction with exactly that key: never another
 *   run's, nor another scene's with the same prompt, whatever the clocks or the account's volume.
 * - The `creatingSince` heartbeat before the create is NOT load-bearing: the SDK may hold it back
 *   behind its throttle while the request is already out, and a SIGKILL then leaves no trace of
 *   it at the server. The key search needs no marker: any attempt after the first searches.
 * - It polls with its own loop that knows every status (the client's `wait()` polls forever on
 *   `aborted`), heartbeating each time so a cancellation reaches it. Provider errors while
 *   polling are ridden out (provider-patience.ts): attempts are for crashes, not for outages.
 * - Only a cancellation the workflow asked for cancels the prediction at Replicate
 *   (prediction-cancel.ts), also while the attempt waits for a generation slot. A run cancelled
 *   while no attempt runs (retry backoff, dead worker) is covered by `cancelPredictions`.
 * - A worker that begins a graceful shutdown (on SIGTERM it aborts the `stopping` signal it gave
 *   this factory: src/worker/signals.ts) does not poll through its grace time: the prediction runs
 *   at Replicate whoever polls it, so each generation fails its attempt at once with a retryable
 *   `WorkerShutdown` (the last heartbeat, with the prediction id, goes with the failure) and the
 *   next attempt resumes the same prediction on another worker after the retry backoff.
 */
import { CancelledFailure, CompleteAsyncError, Context } from '@temporalio/activity';
import { failure } from '../shared/failures';
import { MODELS, resolveModelId } from '../shared/models';
import type {
  GenerateClipInput,
  GenerateClipResult,
  GenerateCreatingHeartbeat,
  GenerateHeartbeat,
} from '../shared/schemas';
import { fromReplicateError } from '../providers/errors';
import { ADOPTION_WEBHOOK_BASE, webhookFor } from '../providers/prediction-keys';
import { TERMINAL, createPrediction, getPrediction } from '../providers/replicate-predictions';
import { Slots } from '../support/slots';
import { withActivity } from '../webhooks/activity-param';
import { createKeySearch } from './generation-search';
import type { Job } from './generation-search';
import { cancelAtReplicate, cancelIfAsked } from './prediction-cancel';
import { MAX_MODEL_ATTEMPTS, outcome } from './prediction-outcome';
import { nap, patientReader } from './provider-patience';
import { PROVIDER_ERROR_BUDGET_MS, handover } from './generate-deps';
import type { GenerateDeps, PreviousBeat } from './generate-deps';

export { MAX_MODEL_ATTEMPTS };

export { PROVIDER_ERROR_BUDGET_MS };
export type { GenerateDeps };

export function createGenerateActivities(deps: GenerateDeps) {
  const { replicate } = deps;
  const pollMin = deps.pollIntervalMs ?? 2000;
  const pollMax = deps.maxPollIntervalMs ?? 5000;
  const deadline = deps.predictionDeadlineSeconds ?? 30 * 60;
  const lateCreateGraceMs = deps.lateCreateGraceMs ?? 3000;
  const stopping = deps.stopping ?? new AbortController().signal;
  const webhookBase = deps.webhookUrl ?? ADOPTION_WEBHOOK_BASE;
  const patience = {
    budgetMs: deps.providerErrorBudgetMs ?? PROVIDER_ERROR_BUDGET_MS,
    firstDelayMs: pollMin,
    maxDelayMs: deps.maxErrorBackoffMs ?? 30_000,
    beatEveryMs: pollMax,
  };
  // A NaN from a mistyped setting would make every `used >= max` false, i.e. no cap at all.
  const cap = deps.maxConcurrentGenerations;
  const slots = new Slots(cap !== undefined && Number.isFinite(cap) ? Math.max(1, Math.floor(cap)) : 8);
  const search = createKeySearch({ replicate, lateCreateGraceMs, maxModelFailures: MAX_MODEL_ATTEMPTS });

  /**
   * Takes a generation slot, waiting if all are in use. While waiting it heartbeats (so the
   * heartbeat timeout does not fail it, and a cancellation reaches it) with the previous attempt's
   * details unchanged: a crash while waiting must still leave the next attempt the prediction id.
   * A cancellation the run asked for, while waiting, cancels what the previous attempts paid for:
   * no attempt polls it now, and none will.
   */
  async function acquireSlot(ctx: Context, job: Job, previous: PreviousBeat | undefined): Promise<void> {
    if (slots.tryAcquire()) return;
    ctx.log.info(`${job.tag}: waiting for a generation slot (${slots.inUse} in use)`);
    ctx.heartbeat(previous);
    const beat = setInterval(() => ctx.heartbeat(previous), pollMin);
    try {
      await slots.wait(AbortSignal.any([ctx.cancellationSignal, stopping]));
    } catch (err) {
      if (stopping.aborted && !ctx.cancellationSignal.aborted) throw handover(job.tag, 'it had not started yet');
      if (ctx.cancellationDetails?.cancelRequested) {
        const why = 'the run was cancelled while this scene waited for a slot';
        if (previous?.predictionId) await cancelAtReplicate(ctx, replicate, previous.predictionId, job.tag, why);
        else if (job.mayExist) await search.cancelOurs(ctx, job, why);
      }
      throw err;
    } finally {
      clearInterval(beat);
    }
  }

  return {
    async generateClip(input: GenerateClipInput): Promise<GenerateClipResult> {
      const ctx = Context.current();
      const tag = `scene ${input.sceneIndex}/${input.sceneCount}`;
      const modelId = resolveModelId(input.model);
      if (!modelId) throw failure('InvalidInput', `unknown model ${input.model}`);
      const spec = MODELS[modelId];
      if (input.prompt.length > spec.maxPromptChars) {
        throw failure(
          'InvalidInput',
          `${tag}: prompt is ${input.prompt.length} characters; ${modelId} takes at most ${spec.maxPromptChars}`,
        );
      }
      const generation = input.generation ?? 0;
      if (!Number.isInteger(generation) || generation < 0) {
        throw failure('InvalidInput', `${tag}: generation must be a whole number >= 0, not ${generation}`);
      }
      const job: Job = {
        tag,
        model: spec.replicateModel,
        input: spec.buildInput({
          prompt: input.prompt,
          seconds: input.seconds,
          aspectRatio: input.aspectRatio,
          negativePrompt: input.negativePrompt,
          startImage: input.startImage,
          endImage: input.endImage,
          audio: input.audio === true,
          shots: input.shots,
        }),
        namespace: ctx.info.workflowNamespace ?? 'default',
        workflowId: input.workflowId,
        scene: input.sceneIndex,
        generation,
        // Cheap by design: a plain first attempt never lists the account's predictions.
        mayExist: ctx.info.attempt > 1 || input.mayExist === true,
        sinceMs: searchFrom(ctx, input),
      };
      const signal = ctx.cancellationSignal;
      const previous = ctx.info.heartbeatDetails as PreviousBeat | undefined;
      if (stopping.aborted) {
        // A task that reached this worker as it began to stop: leave it, and the previous
        // attempt's details, to a worker that stays.
        if (previous) ctx.heartbeat(previous);
        throw handover(tag, 'it had not started yet');
      }

      await acquireSlot(ctx, job, previous);
      try {
        const read = patientReader(ctx, stopping, tag, patience);
        const waiting = { beat: () => ctx.heartbeat(previous), onStop: () => handover(tag, 'it had not resumed yet') };
        // modelFailures is carried by every heartbeat of this scene; it grows only when a found
        // prediction had failed.
        const found = await search.existing(ctx, job, previous, read, waiting);
        let prediction = found.prediction;
        const { modelFailures } = found;

        if (!prediction) {
          // Informational (vidflow watch), not load-bearing: see the module comment.
          const creating = {
            creatingSince: new Date().toISOString(),
            sceneIndex: input.sceneIndex,
            ...(modelFailures ? { modelFailures } : {}),
          } satisfies GenerateCreatingHeartbeat;
          ctx.heartbeat(creating);
          ctx.log.info(`${tag}: creating prediction on ${job.model} (${input.seconds} s, ${input.aspectRatio})`);
          const key = { ...job, try: modelFailures };
          try {
            // A 429 (the account's create limit) is waited out here, heartbeating, and spends no
            // attempt: nothing was created. Anything else fails the attempt (see provider-patience.ts).
            prediction = await read(
              'create',
              () =>
                createPrediction(replicate, {
                  model: job.model,
                  input: job.input,
                  // With a real receiver, the activity id rides along: it completes this activity by id.
                  webhook: webhookFor(
                    key,
                    deps.webhookUrl ? withActivity(webhookBase, ctx.info.activityId) : webhookBase,
                  ),
                  deadlineSeconds: deadline,
                  signal,
                }),
              {
                beat: () => ctx.heartbeat(creating),
                onStop: () => handover(tag, 'it had not created its prediction yet'),
                rateLimitsOnly: true,
              },
            );
          } catch (err) {
            if (signal.aborted && ctx.cancellationDetails?.cancelRequested) await search.cancelLateCreate(ctx, job);
            throw fromReplicateError(err) ?? err;
          }
          ctx.log.info(`${tag}: prediction ${prediction.id} created`);
        }
        const id = prediction.id;
        const beat = (status: string): GenerateHeartbeat => ({
          predictionId: id,
          status,
          sceneIndex: input.sceneIndex,
          ...(modelFailures ? { modelFailures } : {}),
        });
        ctx.heartbeat(beat(prediction.status));
        const client =
          deps.tracker && !TERMINAL.has(prediction.status) && !stopping.aborted ? clientOf(ctx) : undefined;
        if (deps.tracker && client) {
          deps.tracker.track({
            taskToken: ctx.info.taskToken,
            client,
            log: ctx.log,
            tag,
            workflowId: input.workflowId,
            predictionId: id,
            status: prediction.status,
            createdAtMs: Date.parse(prediction.created_at) || Date.now(),
            sceneIndex: input.sceneIndex,
            modelFailures,
          });
          throw new CompleteAsyncError(); // the finally below frees the slot; the SDK frees the task slot
        }

        try {
          let wait = pollMin;
          let lastStatus = prediction.status;
          const polling = {
            beat: () => ctx.heartbeat(beat(lastStatus)),
            onStop: () => handover(tag, `prediction ${id} (${lastStatus}) lives on`),
          };
          while (!TERMINAL.has(prediction.status)) {
            await nap(ctx, wait, stopping); // rejects with CancelledFailure when the activity is cancelled
            if (stopping.aborted) {
              // The last heartbeat (this prediction's id) goes to the server with the failure.
              ctx.log.info(`${tag}: worker stopping; prediction ${id} lives on for the next attempt`);
              throw polling.onStop();
            }
            wait = Math.min(pollMax, Math.round(wait * 1.5));
            prediction = await read('poll', () => getPrediction(replicate, id, signal), polling);
            ctx.heartbeat(beat(prediction.status));
            if (prediction.status !== lastStatus) {
              ctx.log.info(`${tag}: prediction ${id}: ${prediction.status}`);
              lastStatus = prediction.status;
            }
          }
        } catch (err) {
          if (err instanceof CancelledFailure || signal.aborted) await cancelIfAsked(ctx, replicate, id, tag);
          throw err;
        }
        return outcome(ctx, tag, prediction, modelFailures);
      } finally {
        slots.release();
      }
    },
  };
}

/**
 * Where a search for this scene's predictions starts, on the Temporal server's clock (the
 * margin for Replicate's clock is added by the search). A retry's predictions are no older than
 * the activity's first scheduling; a predecessor run's are as old as the run.
 */
function searchFrom(ctx: Context, input: GenerateClipInput): number {
  const runStart = input.runStartedAt ? Date.parse(input.runStartedAt) : NaN;
  return input.mayExist && Number.isFinite(runStart) ? runStart : ctx.info.scheduledTimestampMs;
}

/** The worker's client, or undefined where there is none (MockActivityEnvironment without one). */
function clientOf(ctx: Context): Context['client'] | undefined {
  try {
    return ctx.client;
  } catch {
    return undefined;
  }
}

export type GenerateActivities = ReturnType<typeof createGenerateActivities>;
