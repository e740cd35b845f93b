/**
 * Chaos run: many auto-approved runs while the worker process is SIGKILLed at random moments and
 * restarted each time. Everything is real and local: its own Temporal dev server (temp SQLite
 * file), the OpenAI/Replicate emulators in their own process, `vidflow worker` processes, ffmpeg.
 *
 *   npm run chaos -- [--kills 20] [--runs 5] [--seed N] [--min-gap 2] [--max-gap 12] [--stagger S] [--keep]
 *
 * Runs start at random moments over the first `--stagger` seconds (by default about the length
 * of the kill phase, so runs are alive through all of it); after each (re)started worker is
 * polling, the next kill comes after a random gap in [min-gap, max-gap] seconds, and only while a
 * run is going (a kill with no run alive tests nothing). Each kill costs the in-flight activities
 * their timeout (30 s for generate and download, 60 s for stitch, 2 min for planning), so 20
 * kills take several minutes.
 *
 * Prints completed/total, predictions per scene and extra predictions, and per-run durations.
 * Exit code 1 if a run failed, a video is wrong, or any prediction was paid for twice.
 */
import { Client, Connection } from '@temporalio/client';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDevServer } from '../src/client/dev-server';
import type { DevServer } from '../src/client/dev-server';
import { inputFromFlags, startRun } from '../src/client/start';
import { loadConfig } from '../src/config';
import { VIDEO_STAGE } from '../src/shared/names';
import type { PipelineResult } from '../src/shared/schemas';
import type { videoPipeline } from '../src/workflows';
import {
  activitiesOf,
  describeActivities,
  emulatorState,
  freePort,
  historyOf,
  pidsWithArg,
  startCase,
} from '../test/helpers/crash';
import type { CrashCase } from '../test/helpers/crash';
import { durationOf } from '../test/helpers/video';

const { values: args } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    runs: { type: 'string', default: '5' },
    seed: { type: 'string' },
    'min-gap': { type: 'string', default: '2' },
    'max-gap': { type: 'string', default: '12' },
    stagger: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});

function positive(name: string, v: string | undefined, min = 0): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`chaos: --${name} must be a number >= ${min}, got ${String(v)}\n`);
    process.exit(2);
  }
  return n;
}

const KILLS = Math.floor(positive('kills', args.kills));
const RUNS = Math.floor(positive('runs', args.runs, 1));
const MIN_GAP = positive('min-gap', args['min-gap']);
const MAX_GAP = Math.max(MIN_GAP, positive('max-gap', args['max-gap']));
/** A worker process takes ~5-8 s to bundle the workflows and poll on 2 cores. */
const RESTART_SECONDS = 7;
const STAGGER =
  args.stagger !== undefined
    ? positive('stagger', args.stagger)
    : 0.8 * KILLS * ((MIN_GAP + MAX_GAP) / 2 + RESTART_SECONDS);
const SEED = args.seed !== undefined ? Math.floor(positive('seed', args.seed)) : Date.now() % 1_000_000;
const SCENES = 3;
/** 3 × 5 s clips joined with 0.5 s fades. */
const EXPECTED_SECONDS = SCENES * 5 - (SCENES - 1) * 0.5;

