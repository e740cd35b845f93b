/**
 * Riding out provider trouble inside an activity attempt, for READS only (polling a prediction,
 * listing predictions): a 5xx, a 429 or a dropped connection while a paid prediction runs says
 * nothing about the prediction, and failing the attempt for it would spend the attempts that
 * worker crashes need (a 10-minute outage used to exhaust them, and the run then cancelled its
 * siblings' paid clips). So a read is repeated with growing pauses (at least the provider's
 * Retry-After), heartbeating, for up to `budgetMs` of consecutive errors; past that the attempt
 * fails with the (retryable) failure and the next attempt resumes the same prediction.
 *
 * Creates are repeated here only after a 429 (`rateLimitsOnly`): Replicate throttled the request
 * before doing anything, so nothing was paid, and spending an attempt on a limit that every worker
 * shares would only make the retries of a burst collide again. Any other failed create may still
 * have made a prediction, which the next attempt finds by its generation key instead of paying twice.
 */
import type { Context } from '@temporalio/activity';
import { fromReplicateError, retryAfterMsOf } from '../providers/errors';
import { failure, isFailureType } from '../shared/failures';

export interface PatienceOptions {
  /** Consecutive errors are ridden out this long before the attempt fails (default 15 min). */
  budgetMs: number;
  /** First pause after an error; doubled per error up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Heartbeat at least this often while pausing (the heartbeat timeout must not fire). */
  beatEveryMs: number;
}

/** A Retry-After above this is not believed: the pause is capped, the next read will tell. */
const MAX_RETRY_AFTER_MS = 60_000;

/** Waits `ms`, or less if `stopping` aborts; rejects like ctx.sleep when the activity is cancelled. */
export async function nap(ctx: Context, ms: number, stopping: AbortSignal): Promise<void> {
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

/** Like nap, in slices of `beatEveryMs` with a heartbeat after each, so long pauses stay alive. */
export async function rest(
  ctx: Context,
  ms: number,
  stopping: AbortSignal,
  beatEveryMs: number,
  beat: () => void,
): Promise<void> {
  const until = Date.now() + ms;
  for (let left = ms; left > 0 && !stopping.aborted; left = until - Date.now()) {
    await nap(ctx, Math.min(left, beatEveryMs), stopping);
    beat();
  }
}

export interface ReadHooks {
  /** Heartbeat while pausing (the caller's current details). */
  beat: () => void;
  /** The error to throw when the worker starts stopping during a pause (a handover). */
  onStop: () => Error;
  /** Ride out 429s only (a create): any other error is thrown at once. */
  rateLimitsOnly?: boolean;
}

/**
 * Returns `read(what, fn, how)`: `fn()`, repeated through transient provider errors as described
 * above; anything else (401, 404, a cancellation) is thrown at once, mapped to the catalogue.
 */
export function patientReader(ctx: Context, stopping: AbortSignal, tag: string, o: PatienceOptions) {
  return async function read<T>(what: string, fn: () => Promise<T>, how: ReadHooks): Promise<T> {
    let firstErrorAt: number | undefined;
    let errors = 0;
    let delay = o.firstDelayMs;
    for (;;) {
      try {
        const value = await fn();
        if (firstErrorAt !== undefined) {
          const secs = ((Date.now() - firstErrorAt) / 1000).toFixed(1);
          ctx.log.info(`${tag}: ${what}: Replicate answered again after ${errors} errors in ${secs} s`);
        }
        return value;
      } catch (err) {
        const mapped = fromReplicateError(err);
        const transient =
          isFailureType(mapped, 'RateLimited') || (!how.rateLimitsOnly && isFailureType(mapped, 'ProviderUnavailable'));
        if (!mapped || !transient || ctx.cancellationSignal.aborted) throw mapped ?? err;
        errors++;
        firstErrorAt ??= Date.now();
        const spent = Date.now() - firstErrorAt;
        if (spent >= o.budgetMs) {
          throw failure(
            isFailureType(mapped, 'RateLimited') ? 'RateLimited' : 'ProviderUnavailable',
            `${tag}: ${what}: Replicate kept failing for ${Math.round(spent / 1000)} s (${errors} errors; last: ${mapped.message}); the next attempt resumes`,
            { cause: mapped },
          );
        }
        const pause = Math.min(Math.max(delay, Math.min(retryAfterMsOf(err), MAX_RETRY_AFTER_MS)), o.budgetMs - spent);
        if (errors === 1) ctx.log.warn(`${tag}: ${what}: ${mapped.message}; asking again in ${pause} ms`);
        await rest(ctx, pause, stopping, o.beatEveryMs, how.beat);
        if (stopping.aborted) throw how.onStop();
        delay = Math.min(o.maxDelayMs, delay * 2);
      }
    }
  };
}

export type ReadPatiently = ReturnType<typeof patientReader>;
