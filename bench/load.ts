/**
 * Load benchmark: K concurrent auto-approved runs on ONE worker process, everything real and local
 * (its own Temporal dev server on a temp SQLite file, the emulators in their own process, a
 * `vidflow worker` process, ffmpeg). The emulated generation latency L is split 1/3 starting,
 * 2/3 processing.
 *
 *   npm run bench:load -- [--runs 20] [--latency-ms 3000] [--size 1280x720] [--mode webhook|polling|legacy]
 *                         [--keep] [--source] [--worker-env KEY=VALUE ...]
 *
 * `--mode` (default polling): `polling` = the prediction tracker reads all clips in bulk every 5 s;
 * `webhook` = the emulator posts signed webhooks to the receiver inside the worker
 * (VIDFLOW_WEBHOOK_PORT), the tracker reconciles every 60 s; `legacy` = every generation polls its
 * own prediction holding an activity slot (VIDFLOW_ASYNC_GENERATION=false, cap 8), for comparison.
 * Issue #13's full bench: `--runs 100 --latency-ms 60000 --size 640x360 --mode webhook` (and polling).
 *
 * The worker runs as the production image runs it: `node bin/vidflow.js worker` on the compiled
 * dist/ with the workflow bundle `npm run build` makes (built first when src/ is newer than it).
 * `--source` runs it from the TypeScript sources instead (tsx, webpack bundling at start). Its
 * environment has the image's memory settings, read from the Dockerfile's ENV (NODE_ENV,
 * NODE_OPTIONS, MALLOC_ARENA_MAX); `--node-options "..."` replaces NODE_OPTIONS to try others.
 * A small probe (--require) records the worker's process.memoryUsage() at its peak RSS, so the
 * report says how much of it is the main V8 heap and how much is native (Temporal Core, the
 * workflow thread's isolate, code, malloc).
 *
 * First a baseline: one run alone on the idle worker (end-to-end time, and last clip ready → done
 * vs. the stitch activity's own duration, from the run's history). Then K runs at once: runs per
 * minute, p50/p95 end-to-end, overhead over L, activity timeouts/retries across all histories,
 * peak RSS of the worker process (VmRSS, every 250 ms) and, separately, of its children (ffmpeg).
 * Goals are printed PASS/FAIL; the exit code is 0 unless the bench itself crashes.
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDevServer } from '../src/client/dev-server';
import type { DevServer } from '../src/client/dev-server';
import { inputFromFlags, startRun } from '../src/client/start';
import { loadConfig } from '../src/config';
import type { Config } from '../src/config';
import type { videoPipeline } from '../src/workflows';
import { freePort, pidsWithArg } from '../test/helpers/crash';
import { ROOT, startEmulatorProcess, startWorkerProcess } from '../test/helpers/processes';
import type { EmulatorProcess, WorkerProcess } from '../test/helpers/processes';

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const GOAL_RSS_MB = 300;
const GOAL_TAIL_SLACK_S = 1;
const SAMPLE_MS = 250;

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    'latency-ms': { type: 'string', default: '3000' },
    size: { type: 'string', default: '1280x720' },
    keep: { type: 'boolean', default: false },
    source: { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    mode: { type: 'string', default: 'polling' },
    'worker-env': { type: 'string', multiple: true, default: [] },
  },
  strict: true,
});

function usage(msg: string): never {
  process.stderr.write(`bench:load: ${msg}\n`);
  process.exit(2);
}

const RUNS = Math.floor(Number(args.runs));
if (!Number.isFinite(RUNS) || RUNS < 1) usage(`--runs must be a number >= 1, got ${args.runs}`);
const L = Math.round(Number(args['latency-ms']));
if (!Number.isFinite(L) || L < 0) usage(`--latency-ms must be a number >= 0, got ${args['latency-ms']}`);
const sizeMatch = /^(\d+)x(\d+)$/.exec(args.size);
if (!sizeMatch) usage(`--size must be WIDTHxHEIGHT, got ${args.size}`);
const CLIP_W = Number(sizeMatch[1]);
const CLIP_H = Number(sizeMatch[2]);

const MODE = args.mode;
if (MODE !== 'polling' && MODE !== 'webhook' && MODE !== 'legacy') {
  usage(`--mode must be webhook, polling or legacy, got ${MODE}`);
}

const t0 = Date.now();
const say = (line: string) => process.stdout.write(`${line}\n`);
const at = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s`;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

// ---- The worker as production runs it: dist/ -------------------------------------------------

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
function ensureBuilt(): void {
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
function imageMemoryEnv(): Record<string, string> {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const env: Record<string, string> = {};
  for (const name of ['NODE_ENV', 'NODE_OPTIONS', 'MALLOC_ARENA_MAX']) {
    const m = new RegExp(`\\b${name}=(?:"([^"]*)"|(\\S+))`).exec(text);
    if (m) env[name] = m[1] ?? m[2]!;
  }
  return env;
}

/** Preloaded into the worker: its memoryUsage() and main-isolate heap spaces at its peak RSS. */
const MEM_PROBE = `'use strict';
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
`;