/** mulberry32: a seeded PRNG, so a failing schedule can be replayed with --seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
const between = (lo: number, hi: number) => lo + (hi - lo) * random();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const t0 = Date.now();
const at = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s`;
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Run {
  n: number;
  workflowId: string;
  prompt: string;
  startedAt?: number;
  endedAt?: number;
  outcome?: 'completed' | 'failed';
  error?: string;
  video?: { path: string; seconds: number };
  done: Promise<void>;
}

const STAGE_LETTER: Record<string, string> = {
  planning: 'P',
  awaiting_approval: 'A',
  generating: 'G',
  stitching: 'S',
  completed: 'C',
  failed: 'F',
  cancelled: 'X',
};

async function main(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'vidflow-chaos-'));
  const dbFile = join(dir, 'temporal.db');
  let server: DevServer | undefined;
  let c: CrashCase | undefined;
  let connection: Connection | undefined;
  let ok = false;
  try {
    say(
      `chaos: ${RUNS} runs started over ${STAGGER.toFixed(0)} s, ${KILLS} worker kills (SIGKILL + restart) ${MIN_GAP}-${MAX_GAP} s apart, seed ${SEED}`,
    );
    say(
      'stages at each kill, one letter per run: . not started, P planning, G generating, S stitching, C completed, F failed',
    );
    server = await startDevServer({ port: await freePort(), uiPort: await freePort(), detached: false, dbFile });
    say(`${at()}  dev server ${server.address} (db ${dbFile})`);
    c = await startCase({
      address: server.address,
      name: 'chaos',
      emulator: {
        // A slow-ish LLM and download, a few seconds of generation: every stage is a target.
        openai: { latencyMs: 1000 },
        replicate: {
          startingMs: 500,
          processingMs: 10_000,
          clipWidth: 320,
          clipHeight: 180,
          downloadBytesPerSecond: 5000,
        },
      },
    });
    const cc = c;
    await cc.startWorker();
    say(`${at()}  worker 1 polling (task queue ${cc.env.TEMPORAL_TASK_QUEUE})`);

    const cfg = loadConfig(cc.env);
    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
    const runs: Run[] = [];
    for (let n = 1; n <= RUNS; n++) {
      const prompt = `chaos run ${n} of seed ${SEED}: a ${['red', 'green', 'blue', 'golden', 'silver', 'violet'][n % 6]} kite over dunes number ${n}`;
      const workflowId = `chaos-${SEED}-${n}-${Date.now().toString(36)}`;
      const delay = n === 1 ? 0 : between(0, STAGGER) * 1000;
      const run: Run = { n, workflowId, prompt, done: Promise.resolve() };
      run.done = (async () => {
        await sleep(delay);
        run.startedAt = Date.now();
        const input = inputFromFlags(prompt, { scenes: String(SCENES), 'auto-approve': true });
        const { handle } = await startRun(client, cfg, input, workflowId);
        say(`${at()}  run ${n} started (${workflowId})`);
        try {
          const result: PipelineResult = await handle.result();
          run.outcome = 'completed';
          run.video = { path: result.path, seconds: durationOf(result.path) };
        } catch (err) {
          run.outcome = 'failed';
          run.error = err instanceof Error ? rootMessage(err) : String(err);
        }
        run.endedAt = Date.now();
        say(`${at()}  run ${n} ${run.outcome}${run.error ? `: ${run.error}` : ''}`);
      })().catch((err: unknown) => {
        run.outcome = 'failed';
        run.error = `could not start: ${String(err)}`;
        run.endedAt = Date.now();
      });
      runs.push(run);
    }
    const allDone = Promise.all(runs.map((r) => r.done));
    const unfinished = () => runs.some((r) => r.outcome === undefined);
    const active = () => runs.some((r) => r.startedAt !== undefined && r.outcome === undefined);

    // The kills: each a random gap after the current worker started polling.
    let kills = 0;
    while (kills < KILLS && unfinished()) {
      const gap = between(MIN_GAP, MAX_GAP) * 1000;
      const stop = await Promise.race([sleep(gap).then(() => false), allDone.then(() => true)]);
      if (stop) break;
      while (!active() && unfinished()) await sleep(200);
      if (!unfinished()) break;
      const stages = await stagesOf(client, runs);
      const emu = await emulatorState(cc.emu);
      const inFlight = emu.replicate.predictions.filter((p) => p.status === 'starting' || p.status === 'processing');
      await cc.killWorker();
      kills++;
      say(`${at()}  kill ${String(kills).padStart(2)}: stages ${stages} | predictions in flight ${inFlight.length}`);
      await cc.startWorker();
    }
    if (kills < KILLS) say(`${at()}  all runs finished after ${kills} of ${KILLS} kills`);
    say(`${at()}  waiting for the runs to finish`);
    await allDone;

    // The report.
    const state = await emulatorState(cc.emu);
    const perInput = Object.values(state.replicate.createdByInput);
    const scenes = RUNS * SCENES;
    const extra = state.replicate.predictionsCreated - scenes;
    const completed = runs.filter((r) => r.outcome === 'completed');
    const badVideos = completed.filter((r) => !r.video || Math.abs(r.video.seconds - EXPECTED_SECONDS) > 0.1);
    say('');
    say(`completed ${completed.length}/${RUNS}`);
    say(
      `predictions: ${state.replicate.predictionsCreated} for ${scenes} scenes (${perInput.length} distinct inputs); max per scene ${Math.max(0, ...perInput)}; extra ${extra}`,
    );
    say(`worker kills: ${kills}; worker processes: ${cc.workers.length}`);
    for (const r of runs) {
      const took = r.startedAt && r.endedAt ? `${((r.endedAt - r.startedAt) / 1000).toFixed(1)} s` : '-';
      const acts = describeActivities(
        activitiesOf(historyOf(server.address, r.workflowId)).filter((a) => a.attempt > 1),
      );
      say(
        `  run ${r.n} ${r.workflowId}: ${r.outcome ?? 'unknown'} in ${took}` +
          (r.video ? `, video ${r.video.seconds.toFixed(2)} s` : '') +
          (r.error ? `, error: ${r.error}` : '') +
          `; retried: ${acts || 'none'}`,
      );
    }
    say(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    ok = completed.length === RUNS && badVideos.length === 0 && extra === 0 && Math.max(0, ...perInput) <= 1;
    if (!ok)
      say(
        `FAILED: ${badVideos.length} wrong videos, ${RUNS - completed.length} runs not completed, ${extra} extra predictions`,
      );
    return ok ? 0 : 1;
  } finally {
    if (c) {
      c.workers.forEach((w, i) => writeFileSync(join(c!.dir, `worker-${i + 1}.log`), w.logs()));
      if (!ok || args.keep) say(`worker logs kept in ${c.dir}`);
      // close() removes the case folder: keep it (logs, clips) when something went wrong.
      for (const w of c.workers) await w.kill('SIGKILL');
      await c.emu.stop();
      if (ok && !args.keep) await rm(c.dir, { recursive: true, force: true });
    }
    await connection?.close();
    await server?.stop?.();
    for (const pid of pidsWithArg(dbFile)) process.kill(pid, 'SIGKILL');
    if (ok && !args.keep) await rm(dir, { recursive: true, force: true });
  }
}

/** One letter per run from its VideoStage search attribute (readable with no worker alive). */
async function stagesOf(client: Client, runs: Run[]): Promise<string> {
  const letters = await Promise.all(
    runs.map(async (r) => {
      if (r.startedAt === undefined) return '.';
      try {
        const d = await client.workflow.getHandle<typeof videoPipeline>(r.workflowId).describe();
        const stage = d.typedSearchAttributes.get(VIDEO_STAGE);
        return stage ? (STAGE_LETTER[stage] ?? '?') : '?';
      } catch {
        return '?';
      }
    }),
  );
  return letters.join('');
}

function rootMessage(e: Error): string {
  let cur: unknown = e;
  while (cur instanceof Error && cur.cause instanceof Error) cur = cur.cause;
  return cur instanceof Error ? cur.message : String(cur);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
