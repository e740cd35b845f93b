/**
 * The load bench's worker as production runs it: the compiled dist/ (built first when src/ is
 * newer), the image's memory settings read from the Dockerfile, and a preloaded probe that records
 * the worker's memory at its peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../test/helpers/processes';
import { SAMPLE_MS, say } from './report';

/** The newest modification time under `dir` (recursive), in ms. */
function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Runs `npm run build` unless dist/ is newer than every source file. The workflow bundle is the
 * build's last step, so its time stamps the whole build; package.json and the tsconfigs count too.
 */
export function ensureBuilt(): void {
  const bundle = join(ROOT, 'dist', 'workflow-bundle.js');
  const cli = join(ROOT, 'dist', 'client', 'cli.js');
  const sourcesMs = Math.max(
    newestMtimeMs(join(ROOT, 'src')),
    ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => statSync(join(ROOT, f)).mtimeMs),
  );
  if (existsSync(bundle) && existsSync(cli) && statSync(bundle).mtimeMs >= sourcesMs) {
    say(`dist/ is up to date (workflow bundle ${new Date(statSync(bundle).mtimeMs).toISOString()})`);
    return;
  }
  say('dist/ is missing or older than src/: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`npm run build exited ${r.status ?? r.signal ?? '?'}`);
}

/** The settings of the image's `ENV` that shape the worker's memory, read from the Dockerfile. */
export function imageMemoryEnv(): Record<string, string> {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const env: Record<string, string> = {};
  for (const name of ['NODE_ENV', 'NODE_OPTIONS', 'MALLOC_ARENA_MAX', 'VIDFLOW_MAX_CACHED_WORKFLOWS']) {
    const m = new RegExp(`\\b${name}=(?:"([^"]*)"|(\\S+))`).exec(text);
    if (m) env[name] = m[1] ?? m[2]!;
  }
  return env;
}

/** Preloaded into the worker: its memoryUsage() and main-isolate heap spaces at its peak RSS. */
export const MEM_PROBE = `'use strict';
// NODE_OPTIONS' --require runs in worker threads too: the figures are the main thread's (the
// workflow thread's busy share is read from here).
if (require('node:worker_threads').isMainThread) {
const fs = require('node:fs');
const v8 = require('node:v8');
let peak = 0;
setInterval(() => {
  const m = process.memoryUsage();
  if (m.rss <= peak) return;
  peak = m.rss;
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = s.space_size;
  fs.writeFileSync(process.env.VIDFLOW_BENCH_MEM_FILE, JSON.stringify({ ...m, spaces }));
}, ${SAMPLE_MS}).unref();
// The main thread's event loop over the load (reset when the bench drops a .reset file): how long
// a ready callback (an activation from Temporal Core, a download's chunk, a webhook) waited.
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
let since = performance.eventLoopUtilization();
// --cpu-prof is refused in NODE_OPTIONS: with VIDFLOW_BENCH_CPU_PROFILE set, the main thread is
// profiled through the inspector for the load's first two minutes.
function profileFor(ms, file) {
  const session = new (require('node:inspector').Session)();
  session.connect();
  session.post('Profiler.enable', () => session.post('Profiler.start', () => {
    setTimeout(() => session.post('Profiler.stop', (err, r) => {
      if (!err) fs.writeFileSync(file, JSON.stringify(r.profile));
      session.disconnect();
    }), ms).unref();
  }));
}
// The SDK runs workflow code in a worker thread: keep each thread to read its busy share too.
const wt = require('node:worker_threads');
const threads = [];
wt.Worker = class extends wt.Worker {
  constructor(...a) {
    super(...a);
    threads.push({ t: this, since: undefined });
  }
};
setInterval(() => {
  const f = process.env.VIDFLOW_BENCH_MEM_FILE;
  if (fs.existsSync(f + '.reset')) {
    fs.rmSync(f + '.reset', { force: true });
    loop.reset();
    since = performance.eventLoopUtilization();
    for (const x of threads) x.since = x.t.performance.eventLoopUtilization();
    if (process.env.VIDFLOW_BENCH_CPU_PROFILE) profileFor(120_000, process.env.VIDFLOW_BENCH_CPU_PROFILE);
  }
  const ms = (ns) => ns / 1e6;
  fs.writeFileSync(f + '.loop', JSON.stringify({
    p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max),
    busy: performance.eventLoopUtilization(since).utilization,
    threads: threads.map((x) => x.t.performance.eventLoopUtilization(x.since).utilization),
  }));
}, 1000).unref();
}
`;

/** Starts the probe's event-loop figures afresh (at the load's start). */
export function resetLoopFigures(memFile: string): void {
  writeFileSync(`${memFile}.reset`, '');
}

/** The worker main thread's event-loop delay and busy share since the last reset. */
export function describeLoop(memFile: string): string {
  try {
    const l = JSON.parse(readFileSync(`${memFile}.loop`, 'utf8')) as {
      p50: number;
      p99: number;
      max: number;
      busy: number;
      threads: number[];
    };
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    return `delay p50 ${l.p50.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms, max ${l.max.toFixed(0)} ms; busy ${pct(l.busy)} of the time; workflow thread${l.threads.length === 1 ? '' : 's'} busy ${l.threads.map(pct).join(', ') || '?'}`;
  } catch {
    return 'no probe data';
  }
}

interface MemAtPeak {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, number>;
}

export function describeMemAtPeak(file: string): string {
  let m: MemAtPeak;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as MemAtPeak;
  } catch {
    return 'no probe data';
  }
  const B = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
  const newSpace = m.spaces.new_space ?? 0;
  const oldSpace = (m.spaces.old_space ?? 0) + (m.spaces.large_object_space ?? 0);
  return `rss ${B(m.rss)} = main V8 heap ${B(m.heapTotal)} (used ${B(m.heapUsed)}; new space ${B(newSpace)}, old + large ${B(oldSpace)}) + buffers/external ${B(m.external)} + the rest ${B(m.rss - m.heapTotal - m.external)} (Temporal Core, workflow thread isolate, code, malloc)`;
}
