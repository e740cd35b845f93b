/**
 * Load benchmark: K concurrent auto-approved runs on ONE worker process, everything real and local
 * (its own Temporal dev server on a temp SQLite file, the emulators in their own process, a
 * `vidflow worker` process, ffmpeg). The emulated generation latency L is split 1/3 starting,
 * 2/3 processing.
 *
 *   npm run bench:load -- [--runs 20] [--latency-ms 3000] [--size 1280x720] [--mode webhook|polling|legacy]
 *                         [--keep] [--source] [--worker-env KEY=VALUE ...] [--server-config KEY=JSON ...]
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
 * It also reads the worker's side: the Temporal SDK's metrics (VIDFLOW_METRICS_ADDRESS: workflow
 * task time inside the worker, cache hits, misses and evictions), its main thread's event-loop
 * delay and busy share, the workflow thread's busy share; `VIDFLOW_BENCH_CPU_PROFILE=<file>`
 * writes a CPU profile of the worker's main thread over the load's first two minutes.
 * Goals are printed PASS/FAIL; the exit code is 0 unless the bench itself crashes.
 */
import { Client, Connection } from '@temporalio/client';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../src/client/dev-server';
import type { DevServer } from '../src/client/dev-server';
import { loadConfig } from '../src/config';
import { freePort, pidsWithArg } from '../test/helpers/crash';
import { startEmulatorProcess, startWorkerProcess } from '../test/helpers/processes';
import type { EmulatorProcess, WorkerProcess } from '../test/helpers/processes';
import { bench, usage } from './load/args';
import { baselineRun } from './load/baseline';
import { historyOf, percentile } from './load/history';
import { generationPhase } from './load/phases';
import { providerFigures } from './load/provider-figures';
import { describeSdkMetrics, scrape } from './load/sdk-metrics';
import { oneRun } from './load/runs';
import type { EmulatorSnapshot } from './load/provider-figures';
import { mb, s, SAMPLE_MS, say, verdict } from './load/report';
import { cpuSeconds, descendantsOf, sampleRss, vmRssKb } from './load/rss';
import {
  describeLoop,
  describeMemAtPeak,
  ensureBuilt,
  imageMemoryEnv,
  MEM_PROBE,
  resetLoopFigures,
} from './load/worker-build';

const GOAL_RSS_MB = 300;
const GOAL_TAIL_SLACK_S = 1;

const { args, runs: RUNS, latencyMs: L, clipWidth: CLIP_W, clipHeight: CLIP_H, mode: MODE } = bench;

const t0 = Date.now();
const at = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s`;

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
    server = await startDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      detached: false,
      dbFile,
      dynamicConfig: args['server-config'],
      inMemory: args['server-memory'],
    });
    const probeFile = join(dir, 'mem-probe.js');
    const memFile = join(dir, 'mem-at-peak.json');
    const metricsAddress = `127.0.0.1:${await freePort()}`;
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
      VIDFLOW_METRICS_ADDRESS: metricsAddress,
      ...(process.env.VIDFLOW_BENCH_CPU_PROFILE
        ? { VIDFLOW_BENCH_CPU_PROFILE: process.env.VIDFLOW_BENCH_CPU_PROFILE }
        : {}),
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
      `${at()}  dev server ${server.address}${args['server-config'].length ? ` (${args['server-config'].join(', ')})` : ''}, worker pid ${workerPid} polling (task queue ${env.TEMPORAL_TASK_QUEUE}), from ${args.source ? 'src/ (tsx, bundling at start)' : 'dist/ (prebuilt workflow bundle)'}`,
    );
    say(`${at()}  worker idle RSS ${mb(vmRssKb(workerPid))}`);
    sampler = sampleRss(workerPid);

    const cfg = loadConfig(env);
    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });

    // Baseline: one run alone on the idle worker.
    const sampling = sampler;
    const { tailMs, stitchMs } = await baselineRun(client, cfg, t0, () => ({ ...sampling.peaks }));

    // Load: K runs at once.
    const emuBefore = await emu.state();
    sampler.reset();
    say('');
    say(`${at()}  starting ${RUNS} concurrent runs`);
    // CPU seconds by process over the load: who the machine's cores went to.
    const cpuOf = () => {
      const w = cpuSeconds(worker?.child.pid ?? 0);
      const bench = process.cpuUsage();
      return {
        worker: w.own,
        children: w.children,
        server: server?.pid === undefined ? 0 : cpuSeconds(server.pid).own,
        // The emulators' process is a launcher (tsx) whose child does the work: count its tree.
        // Its own and its children's: the emulated provider renders each clip with ffmpeg.
        emulators: [emu?.child.pid ?? 0, ...descendantsOf(emu?.child.pid ?? 0)].reduce((acc, pid) => {
          const c = cpuSeconds(pid);
          return acc + c.own + c.children;
        }, 0),
        bench: (bench.user + bench.system) / 1e6,
      };
    };
    const cpuBefore = cpuOf();
    resetLoopFigures(memFile);
    const metricsBefore = await scrape(metricsAddress);
    const loadStart = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: RUNS }, () =>
        oneRun(client, cfg, t0, 'load').then((o) => {
          say(`${at()}  ${o.workflowId} ${o.ok ? 'completed' : `failed: ${o.error ?? '?'}`} in ${s(o.ms)}`);
          return o;
        }),
      ),
    );
    const wallMs = Date.now() - loadStart;
    const metricsAfter = await scrape(metricsAddress);
    const cpuAfter = cpuOf();
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
    for (const line of generationPhase(histories, L)) say(line);
    for (const line of describeSdkMetrics(metricsBefore, metricsAfter)) say(`      ${line}`);
    const cpuUsed = Object.fromEntries(
      Object.entries(cpuAfter).map(([k, v]) => [k, v - cpuBefore[k as keyof typeof cpuBefore]]),
    ) as typeof cpuAfter;
    const cpuTotal = Object.values(cpuUsed).reduce((a, b) => a + b, 0);
    const cores = availableParallelism();
    say(
      `  CPU during the load        ${cpuTotal.toFixed(0)} s of ${((cores * wallMs) / 1000).toFixed(0)} (${cores} cores x wall): worker ${cpuUsed.worker.toFixed(0)}, its ffmpeg/ffprobe ${cpuUsed.children.toFixed(0)}, Temporal dev server ${cpuUsed.server.toFixed(0)}, emulators (their ffmpeg renders included) ${cpuUsed.emulators.toFixed(0)}, bench ${cpuUsed.bench.toFixed(0)}`,
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
    say(`  worker main event loop     ${describeLoop(memFile)}`);

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
