/**
 * Burst bench (issue #13, pacing): N generations scheduled at once on the provider queue, served by
 * K workers that each poll it with the queue's task rate set from the account's create limit, as
 * vidflow workers do (providerTaskRate, src/worker/worker.ts). Measures, at the Replicate emulator, the first → last create,
 * the most creates in any 60 s window and the 429s. Goal: 1,000 creates spread over >= 100 s at the
 * default 600/min, 0 429s.
 *
 *   npm run bench:burst -- [--creates 1000] [--per-minute 600] [--workers 1] [--latency-ms 500]
 *
 * The clips are never downloaded (the emulator renders a clip only when one is fetched), so the
 * bench costs little CPU: it takes about creates / (per-minute / 60) seconds.
 */
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createGenerateActivities } from '../src/activities/generate';
import { PredictionTracker } from '../src/activities/prediction-tracker';
import { startDevServer } from '../src/client/dev-server';
import { startEmulators } from '../src/emulators';
import { createReplicate } from '../src/providers/clients';
import { loadConfig } from '../src/config';
import { providerTaskQueue } from '../src/shared/names';
import { providerTaskRate } from '../src/worker/worker';
import type { GenerateClipInput } from '../src/shared/schemas';
import { freePort } from '../test/helpers/crash';
import type { generateMany } from '../test/helpers/workflows/generate-many';

const { values: args } = parseArgs({
  options: {
    creates: { type: 'string', default: '1000' },
    'per-minute': { type: 'string', default: '600' },
    workers: { type: 'string', default: '1' },
    'latency-ms': { type: 'string', default: '500' },
  },
  strict: true,
});
const num = (name: keyof typeof args, min: number): number => {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < min) {
    process.stderr.write(`bench:burst: --${name} must be a number >= ${min}, got ${args[name]}\n`);
    process.exit(2);
  }
  return v;
};
const N = Math.floor(num('creates', 1));
const PER_MINUTE = num('per-minute', 1);
const WORKERS = Math.floor(num('workers', 1));
const LATENCY_MS = Math.round(num('latency-ms', 0));
/** Scenes per workflow: a burst is many runs, not one giant history. */
const PER_RUN = 100;
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vidflow-burst-'));
  const server = await startDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    detached: false,
    dbFile: join(dir, 'temporal.db'),
  });
  const emu = await startEmulators({});
  // The emulator enforces the account's limit as Replicate does: a create past it is a 429.
  emu.configure({
    replicate: { latencyMs: 5, startingMs: 50, processingMs: LATENCY_MS, createsPerMinute: PER_MINUTE },
  });
  const cfg = loadConfig({ REPLICATE_API_TOKEN: 'r8_bench', REPLICATE_BASE_URL: emu.replicateBaseUrl });
  const stops: (() => Promise<void>)[] = [];
  try {
    const queue = `burst-${Date.now().toString(36)}`;
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const workflows = await Worker.create({
      connection: await NativeConnection.connect({ address: server.address }),
      taskQueue: queue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: require.resolve('../test/helpers/workflows/generate-many'),
        logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
      }),
    });
    const wfRunning = workflows.run();
    stops.push(async () => (workflows.shutdown(), await wfRunning));
    for (let k = 0; k < WORKERS; k++) {
      // Each its own connection, as separate worker processes have.
      const replicate = createReplicate(cfg);
      const tracker = new PredictionTracker({ replicate, pollMs: 1000 });
      const w = await Worker.create({
        connection: await NativeConnection.connect({ address: server.address }),
        taskQueue: providerTaskQueue(queue),
        activities: createGenerateActivities({ replicate, tracker }),
        maxTaskQueueActivitiesPerSecond: providerTaskRate(PER_MINUTE),
      });
      const running = w.run();
      stops.push(async () => (tracker.close(), w.shutdown(), await running));
    }
    say(
      `burst: ${N} generations, ${WORKERS} worker(s) at ${PER_MINUTE}/min for the queue, emulated L = ${LATENCY_MS} ms`,
    );
    const started = Date.now();
    const runs = [];
    for (let first = 0, r = 0; first < N; first += PER_RUN, r++) {
      const count = Math.min(PER_RUN, N - first);
      const scenes: Omit<GenerateClipInput, 'workflowId'>[] = Array.from({ length: count }, (_, i) => ({
        sceneIndex: i + 1,
        sceneCount: count,
        prompt: `burst run ${r} scene ${i + 1}: a lighthouse in fog`,
        model: 'kling-v2.5-turbo-pro',
        seconds: 5,
        aspectRatio: '16:9' as const,
      }));
      runs.push(
        client.workflow.execute<typeof generateMany>('generateMany', {
          taskQueue: queue,
          workflowId: `${queue}-${r}`,
          args: [scenes, providerTaskQueue(queue)],
        }),
      );
    }
    const progress = setInterval(() => say(`  ${emu.state.replicate.predictionsCreated} created`), 10_000);
    await Promise.all(runs).finally(() => clearInterval(progress));
    const rep = emu.state.replicate;
    const created = rep.predictions.map((p) => Date.parse(p.created_at)).sort((a, b) => a - b);
    const spreadS = (created.at(-1)! - created[0]!) / 1000;
    let peakMinute = 0;
    for (let i = 0, j = 0; j < created.length; j++) {
      while (created[j]! - created[i]! >= 60_000) i++;
      peakMinute = Math.max(peakMinute, j - i + 1);
    }
    const limited = rep.faultsServed.filter((f) => f.endsWith(':rateLimited')).length;
    const goalS = (N / PER_MINUTE) * 60;
    say('');
    say(`burst (${N} generations, ${WORKERS} worker(s), ${PER_MINUTE}/min)`);
    say(`  predictions created        ${rep.predictionsCreated} (${rep.requests.create} create requests)`);
    say(`  first -> last create       ${spreadS.toFixed(1)} s (goal >= ${goalS.toFixed(0)} s)`);
    say(`  creates/min, peak          ${peakMinute} (any 60 s window; limit ${PER_MINUTE})`);
    say(`  429s                       ${limited}`);
    say(`  all done after             ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const ok = rep.predictionsCreated === N && spreadS >= goalS && peakMinute <= PER_MINUTE * 1.02 && limited === 0;
    say(`  verdict                    ${ok ? 'PASS' : 'FAIL'}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await emu.close();
    await server.stop?.();
    await rm(dir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
