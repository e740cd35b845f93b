/**
 * Replicate predictions as vidflow uses them: create one with its generation key and a deadline,
 * read and cancel one, and find a run's predictions among the account's by their keys.
 *
 * These throw what the client throws; callers map it with `fromReplicateError` (or ride it out,
 * see activities/provider-patience.ts), so a Retry-After on the raw error is not lost.
 */
import type Replicate from 'replicate';
import type { Prediction } from 'replicate';
import { keyOf } from './prediction-keys';
import type { GenerationKey } from './prediction-keys';
import { WEBHOOK_EVENTS } from './prediction-keys';

export const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'canceled', 'aborted']);

/** Wraps each request of a search (e.g. to ride out provider errors); default: as is. */
export type Reader = <T>(what: string, fn: () => Promise<T>) => Promise<T>;
const direct: Reader = (_what, fn) => fn();

export interface CreateOptions {
  model: string;
  input: Record<string, unknown>;
  /** Carries the generation key (prediction-keys.ts). */
  webhook: string;
  /** Replicate's Cancel-After: no prediction outlives this, even if every worker is gone. */
  deadlineSeconds: number;
  signal: AbortSignal;
}

export async function createPrediction(replicate: Replicate, o: CreateOptions): Promise<Prediction> {
  // predictions.create() takes no headers, so Cancel-After goes through the client's request().
  const res = await replicate.request(`/models/${o.model}/predictions`, {
    method: 'POST',
    headers: { 'Cancel-After': `${o.deadlineSeconds}s` },
    data: { input: o.input, webhook: o.webhook, webhook_events_filter: [...WEBHOOK_EVENTS] },
    signal: o.signal,
  });
  return (await res.json()) as Prediction;
}

export function getPrediction(replicate: Replicate, id: string, signal?: AbortSignal): Promise<Prediction> {
  return replicate.predictions.get(id, signal ? { signal } : {});
}

/** No signal: this runs when the caller's own signal is already aborted (a cancelled activity). */
export function cancelPrediction(replicate: Replicate, id: string): Promise<Prediction> {
  return replicate.predictions.cancel(id);
}

interface Page {
  results: Prediction[];
  next?: string | null;
}

/**
 * The account's predictions, newest first, down to `sinceMs` on Replicate's clock: as many pages as
 * that takes (a fixed page count would miss a prediction on a busy account).
 */
export async function* predictionsSince(
  replicate: Replicate,
  sinceMs: number,
  signal: AbortSignal,
  read: Reader = direct,
): AsyncGenerator<Prediction> {
  let page: Page = await read('list predictions', () => replicate.predictions.list({ signal }));
  const seen = new Set<string>();
  for (;;) {
    for (const p of page.results) {
      if (Date.parse(p.created_at) < sinceMs) return; // newest first: nothing older can be ours
      yield p;
    }
    const next = page.next;
    if (!next || seen.has(next)) return;
    seen.add(next);
    page = await read(
      'list predictions',
      async () => (await replicate.request(next, { method: 'GET', signal })).json() as Promise<Page>,
    );
  }
}

export interface KeyedPrediction {
  prediction: Prediction;
  key: GenerationKey;
}

/**
 * The predictions in `predictionsSince` that carry a generation key accepted by `wanted`. Replicate
 * documents the webhook on the prediction object; should a list ever leave the field out, the
 * prediction is read in full (only those of `model`, when given) rather than missed.
 */
export async function* keyedPredictionsSince(
  replicate: Replicate,
  o: {
    sinceMs: number;
    signal: AbortSignal;
    wanted: (key: GenerationKey) => boolean;
    model?: string;
    read?: Reader;
    /** Called for every prediction looked at (progress, heartbeats). */
    onListed?: () => void;
  },
): AsyncGenerator<KeyedPrediction> {
  const read = o.read ?? direct;
  for await (const listed of predictionsSince(replicate, o.sinceMs, o.signal, read)) {
    o.onListed?.();
    if (o.model !== undefined && listed.model !== o.model) continue;
    const p =
      'webhook' in listed ? listed : await read('read prediction', () => getPrediction(replicate, listed.id, o.signal));
    const key = keyOf(p);
    if (key && o.wanted(key)) yield { prediction: p, key };
  }
}

const RANK: Record<string, number> = { succeeded: 0, starting: 1, processing: 1, failed: 2 };

/**
 * Among predictions of one key (normally one), the one to adopt: a success, else a live one, else a
 * failure (the caller counts it and moves to the next try); never a cancelled or aborted one, which
 * the caller replaces. Newest first within a rank. The other live ones are duplicates (two attempts
 * of one scene that raced) to cancel.
 */
export function pickAdoption(matches: Prediction[]): { chosen?: Prediction; duplicates: Prediction[] } {
  const usable = matches
    .filter((p) => RANK[p.status] !== undefined)
    .sort((a, b) => RANK[a.status]! - RANK[b.status]! || Date.parse(b.created_at) - Date.parse(a.created_at));
  const [chosen, ...rest] = usable;
  return { ...(chosen ? { chosen } : {}), duplicates: rest.filter((p) => !TERMINAL.has(p.status)) };
}
