/**
 * The tracker's bulk read: the status of every prediction it waits for, in as few requests as
 * Replicate allows. The list endpoint (100 a page, newest first) is walked down to the oldest
 * tracked prediction (less a clock-skew margin), stopping as soon as all are seen or after
 * `maxListPages`; only those the list did not reach get a GET each. At 300 clips in flight this
 * is a few requests per poll instead of 300, which keeps a deployment under the account's 3,000
 * reads a minute however many clips it has in flight.
 */
import type Replicate from 'replicate';
import type { Prediction } from 'replicate';
import { CLOCK_SKEW_MARGIN_MS } from '../providers/prediction-keys';
import { getPrediction, predictionsSince } from '../providers/replicate-predictions';

export interface StatusRead {
  replicate: Replicate;
  ids: ReadonlySet<string>;
  /** Creation time of the oldest of them: the list is read no further back. */
  oldestMs: number;
  maxListPages: number;
  /** Counted per kind (the load bench reports them). */
  requests: { list: number; get: number };
}

/** Latest known state of each id; a failed request throws (the tracker rides errors out). */
export async function readStatuses(r: StatusRead): Promise<Map<string, Prediction>> {
  const signal = AbortSignal.timeout(60_000);
  const seen = new Map<string, Prediction>();
  let pages = 0;
  const read = async <T>(_what: string, fn: () => Promise<T>): Promise<T> => {
    if (++pages > r.maxListPages) throw new PagesDone();
    r.requests.list++;
    return fn();
  };
  try {
    for await (const p of predictionsSince(r.replicate, r.oldestMs - CLOCK_SKEW_MARGIN_MS, signal, read)) {
      if (r.ids.has(p.id)) seen.set(p.id, p);
      if (seen.size === r.ids.size) break;
    }
  } catch (err) {
    if (!(err instanceof PagesDone)) throw err;
  }
  const missing = [...r.ids].filter((id) => !seen.has(id));
  await eachLimited(missing, 8, async (id) => {
    r.requests.get++;
    seen.set(id, await getPrediction(r.replicate, id, signal));
  });
  return seen;
}

/** Stops the list walk at the page budget; the rest are read one by one. */
class PagesDone extends Error {}

/**
 * Runs `fn` over `items`, at most `limit` at once, the next starting as soon as one ends (not in
 * lockstep batches: one slow call held back the whole next batch, and under a busy Temporal server
 * 300 heartbeats in batches of 16 took longer than the 30 s heartbeat timeout they guard). Items
 * start in the given order. Rejects with the first error, after every started call has settled.
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let firstError: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && !firstError) {
      const item = items[next++] as T;
      await fn(item).catch((err: unknown) => {
        firstError ??= { err };
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (firstError) throw firstError.err;
}