interface MemAtPeak {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, number>;
}

function describeMemAtPeak(file: string): string {
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

// ---- RSS sampling from /proc ----------------------------------------------------------------

function vmRssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // gone
  }
}

/** Direct children of `pid`, from /proc/<pid>/task/<tid>/children. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (text) out.push(...text.split(/\s+/).map(Number));
      } catch {
        // thread ended
      }
    }
  } catch {
    // process ended
  }
  return out;
}

function descendantsOf(pid: number): number[] {
  const all: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const p = queue.shift()!;
    all.push(p);
    queue.push(...childrenOf(p));
  }
  return all;
}

interface RssPeaks {
  workerKb: number;
  /** Peak of the children's summed RSS at one sample. */
  childrenKb: number;
  /** Most children alive at one sample. */
  childrenMax: number;
}

function sampleRss(pid: number): { peaks: RssPeaks; reset(): void; stop(): void } {
  const peaks: RssPeaks = { workerKb: 0, childrenKb: 0, childrenMax: 0 };
  const tick = () => {
    peaks.workerKb = Math.max(peaks.workerKb, vmRssKb(pid));
    const kids = descendantsOf(pid);
    const sum = kids.reduce((acc, k) => acc + vmRssKb(k), 0);
    peaks.childrenKb = Math.max(peaks.childrenKb, sum);
    peaks.childrenMax = Math.max(peaks.childrenMax, kids.length);
  };
  tick();
  const timer = setInterval(tick, SAMPLE_MS);
  return {
    peaks,
    reset() {
      peaks.workerKb = 0;
      peaks.childrenKb = 0;
      peaks.childrenMax = 0;
      tick();
    },
    stop: () => clearInterval(timer),
  };
}

// ---- History analysis -----------------------------------------------------------------------

function timeMs(e: HistoryEvent | undefined): number | undefined {
  const t = e?.eventTime;
  if (!t) return undefined;
  return Number(String(t.seconds ?? 0)) * 1000 + (t.nanos ?? 0) / 1e6;
}

interface RunHistory {
  /** The first generateClip scheduled: the plan was approved. */
  generateScheduledMs?: number;
  /**
   * The last generateClip to start: its prediction is created at once, so this is when the pacing
   * (the account's create limit, the provider queue's rate) let the run's last clip go.
   */
  lastGenerateStartedMs?: number;
  /** eventTime of the last downloadClip completion: the last clip is on the worker's disk. */
  lastClipReadyMs?: number;
  stitchScheduledMs?: number;
  stitchStartedMs?: number;
  stitchCompletedMs?: number;
  doneMs?: number;
  timeouts: number;
  retries: number;
  retried: string[];
}

