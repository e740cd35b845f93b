/** How the load bench prints: one line per event or figure, seconds and megabytes, PASS/FAIL. */

/** How often the worker's memory is sampled (RSS from /proc, and the preloaded probe). */
export const SAMPLE_MS = 250;

export const say = (line: string) => process.stdout.write(`${line}\n`);
export const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
export const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
