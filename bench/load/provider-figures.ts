/** Replicate requests per clip, clips in flight, creates per minute and 429s, from the emulator's counters. */

export interface EmulatorSnapshot {
  replicate: {
    requests: { create: number; get: number; cancel: number; list: number; other: number };
    faultsServed: string[];
    predictions: { created_at: string; completed_at?: string }[];
    webhooks?: Record<string, number>;
  };
}

export function providerFigures(before: EmulatorSnapshot, after: EmulatorSnapshot, sinceMs: number) {
  const d = (k: 'create' | 'get' | 'cancel' | 'list') => after.replicate.requests[k] - before.replicate.requests[k];
  const preds = after.replicate.predictions.filter((p) => Date.parse(p.created_at) >= sinceMs - 1000);
  const edges = preds.flatMap((p) => [
    { t: Date.parse(p.created_at), d: 1 },
    { t: p.completed_at ? Date.parse(p.completed_at) : Date.now(), d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let cur = 0;
  let peak = 0;
  for (const e of edges) peak = Math.max(peak, (cur += e.d));
  const clipMinutes =
    preds.reduce(
      (acc, p) => acc + ((p.completed_at ? Date.parse(p.completed_at) : Date.now()) - Date.parse(p.created_at)),
      0,
    ) / 60_000;
  const reads = d('get') + d('list');
  // Most creates in any 60 s window: against the account's 600/min (the provider queue's pace).
  const created = preds.map((p) => Date.parse(p.created_at)).sort((a, b) => a - b);
  let createsPerMinutePeak = 0;
  for (let i = 0, j = 0; j < created.length; j++) {
    while (created[j]! - created[i]! >= 60_000) i++;
    createsPerMinutePeak = Math.max(createsPerMinutePeak, j - i + 1);
  }
  return {
    createsPerMinutePeak,
    clips: Math.max(1, preds.length),
    peak,
    creates: d('create'),
    gets: d('get'),
    lists: d('list'),
    reads,
    cancels: d('cancel'),
    requests: d('create') + reads + d('cancel'),
    readsPerClipMinute: clipMinutes > 0 ? reads / clipMinutes : 0,
    rateLimited:
      after.replicate.faultsServed.filter((f) => f.endsWith(':rateLimited')).length -
      before.replicate.faultsServed.filter((f) => f.endsWith(':rateLimited')).length,
    webhooks: after.replicate.webhooks ?? {},
  };
}