function analyse(events: HistoryEvent[]): RunHistory {
  const typeByScheduled = new Map<string, string>();
  const h: RunHistory = { timeouts: 0, retries: 0, retried: [] };
  for (const e of events) {
    const id = String(e.eventId);
    switch (e.eventType) {
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const name = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
        typeByScheduled.set(id, name);
        if (name === 'stitchClips') h.stitchScheduledMs = timeMs(e);
        if (name === 'generateClip') h.generateScheduledMs ??= timeMs(e);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const a = e.activityTaskStartedEventAttributes;
        const name = typeByScheduled.get(String(a?.scheduledEventId)) ?? '?';
        if (name === 'stitchClips') h.stitchStartedMs = timeMs(e);
        if (name === 'generateClip') h.lastGenerateStartedMs = Math.max(h.lastGenerateStartedMs ?? 0, timeMs(e) ?? 0);
        const attempt = a?.attempt ?? 1;
        if (attempt > 1) {
          h.retries += attempt - 1;
          h.retried.push(`${name}#${attempt}${a?.lastFailure?.message ? ` (${a.lastFailure.message})` : ''}`);
        }
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const name = typeByScheduled.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId));
        if (name === 'downloadClip') h.lastClipReadyMs = timeMs(e);
        if (name === 'stitchClips') h.stitchCompletedMs = timeMs(e);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        h.timeouts++;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        h.doneMs = timeMs(e);
        break;
      default:
        break;
    }
  }
  return h;
}

async function historyOf(client: Client, workflowId: string): Promise<RunHistory> {
  const history = await client.workflow.getHandle<typeof videoPipeline>(workflowId).fetchHistory();
  return analyse(history.events ?? []);
}

// ---- Runs -----------------------------------------------------------------------------------

interface RunOutcome {
  workflowId: string;
  ok: boolean;
  ms: number;
  error?: string;
}

let runCounter = 0;
async function oneRun(client: Client, cfg: Config, label: string): Promise<RunOutcome> {
  const n = ++runCounter;
  const colours = ['red', 'green', 'blue', 'golden', 'silver', 'violet', 'amber', 'teal'];
  const prompt = `load bench ${label} run ${n} (${t0.toString(36)}): a ${colours[n % colours.length]} balloon over hills number ${n}`;
  const workflowId = `bench-load-${t0.toString(36)}-${label}-${n}`;
  const started = Date.now();
  try {
    const input = inputFromFlags(prompt, { 'auto-approve': true });
    const { handle } = await startRun(client, cfg, input, workflowId);
    await handle.result();
    return { workflowId, ok: true, ms: Date.now() - started };
  } catch (err) {
    return { workflowId, ok: false, ms: Date.now() - started, error: rootMessage(err) };
  }
}

function rootMessage(e: unknown): string {
  let cur: unknown = e;
  while (cur instanceof Error && cur.cause instanceof Error) cur = cur.cause;
  return cur instanceof Error ? cur.message : String(cur);
}

