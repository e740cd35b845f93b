/**
 * Generate activity: one paid Replicate prediction per scene, whatever crashes.
 *
 * - Before creating, it heartbeats `creatingSince`; right after, the prediction id. A retry (after a
 *   worker crash, a heartbeat timeout or a transient error) reads the last heartbeat and resumes
 *   polling that prediction instead of paying for another one.
 * - If a crash fell between "created at Replicate" and "id recorded", the retry looks among the
 *   account's recent predictions for one with exactly this input, created after `creatingSince`,
 *   and adopts it. The window that remains: two identical inputs created in that same interval
 *   (another run with the same prompt and settings), where the first one found is adopted.
 * - It polls with its own loop that knows every status (the client's `wait()` polls forever on
 *   `aborted`), heartbeating each time so a cancellation reaches it.
 * - Only a cancellation the workflow asked for cancels the prediction at Replicate. A worker
 *   shutdown, a timeout or a reset also cancel the activity; then the prediction must live on so
 *   the next attempt can resume it, or every redeploy would pay twice.
 * - A worker that begins a graceful shutdown (on SIGTERM it aborts the `stopping` signal it gave
 *   this factory: src/worker/signals.ts) does not poll through its grace time: the prediction runs
 *   at Replicate whoever polls it, so each generation fails its attempt at once with a retryable
 *   `WorkerShutdown` (the last heartbeat, with the prediction id, goes with the failure) and the
 *   next attempt resumes the same prediction on another worker after the retry backoff. Without
 *   this the SDK would cancel it only when the grace time (10 s) is over.
 */
import type { ApplicationFailure } from '@temporalio/activity';
import { CancelledFailure, Context } from '@temporalio/activity';
import type Replicate from 'replicate';
import type { Prediction } from 'replicate';
import { failure } from '../shared/failures';
import { MODELS, resolveModelId } from '../shared/models';
import type { GenerateClipInput, GenerateClipResult, GenerateHeartbeat } from '../shared/schemas';
import { fromReplicateError } from '../providers/errors';
import { Slots } from '../support/slots';

export interface GenerateDeps {
  replicate: Replicate;
  /** First poll interval; it grows to `maxPollIntervalMs`. */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** Replicate's Cancel-After: no prediction outlives this, even if every worker is gone. */
  predictionDeadlineSeconds?: number;
  /** How far back to look for an orphaned prediction (pages of the account-wide list). */
  orphanSearchPages?: number;
  /**
   * Generations this worker runs at once (default 8): a burst of runs stays under the provider's
   * concurrency and rate limits instead of failing with 429s. The rest wait, heartbeating.
   */
  maxConcurrentGenerations?: number;
  /** After a cancel during the create request: how long to look for the prediction it may have made. */
  lateCreateGraceMs?: number;
  /**
   * Aborted by the worker that owns these activities when it begins to shut down: every generation
   * it runs, or is about to start, hands over at once (see the module comment). Default: never.
   */
  stopping?: AbortSignal;
}

/** A generation handed over by a stopping worker: retryable (catalogue), resumed by the next attempt. */
function handover(tag: string, what: string): ApplicationFailure {
  return failure('WorkerShutdown', `${tag}: this worker is shutting down; ${what} (handed over to the next attempt)`);
}

/** Waits `ms`, or less if `stopping` aborts; rejects like ctx.sleep when the activity is cancelled. */
async function nap(ctx: Context, ms: number, stopping: AbortSignal): Promise<void> {
  if (stopping.aborted) return;
  let onStop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    onStop = resolve;
    stopping.addEventListener('abort', onStop, { once: true });
  });
  try {
    await Promise.race([ctx.sleep(ms), stopped]);
  } finally {
    stopping.removeEventListener('abort', onStop);
  }
}

/**
 * The model's own failures a scene may have: the one that reaches this count fails the scene
 * instead of paying for another prediction. Counted in the heartbeat, not by attempt number, so
 * worker crashes and SIGTERM handovers (which also use attempts) never spend it.
 */
export const MAX_MODEL_ATTEMPTS = 3;

