/**
 * Finding a scene's (or keyframe's) predictions before paying, for generate.ts and keyframes.ts
 * alike: resume the one the previous attempt's heartbeat names, or adopt by generation key
 * (providers/prediction-keys.ts) the one an earlier attempt or run paid for; and cancel the ones a
 * cancelled run left behind.
 */
import type { Context } from '@temporalio/activity';
import type Replicate from 'replicate';
import type { Prediction } from 'replicate';
import { CLOCK_SKEW_MARGIN_MS } from '../providers/prediction-keys';
import type { GenerationKey } from '../providers/prediction-keys';
import { TERMINAL, getPrediction, keyedPredictionsSince, pickAdoption } from '../providers/replicate-predictions';
import type { Reader } from '../providers/replicate-predictions';
import { cancelAtReplicate } from './prediction-cancel';
import type { ReadHooks, ReadPatiently } from './provider-patience';

/** One scene's (or, with `kind: 'keyframe'`, one keyframe's) generation, as the generate activities search for it. */
export interface Job extends Omit<GenerationKey, 'try'> {
  tag: string;
  /** Replicate `owner/name`, and the input exactly as sent. */
  model: string;
  input: Record<string, unknown>;
  /** Whether a prediction of this key may exist already (a retry, or a run with predecessors). */
  mayExist: boolean;
  /** Search from here (Temporal's clock); the clock-skew margin is taken off. */
  sinceMs: number;
}

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

const ofJob = (job: Job) => (k: GenerationKey) =>
  k.namespace === job.namespace &&
  k.workflowId === job.workflowId &&
  k.scene === job.scene &&
  k.generation === job.generation &&
  k.kind === job.kind;

export function createKeySearch(deps: { replicate: Replicate; lateCreateGraceMs: number; maxModelFailures: number }) {
  const { replicate } = deps;

  /** This generation's predictions by try, newest first; only those with exactly this input. */
  async function find(ctx: Context, job: Job, signal: AbortSignal, read?: Reader): Promise<Map<number, Prediction[]>> {
    const byTry = new Map<number, Prediction[]>();
    const wanted = stableJson(job.input);
    const found = keyedPredictionsSince(replicate, {
      sinceMs: job.sinceMs - CLOCK_SKEW_MARGIN_MS,
      signal,
      wanted: ofJob(job),
      model: job.model,
      ...(read ? { read } : {}),
    });
    for await (const { prediction, key } of found) {
      if (prediction.data_removed) continue; // older than Replicate's retention: no output to adopt
      if (stableJson(prediction.input) !== wanted) {
        // Only a workflow that reused a generation number for an edited scene gets here.
        ctx.log.warn(`${job.tag}: prediction ${prediction.id} has this scene's key but another input; not adopted`);
        continue;
      }
      byTry.set(key.try, [...(byTry.get(key.try) ?? []), prediction]);
    }
    return byTry;
  }

  return {
    /**
     * The prediction to continue with, from try `modelFailures` on: a found failure is counted
     * and the next try looked up (the last allowed one is returned, for the caller to fail the
     * scene with). Live duplicates of one try (two attempts that raced) are cancelled.
     */
    async adopt(
      ctx: Context,
      job: Job,
      modelFailures: number,
      read: Reader,
    ): Promise<{ prediction?: Prediction; modelFailures: number }> {
      const byTry = await find(ctx, job, ctx.cancellationSignal, read);
      for (let t = modelFailures; ; t++) {
        const { chosen, duplicates } = pickAdoption(byTry.get(t) ?? []);
        if (!chosen) return { modelFailures: t };
        for (const d of duplicates) {
          await cancelAtReplicate(ctx, replicate, d.id, job.tag, `a duplicate of prediction ${chosen.id}`);
        }
        if (chosen.status !== 'failed' || t + 1 >= deps.maxModelFailures) {
          ctx.log.info(
            `${job.tag}: adopted prediction ${chosen.id} (${chosen.status}), paid for by an earlier attempt or run`,
          );
          return { prediction: chosen, modelFailures: t };
        }
        ctx.log.info(`${job.tag}: prediction ${chosen.id} of an earlier attempt had failed; paying for the next try`);
      }
    },

    /**
     * Before paying: the prediction this attempt continues with, if there is one. The previous
     * attempt's heartbeat names it (resumed by id; one it saw fail, cancel or abort was reported by
     * that attempt, so a new one is paid for, a failure counted). Without an id, a retry or a
     * `mayExist` first attempt looks its key up (adopt).
     */
    async existing(
      ctx: Context,
      job: Job,
      previous: { predictionId?: string | undefined; modelFailures?: number | undefined } | undefined,
      read: ReadPatiently,
      waiting: ReadHooks,
    ): Promise<{ prediction?: Prediction | undefined; modelFailures: number }> {
      let modelFailures = previous?.modelFailures ?? 0;
      let prediction: Prediction | undefined;
      if (previous?.predictionId) {
        const id = previous.predictionId;
        prediction = await read('resume', () => getPrediction(replicate, id, ctx.cancellationSignal), waiting);
        ctx.log.info(`${job.tag}: resuming prediction ${id} (${prediction.status}), attempt ${ctx.info.attempt}`);
        if (prediction.status === 'failed' || prediction.status === 'canceled' || prediction.status === 'aborted') {
          if (prediction.status === 'failed') modelFailures++;
          prediction = undefined;
        }
      }
      if (!prediction && job.mayExist)
        return this.adopt(ctx, job, modelFailures, (what, fn) => read(what, fn, waiting));
      return { prediction, modelFailures };
    },

    /** Cancels this generation's running predictions; best effort (the run's cancelPredictions backs it up). */
    async cancelOurs(ctx: Context, job: Job, why: string): Promise<number> {
      let cancelled = 0;
      try {
        // Our own signal is aborted already: this lookup gets its own, bounded one.
        const byTry = await find(ctx, job, AbortSignal.timeout(30_000));
        for (const p of [...byTry.values()].flat()) {
          if (TERMINAL.has(p.status)) continue;
          await cancelAtReplicate(ctx, replicate, p.id, job.tag, why);
          cancelled++;
        }
      } catch (err) {
        ctx.log.warn(`${job.tag}: could not look for predictions to cancel: ${(err as Error).message}`);
      }
      return cancelled;
    },

    /**
     * The run was cancelled while the create request was in flight. Aborting our side does not undo
     * it at Replicate: the prediction may exist (or appear moments later) and would run, and bill,
     * until Cancel-After. Look for it by key for a short while and cancel it.
     */
    async cancelLateCreate(ctx: Context, job: Job): Promise<void> {
      const until = Date.now() + deps.lateCreateGraceMs;
      for (;;) {
        if ((await this.cancelOurs(ctx, job, 'the run was cancelled while it was being created')) > 0) return;
        if (Date.now() >= until) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
  };
}

export type KeySearch = ReturnType<typeof createKeySearch>;