/** Nearest-rank percentile. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

// ---- Provider figures from the emulator ----------------------------------------------------

interface EmulatorSnapshot {
  replicate: {
    requests: { create: number; get: number; cancel: number; list: number; other: number };
    faultsServed: string[];
    predictions: { created_at: string; completed_at?: string }[];
    webhooks?: Record<string, number>;
  };
}

function providerFigures(before: EmulatorSnapshot, after: EmulatorSnapshot, sinceMs: number) {
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

// ---- Main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vidflow-bench-load-'));
  const dbFile = join(dir, 'temporal.db');
  let server: DevServer | undefined;
  let emu: EmulatorProcess | undefined;
  let worker: WorkerProcess | undefined;
  let connection: Connection | undefined;
  let sampler: ReturnType<typeof sampleRss> | undefined;
  let crashed = true;
  try {
    say(
      `bench:load: ${RUNS} concurrent runs, generation latency L = ${L} ms (${Math.round(L / 3)} starting + ${Math.round((2 * L) / 3)} processing), clips ${CLIP_W}x${CLIP_H}`,
    );
    if (!args.source) ensureBuilt();
    server = await startDevServer({ port: await freePort(), uiPort: await freePort(), detached: false, dbFile });
    const probeFile = join(dir, 'mem-probe.js');
    const memFile = join(dir, 'mem-at-peak.json');
    await writeFile(probeFile, MEM_PROBE);
    emu = await startEmulatorProcess({
      replicate: {
        startingMs: Math.round(L / 3),
        processingMs: Math.round((2 * L) / 3),
        clipWidth: CLIP_W,
        clipHeight: CLIP_H,
        // Replicate's create limit, enforced as Replicate does (429 past it): the 429s counted are real.
        createsPerMinute: 600,
      },
    });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: `bench-load-${process.pid}-${t0.toString(36)}`,
      OPENAI_API_KEY: 'sk-test-bench',
      OPENAI_BASE_URL: emu.openaiBaseUrl,
      REPLICATE_API_TOKEN: 'r8_test_bench',
      REPLICATE_BASE_URL: emu.replicateBaseUrl,
      VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
      VIDFLOW_WORK_DIR: join(dir, 'work'),
      VIDFLOW_POLL_INTERVAL_MS: '250',
      // bin/vidflow.js on dist/, as in the image (where src/ is absent); --source: tsx on src/.
      VIDFLOW_DIST: args.source ? '0' : '1',
      VIDFLOW_BENCH_MEM_FILE: memFile,
    };
    if (MODE === 'legacy') env.VIDFLOW_ASYNC_GENERATION = 'false';
    if (MODE === 'webhook') {
      const port = await freePort();
      env.VIDFLOW_WEBHOOK_PORT = String(port);
      env.VIDFLOW_WEBHOOK_URL = `http://127.0.0.1:${port}/replicate`;
    }
    const image = imageMemoryEnv();
    if (args['node-options'] !== undefined) image.NODE_OPTIONS = args['node-options'];
    Object.assign(env, image);
    for (const pair of args['worker-env']) {
      const eq = pair.indexOf('=');
      if (eq < 1) usage(`--worker-env takes KEY=VALUE, got ${pair}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    env.NODE_OPTIONS = `${image.NODE_OPTIONS ?? ''} --require ${probeFile}`.trim();
    say(
      `worker environment from the Dockerfile: ${Object.entries(image)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' ')}`,
    );
    worker = startWorkerProcess(env);
    await worker.ready;
    const workerPid = worker.child.pid;
    if (workerPid === undefined) throw new Error('worker process has no pid');
    say(
      `${at()}  dev server ${server.address}, worker pid ${workerPid} polling (task queue ${env.TEMPORAL_TASK_QUEUE}), from ${args.source ? 'src/ (tsx, bundling at start)' : 'dist/ (prebuilt workflow bundle)'}`,
    );
    say(`${at()}  worker idle RSS ${mb(vmRssKb(workerPid))}`);
    sampler = sampleRss(workerPid);

    const cfg = loadConfig(env);
    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });

    // Baseline: one run alone on the idle worker.
    const base = await oneRun(client, cfg, 'baseline');
    if (!base.ok) throw new Error(`baseline run ${base.workflowId} failed: ${base.error ?? '?'}`);
    const bh = await historyOf(client, base.workflowId);
    const tailMs = bh.lastClipReadyMs !== undefined && bh.doneMs !== undefined ? bh.doneMs - bh.lastClipReadyMs : NaN;
    const stitchMs =
      bh.stitchStartedMs !== undefined && bh.stitchCompletedMs !== undefined
        ? bh.stitchCompletedMs - bh.stitchStartedMs
        : NaN;
    const queueMs =
      bh.stitchScheduledMs !== undefined && bh.stitchStartedMs !== undefined
        ? bh.stitchStartedMs - bh.stitchScheduledMs
        : NaN;
    const toScheduleMs =
      bh.lastClipReadyMs !== undefined && bh.stitchScheduledMs !== undefined
        ? bh.stitchScheduledMs - bh.lastClipReadyMs
        : NaN;
    const afterStitchMs =
      bh.stitchCompletedMs !== undefined && bh.doneMs !== undefined ? bh.doneMs - bh.stitchCompletedMs : NaN;
    const baselinePeaks = { ...sampler.peaks };
    say('');
    say('baseline (1 run alone on the idle worker)');
    say(`  end-to-end                 ${s(base.ms)}`);
    say(`  last clip ready -> done    ${s(tailMs)}`);
    say(`  stitch activity duration   ${s(stitchMs)} (started -> completed)`);
    say(
      `  tail breakdown             last clip -> stitch scheduled ${s(toScheduleMs)}, scheduled -> started ${s(queueMs)}, stitch ${s(stitchMs)}, stitch completed -> done ${s(afterStitchMs)}`,
    );
    say(`  worker peak RSS            ${mb(baselinePeaks.workerKb)} (children ${mb(baselinePeaks.childrenKb)})`);

    // Load: K runs at once.
    const emuBefore = await emu.state();
    sampler.reset();
    say('');
    say(`${at()}  starting ${RUNS} concurrent runs`);
    const loadStart = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: RUNS }, () =>
        oneRun(client, cfg, 'load').then((o) => {
          say(`${at()}  ${o.workflowId} ${o.ok ? 'completed' : `failed: ${o.error ?? '?'}`} in ${s(o.ms)}`);
          return o;
        }),
      ),
    );
    const wallMs = Date.now() - loadStart;
    sampler.stop();
    const peaks = { ...sampler.peaks };

    const histories = await Promise.all(outcomes.map((o) => historyOf(client, o.workflowId)));
    const timeouts = histories.reduce((acc, h) => acc + h.timeouts, 0);
    const retries = histories.reduce((acc, h) => acc + h.retries, 0);
    const retried = histories.flatMap((h) => h.retried);
    const completed = outcomes.filter((o) => o.ok);
    const sorted = completed.map((o) => o.ms).sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p95 = percentile(sorted, 95);
    const loadTails = histories
      .filter((h) => h.lastClipReadyMs !== undefined && h.doneMs !== undefined)
      .map((h) => h.doneMs! - h.lastClipReadyMs!)
      .sort((a, b) => a - b);

    const emuAfter = (await emu.state()) as unknown as EmulatorSnapshot;
    const provider = providerFigures(emuBefore as unknown as EmulatorSnapshot, emuAfter, loadStart);
    const genPhase = histories
      .filter((h) => h.generateScheduledMs !== undefined && h.lastClipReadyMs !== undefined)
      .map((h) => h.lastClipReadyMs! - h.generateScheduledMs!)
      .sort((a, b) => a - b);
    // The generation phase, split: waiting for the pace (scheduled -> the run's last create), and
    // the run's last create -> its last clip downloaded (L plus what webhooks/polls and the
    // download add: the part the design owns; the pace is the account's limit).
    const paceWait = histories
      .filter((h) => h.generateScheduledMs !== undefined && h.lastGenerateStartedMs !== undefined)
      .map((h) => h.lastGenerateStartedMs! - h.generateScheduledMs!)
      .sort((a, b) => a - b);
    const afterCreate = histories
      .filter((h) => h.lastGenerateStartedMs !== undefined && h.lastClipReadyMs !== undefined)
      .map((h) => h.lastClipReadyMs! - h.lastGenerateStartedMs!)
      .sort((a, b) => a - b);
    const stitchQueue = histories
      .filter((h) => h.lastClipReadyMs !== undefined && h.doneMs !== undefined)
      .map((h) => h.doneMs! - h.lastClipReadyMs!)
      .sort((a, b) => a - b);

    say('');
    say(`load (${RUNS} concurrent runs, 1 worker, mode ${MODE})`);
    say(`  clips                      ${provider.clips} predictions created`);
    say(`  peak clips in flight       ${provider.peak} at the provider at once`);
    say(
      `  requests per clip          ${(provider.requests / provider.clips).toFixed(2)} (creates ${(provider.creates / provider.clips).toFixed(2)}, reads ${(provider.reads / provider.clips).toFixed(2)} [get ${provider.gets}, list ${provider.lists}], cancels ${(provider.cancels / provider.clips).toFixed(2)})`,
    );
    say(`  reads per clip per minute  ${provider.readsPerClipMinute.toFixed(3)} (reads / clip-minutes in flight)`);
    say(`  429s                       ${provider.rateLimited}`);
    say(`  creates/min, peak          ${provider.createsPerMinutePeak} (any 60 s window)`);
    say(`  webhooks                   ${JSON.stringify(provider.webhooks)}`);
    say(
      `  generation phase p50/p95   ${s(percentile(genPhase, 50))} / ${s(percentile(genPhase, 95))} (first generate scheduled -> last clip downloaded; L = ${s(L)})`,
    );
    say(
      `    of which paced p50/p95   ${s(percentile(paceWait, 50))} / ${s(percentile(paceWait, 95))} (scheduled -> the run's last create, at the account's create limit)`,
    );
    say(
      `    last create -> ready     ${s(percentile(afterCreate, 50))} / ${s(percentile(afterCreate, 95))} p50/p95 (the run's last create -> its last clip downloaded; goal L + 10 s = ${s(L + 10_000)})`,
    );
    say(
      `  stitch queue p50/p95       ${s(percentile(stitchQueue, 50))} / ${s(percentile(stitchQueue, 95))} (last clip -> done)`,
    );
    say(`  completed                  ${completed.length}/${RUNS} in ${s(wallMs)}`);
    say(`  throughput                 ${((completed.length / wallMs) * 60_000).toFixed(2)} runs/min`);
    say(`  end-to-end p50 / p95       ${s(p50)} / ${s(p95)}`);
    say(`  overhead over L (p50 - L)  ${s(p50 - L)}`);
    say(`  last clip -> done p50/p95  ${s(percentile(loadTails, 50))} / ${s(percentile(loadTails, 95))}`);
    say(
      `  activity timeouts          ${timeouts} ActivityTaskTimedOut, ${retries} retried attempts${retried.length ? `: ${retried.join(', ')}` : ''}`,
    );
    say(`  worker peak RSS            ${mb(peaks.workerKb)} (VmRSS of pid ${workerPid}, every ${SAMPLE_MS} ms)`);
    say(
      `  children peak RSS          ${mb(peaks.childrenKb)} summed (ffmpeg/ffprobe; at most ${peaks.childrenMax} at once)`,
    );
    say(`  worker at its peak         ${describeMemAtPeak(memFile)}`);

    const allOk = completed.length === RUNS && timeouts === 0 && retries === 0;
    const rssOk = peaks.workerKb <= GOAL_RSS_MB * 1024;
    const tailOk = tailMs <= stitchMs + GOAL_TAIL_SLACK_S * 1000;
    say('');
    say('goals');
    say(
      `  ${verdict(allOk)}  all ${RUNS} completed with zero activity timeouts (${completed.length} completed, ${timeouts} timeouts, ${retries} retries)`,
    );
    say(`  ${verdict(rssOk)}  worker RSS <= ${GOAL_RSS_MB} MB (peak ${mb(peaks.workerKb)})`);
    say(
      `  ${verdict(tailOk)}  last clip -> done <= stitch + ${GOAL_TAIL_SLACK_S} s (baseline ${s(tailMs)} vs ${s(stitchMs)} + ${GOAL_TAIL_SLACK_S} s)`,
    );
    say(`total ${s(Date.now() - t0)}`);
    crashed = false;
  } finally {
    sampler?.stop();
    if (args.keep && worker) await writeFile(join(dir, 'worker.log'), worker.logs());
    if (args.keep) say(`kept ${dir} (temp db, clips, videos, worker.log)`);
    if (crashed && worker) process.stderr.write(`--- worker log ---\n${worker.logs()}\n`);
    await worker?.kill('SIGKILL');
    await emu?.stop();
    await connection?.close();
    await server?.stop?.();
    for (const pid of pidsWithArg(dbFile)) process.kill(pid, 'SIGKILL');
    if (!args.keep) await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
