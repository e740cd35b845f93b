/**
 * The worker's own view, from the Temporal SDK's Prometheus metrics (VIDFLOW_METRICS_ADDRESS):
 * how long its workflow tasks took inside the worker, apart from the server's share that the
 * run histories include, and how often a task found its run in the cache.
 */

/** One scrape: every sample line, name{labels} → value. */
export type Scrape = Map<string, number>;

export async function scrape(address: string): Promise<Scrape> {
  const out: Scrape = new Map();
  try {
    const text = await (await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const at = line.lastIndexOf(' ');
      out.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
  } catch {
    // No metrics (an older worker, or the endpoint down): the figures print as '?'.
  }
  return out;
}

/** Sum over label sets of `name` (a counter, or a histogram's _count), after − before. */
function total(before: Scrape, after: Scrape, name: string): number {
  let sum = 0;
  for (const [k, v] of after) if (k === name || k.startsWith(`${name}{`)) sum += v - (before.get(k) ?? 0);
  return sum;
}

/** A histogram's p-th percentile (upper bucket bound, ms) over the interval, all label sets together. */
function percentileOf(before: Scrape, after: Scrape, name: string, p: number): number | undefined {
  const buckets = new Map<number, number>();
  for (const [k, v] of after) {
    if (!k.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(k)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + v - (before.get(k) ?? 0));
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const n = sorted.at(-1)?.[1] ?? 0;
  if (n === 0) return undefined;
  const bound = sorted.find(([, c]) => c >= (p / 100) * n)?.[0];
  // Past the largest bucket: say so against that bucket's bound, as a negative number.
  return bound === Infinity ? -(sorted.at(-2)?.[0] ?? 0) : bound;
}

export function describeSdkMetrics(before: Scrape, after: Scrape): string[] {
  const ms = (v: number | undefined) => (v === undefined ? '?' : v < 0 ? `> ${-v} ms` : `<= ${v} ms`);
  const pair = (name: string) =>
    `${ms(percentileOf(before, after, name, 50))} / ${ms(percentileOf(before, after, name, 95))}`;
  const hits = total(before, after, 'temporal_sticky_cache_hit');
  const misses = total(before, after, 'temporal_sticky_cache_miss');
  return [
    `workflow tasks in the worker ${pair('temporal_workflow_task_execution_latency')} p50/p95 (${total(before, after, 'temporal_workflow_task_execution_latency_count')} tasks; the rest of a task's time is the server's and the queue's)`,
    `  of which replaying        ${pair('temporal_workflow_task_replay_latency')} p50/p95 (${total(before, after, 'temporal_workflow_task_replay_latency_count')} tasks rebuilt a run from its history)`,
    `  cache hits / misses       ${hits} / ${misses}, forced evictions ${total(before, after, 'temporal_sticky_cache_total_forced_eviction')}`,
  ];
}