const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'aborted']);
const MODERATION = /\bE005\b|flagged as sensitive/i;

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function createGenerateActivities(deps: GenerateDeps) {
  const { replicate } = deps;
  const pollMin = deps.pollIntervalMs ?? 2000;
  const pollMax = deps.maxPollIntervalMs ?? 5000;
  const deadline = deps.predictionDeadlineSeconds ?? 30 * 60;
  const orphanPages = deps.orphanSearchPages ?? 3;
  const lateCreateGraceMs = deps.lateCreateGraceMs ?? 3000;
  const stopping = deps.stopping ?? new AbortController().signal;
  // A NaN from a mistyped setting would make every `used >= max` false, i.e. no cap at all.
  const cap = deps.maxConcurrentGenerations;
  const slots = new Slots(cap !== undefined && Number.isFinite(cap) ? Math.max(1, Math.floor(cap)) : 8);

  /**
   * Takes a generation slot, waiting if all are in use. While waiting it heartbeats (so the
   * heartbeat timeout does not fail it, and a cancellation reaches it) with the previous attempt's
   * details unchanged: a crash while waiting must still leave the next attempt the prediction id.
   */
  async function acquireSlot(ctx: Context, tag: string, previous: unknown): Promise<void> {
    if (slots.tryAcquire()) return;
    ctx.log.info(`${tag}: waiting for a generation slot (${slots.inUse} in use)`);
    ctx.heartbeat(previous);
    const beat = setInterval(() => ctx.heartbeat(previous), pollMin);
    try {
      await slots.wait(AbortSignal.any([ctx.cancellationSignal, stopping]));
    } catch (err) {
      if (stopping.aborted && !ctx.cancellationSignal.aborted) throw handover(tag, 'it had not started yet');
      throw err;
    } finally {
      clearInterval(beat);
    }
  }

  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw fromReplicateError(err) ?? err;
    }
  };

  async function createPrediction(model: string, input: Record<string, unknown>, signal: AbortSignal) {
    // predictions.create() takes no headers, so Cancel-After goes through the client's request().
    const res = await call(() =>
      replicate.request(`/models/${model}/predictions`, {
        method: 'POST',
        headers: { 'Cancel-After': `${deadline}s` },
        data: { input },
        signal,
      }),
    );
    return (await res.json()) as Prediction;
  }

  async function findOrphan(model: string, input: Record<string, unknown>, since: string, signal: AbortSignal) {
    const wanted = stableJson(input);
    const sinceMs = Date.parse(since);
    let page = await call(() => replicate.predictions.list({ signal }));
    for (let i = 0; i < orphanPages; i++) {
      for (const p of page.results) {
        if (Date.parse(p.created_at) < sinceMs - 1000) return undefined; // newest first: nothing older matters
        if (p.model === model && stableJson(p.input) === wanted && p.status !== 'canceled' && p.status !== 'aborted') {
          return p;
        }
      }
      if (!page.next) return undefined;
      const next = page.next;
      page = await call(async () => (await replicate.request(next, { method: 'GET', signal })).json() as never);
    }
    return undefined;
  }

  /**
   * The run was cancelled while the create request was in flight. Aborting our side does not undo
   * it at Replicate: the prediction may exist (or appear moments later) and would run, and bill,
   * until Cancel-After. Look for it for a short while and cancel it.
   */
  async function cancelLateCreate(
    ctx: Context,
    tag: string,
    model: string,
    input: Record<string, unknown>,
    since: string,
  ): Promise<void> {
    const until = Date.now() + lateCreateGraceMs;
    const lookup = AbortSignal.timeout(lateCreateGraceMs + 10_000); // ours is aborted already
    for (;;) {
      const orphan = await findOrphan(model, input, since, lookup).catch(() => undefined);
      if (orphan) {
        if (!TERMINAL.has(orphan.status)) {
          await cancelAtReplicate(ctx, replicate, orphan.id, tag, 'the run was cancelled while it was being created');
        }
        return;
      }
      if (Date.now() >= until) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
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
      const modelInput = spec.buildInput({
        prompt: input.prompt,
        seconds: input.seconds,
        aspectRatio: input.aspectRatio,
        negativePrompt: input.negativePrompt,
      });
      const signal = ctx.cancellationSignal;
      const previous = ctx.info.heartbeatDetails as (GenerateHeartbeat & { creatingSince?: string }) | undefined;
      if (stopping.aborted) {
        // A task that reached this worker as it began to stop: leave it, and the previous
        // attempt's details, to a worker that stays.
        if (previous) ctx.heartbeat(previous);
        throw handover(tag, 'it had not started yet');
      }

      await acquireSlot(ctx, tag, previous);
      try {
        let prediction: Prediction | undefined;
        // Carried by every heartbeat of this scene; grows only when a resumed prediction had failed.
        let modelFailures = previous?.modelFailures ?? 0;
        if (previous?.predictionId) {
          prediction = await call(() => replicate.predictions.get(previous.predictionId, { signal }));
          ctx.log.info(
            `${tag}: resuming prediction ${prediction.id} (${prediction.status}), attempt ${ctx.info.attempt}`,
          );
          if (prediction.status === 'failed' || prediction.status === 'canceled' || prediction.status === 'aborted') {
            if (prediction.status === 'failed') modelFailures++;
            prediction = undefined; // the previous attempt already reported it; this attempt pays for a new one
          }
        } else if (previous?.creatingSince) {
          prediction = await findOrphan(spec.replicateModel, modelInput, previous.creatingSince, signal);
          if (prediction) ctx.log.info(`${tag}: adopted prediction ${prediction.id} created by a crashed attempt`);
        }

        if (!prediction) {
          const creatingSince = new Date().toISOString();
          ctx.heartbeat({ creatingSince, sceneIndex: input.sceneIndex, ...(modelFailures ? { modelFailures } : {}) });
          ctx.log.info(
            `${tag}: creating prediction on ${spec.replicateModel} (${input.seconds} s, ${input.aspectRatio})`,
          );
          try {
            prediction = await createPrediction(spec.replicateModel, modelInput, signal);
          } catch (err) {
            if (signal.aborted && ctx.cancellationDetails?.cancelRequested) {
              await cancelLateCreate(ctx, tag, spec.replicateModel, modelInput, creatingSince);
            }
            throw err;
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

        try {
          let wait = pollMin;
          let lastStatus = prediction.status;
          while (!TERMINAL.has(prediction.status)) {
            await nap(ctx, wait, stopping); // rejects with CancelledFailure when the activity is cancelled
            if (stopping.aborted) {
              // The last heartbeat (this prediction's id) goes to the server with the failure.
              ctx.log.info(`${tag}: worker stopping; prediction ${id} lives on for the next attempt`);
              throw handover(tag, `prediction ${id} (${prediction.status}) lives on`);
            }
            wait = Math.min(pollMax, Math.round(wait * 1.5));
            prediction = await call(() => replicate.predictions.get(id, { signal }));
            ctx.heartbeat(beat(prediction.status));
            if (prediction.status !== lastStatus) {
              ctx.log.info(`${tag}: prediction ${id}: ${prediction.status}`);
              lastStatus = prediction.status;
            }
          }
        } catch (err) {
          if (err instanceof CancelledFailure || signal.aborted) {
            await cancelIfAsked(ctx, replicate, id, tag);
          }
          throw err;
        }

        switch (prediction.status) {
          case 'succeeded': {
            const out: unknown = prediction.output;
            const url = Array.isArray(out) ? (out[0] as unknown) : out;
            if (typeof url !== 'string') {
              throw failure('PredictionFailed', `${tag}: prediction ${id} succeeded without an output URL`);
            }
            const secs = prediction.metrics?.predict_time;
            ctx.log.info(`${tag}: clip generated${secs ? ` in ${secs.toFixed(0)} s` : ''}`);
            return { predictionId: id, outputUrl: url };
          }
          case 'failed': {
            const reason = typeof prediction.error === 'string' ? prediction.error : JSON.stringify(prediction.error);
            if (MODERATION.test(reason)) {
              throw failure(
                'ContentFlagged',
                `${tag}: Replicate flagged the prompt or output as sensitive (E005); edit the scene: ${reason}`,
                {
                  details: [{ predictionId: id }],
                },
              );
            }
            // The model's own failures are bounded here, by their count, and not by the retry
            // policy's maximumAttempts: that one must stay high, because worker crashes, heartbeat
            // timeouts and handovers also use attempts and must never be what fails a run.
            const failures = modelFailures + 1;
            const final = failures >= MAX_MODEL_ATTEMPTS;
            throw failure(
              'PredictionFailed',
              `${tag}: prediction ${id} failed: ${reason}${final ? ` (failure ${failures} of ${MAX_MODEL_ATTEMPTS}: giving up)` : ''}`,
              { details: [{ predictionId: id }], ...(final ? { nonRetryable: true } : {}) },
            );
          }
          default:
            throw failure('PredictionCanceled', `${tag}: prediction ${id} was ${prediction.status} at Replicate`, {
              details: [{ predictionId: id }],
            });
        }
      } finally {
        slots.release();
      }
    },
  };
}

/** Cancels at Replicate only when the workflow asked for it; see the module comment. */
async function cancelIfAsked(ctx: Context, replicate: Replicate, id: string, tag: string): Promise<void> {
  const why = ctx.cancellationDetails;
  // NOT_FOUND means this attempt is no longer current: either a newer attempt took over (and will
  // resume this prediction), or the run has closed (a sibling scene failed it), in which case
  // nobody will ever use this clip. Only the run's state tells them apart.
  if (why?.notFound && (await runIsClosed(ctx))) {
    await cancelAtReplicate(ctx, replicate, id, tag, 'the run has ended');
    return;
  }
  if (!why?.cancelRequested) {
    ctx.log.info(`${tag}: activity stopped (${describeCancel(why)}); prediction ${id} lives on for the next attempt`);
    return;
  }
  await cancelAtReplicate(ctx, replicate, id, tag, 'the run was cancelled');
}

async function cancelAtReplicate(
  ctx: Context,
  replicate: Replicate,
  id: string,
  tag: string,
  why: string,
): Promise<void> {
  try {
    await replicate.predictions.cancel(id); // no signal: ours is already aborted
    ctx.log.info(`${tag}: cancelled prediction ${id} at Replicate (${why})`);
  } catch (err) {
    ctx.log.warn(`${tag}: could not cancel prediction ${id}: ${(err as Error).message}`);
  }
}

async function runIsClosed(ctx: Context): Promise<boolean> {
  try {
    const workflowId = ctx.info.workflowExecution?.workflowId;
    if (!workflowId) return false;
    const desc = await ctx.client.workflow.getHandle(workflowId).describe();
    return desc.status.name !== 'RUNNING';
  } catch {
    return false; // unknown: keep the prediction, a retry may still need it
  }
}

function describeCancel(d: Context['cancellationDetails']): string {
  if (!d) return 'unknown reason';
  const reasons = Object.entries(d)
    .filter(([, v]) => v === true)
    .map(([k]) => k);
  return reasons.join(', ') || 'unknown reason';
}

export type GenerateActivities = ReturnType<typeof createGenerateActivities>;
