/**
 * Workers on different machines, with real processes: two `vidflow worker` processes with their
 * own work and output folders (nothing on disk is shared) and one S3 bucket (moto's real S3
 * server) as the artifact store, the emulators in their own process, the Temporal dev server.
 *
 * - Four runs at once: all complete, both workers did work, each run's download → stitch →
 *   publish → cleanup happened on one worker, and the video reaches the CLI through the bucket.
 * - The worker holding a run's clips is SIGKILLed while it stitches: the run moves to the other
 *   worker after its workerTimeout, downloads the clips again there, and completes without paying
 *   for any clip twice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emulatorState, predictionsPerPrompt, resultOf, seconds, startRun } from './helpers/crash';
import type { RunResult } from './helpers/crash';
import { startEmulatorProcess, startWorkerProcess, vidflow } from './helpers/processes';
import type { EmulatorProcess, WorkerProcess } from './helpers/processes';
import { s3SkipReason, startS3Server } from './helpers/s3-server';
import type { S3Server } from './helpers/s3-server';
import { eventually } from './helpers/temporal';
import { useTemporalServer } from './helpers/temporal-server';
import { statusQuery } from '../src/shared/messages';
import { durationOf } from './helpers/video';

type Result = RunResult & { worker?: string; artifactUri?: string };

const skip = s3SkipReason();
let address: string;
const temporal = useTemporalServer('two-workers');
let dir: string;
let emu: EmulatorProcess;
let s3: S3Server;
let client: Client;
const workers: WorkerProcess[] = [];

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'vidflow-two-workers-'));
  address = await temporal.address();
  client = new Client({ connection: await Connection.connect({ address }) });
  s3 = await startS3Server();
});

after(async () => {
  for (const w of workers) await w.kill('SIGKILL');
  await emu?.stop();
  await s3?.stop();
  await client?.connection.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Settings shared by the CLI and both workers: the cluster, the providers and the bucket only. */
function sharedEnv(queue: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: queue,
    OPENAI_API_KEY: 'sk-test-two-workers',
    OPENAI_BASE_URL: emu.openaiBaseUrl,
    REPLICATE_API_TOKEN: 'r8_test_two_workers',
    REPLICATE_BASE_URL: emu.replicateBaseUrl,
    VIDFLOW_POLL_INTERVAL_MS: '200',
    ...s3.env,
  };
}

/** A worker on its own "machine": its own id, work folder and output folder. */
async function machine(queue: string, name: string): Promise<{ name: string; proc: WorkerProcess; root: string }> {
  const root = join(dir, `${queue}-${name}`);
  const proc = startWorkerProcess({
    ...sharedEnv(queue),
    VIDFLOW_WORKER_ID: name,
    VIDFLOW_WORK_DIR: join(root, 'work'),
    VIDFLOW_OUTPUT_DIR: join(root, 'out'),
  });
  workers.push(proc);
  await proc.ready;
  return { name, proc, root };
}

/** Which worker process started each activity of a run, from the history (identity `pid@host`). */
async function activityWorkers(workflowId: string): Promise<{ type: string; pid: number }[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const typeOf = new Map<string, string>();
  const out: { type: string; pid: number }[] = [];
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) typeOf.set(String(e.eventId), scheduled.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      out.push({
        type: typeOf.get(String(started.scheduledEventId)) ?? '?',
        pid: Number((started.identity ?? '').split('@')[0]),
      });
    }
  }
  return out;
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('workers on different machines', { skip }, () => {
  test('four runs at once on two workers with separate disks: all complete, both work, videos come back through the bucket', async () => {
    emu = await startEmulatorProcess({
      replicate: { startingMs: 300, processingMs: 2500, clipWidth: 320, clipHeight: 180 },
    });
    const queue = `two-${process.pid}-${Date.now().toString(36)}`;
    const [a, b] = await Promise.all([machine(queue, 'machine-a'), machine(queue, 'machine-b')]);
    const env = sharedEnv(queue);
    const prompts = ['a red kite', 'a green valley', 'a blue lake', 'a white owl'];

    const t0 = Date.now();
    const ids = await Promise.all(prompts.map((p) => startRun(env, p, ['--auto-approve'])));
    const results = (await Promise.all(ids.map((id) => resultOf(env, id)))) as Result[];
    const took = seconds(t0);

    for (const r of results) {
      assert.ok(Math.abs(r.durationSeconds - 14) < 0.1, `14 s video, got ${r.durationSeconds}`);
      assert.match(r.artifactUri ?? '', new RegExp(`^s3://${s3.bucket}/`), 'published to the bucket');
      assert.ok(r.worker === 'machine-a' || r.worker === 'machine-b', `worker ${r.worker}`);
    }

    // Both workers did work, and each run's disk-bound steps stayed on the worker it claimed.
    const pids = { [a.proc.child.pid!]: 'machine-a', [b.proc.child.pid!]: 'machine-b' } as Record<number, string>;
    const perWorker: Record<string, number> = { 'machine-a': 0, 'machine-b': 0 };
    for (const [i, id] of ids.entries()) {
      const acts = await activityWorkers(id);
      for (const act of acts) perWorker[pids[act.pid] ?? 'unknown'] = (perWorker[pids[act.pid] ?? 'unknown'] ?? 0) + 1;
      const diskBound = acts.filter((x) =>
        ['downloadClip', 'stitchClips', 'publishVideo', 'removeWorkFiles'].includes(x.type),
      );
      assert.equal(diskBound.length, 3 + 3, `${id}: 3 downloads, stitch, publish, cleanup`);
      assert.ok(
        diskBound.every((x) => pids[x.pid] === results[i]!.worker),
        `${id}: every disk-bound step on ${results[i]!.worker}: ${JSON.stringify(diskBound)}`,
      );
    }
    assert.ok(
      perWorker['machine-a']! > 0 && perWorker['machine-b']! > 0,
      `both workers did work: ${JSON.stringify(perWorker)}`,
    );
    assert.equal(perWorker.unknown, undefined, 'no activity ran anywhere else');

    // Nothing paid twice; nothing left on the workers' disks (uploaded, then cleaned up).
    const state = await emulatorState(emu);
    const perPrompt = results.map((r) =>
      predictionsPerPrompt(
        state,
        r.scenes.map((s) => s.prompt),
      ),
    );
    assert.deepEqual(
      perPrompt,
      results.map(() => [1, 1, 1]),
      'one prediction per scene',
    );
    assert.deepEqual(
      [...(await filesUnder(a.root)), ...(await filesUnder(b.root))],
      [],
      'no files left on the workers',
    );

    // The person who asked gets the video on their machine, from the bucket.
    const out = join(dir, 'fetched.mp4');
    const fetched = await vidflow(['result', ids[0]!, '--download', '--out', out], env);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.ok(Math.abs(durationOf(out) - 14) < 0.1);
    console.log(
      `two workers: 4 runs in ${took}; activities per worker ${JSON.stringify(perWorker)}; homes ${results.map((r) => r.worker).join(', ')}`,
    );
    await emu.stop();
  });

  test('the worker holding the clips is SIGKILLed while stitching: the run moves to the other worker and completes, paying once', async () => {
    // 720p clips: a stitch of a few seconds, long enough to be caught in the act.
    emu = await startEmulatorProcess({
      replicate: { startingMs: 200, processingMs: 1500, clipWidth: 1280, clipHeight: 720 },
    });
    const queue = `kill-${process.pid}-${Date.now().toString(36)}`;
    const [a, b] = await Promise.all([machine(queue, 'machine-a'), machine(queue, 'machine-b')]);
    const env = sharedEnv(queue);
    const id = await startRun(env, 'a ship in a storm', ['--auto-approve', '--worker-timeout', '5s']);
    const handle = client.workflow.getHandle(id);

    const stitching = await eventually(
      async () => {
        const d = await handle.describe();
        const act = d.raw.pendingActivities?.find((p) => p.activityType?.name === 'stitchClips');
        return act ? act : undefined;
      },
      120_000,
      'the stitch activity pending',
    );
    const home = await handle.query(statusQuery);
    const victim = home.worker === 'machine-a' ? a : b;
    const survivor = victim === a ? b : a;
    const killedAt = Date.now();
    await victim.proc.kill('SIGKILL');

    const result = (await resultOf(env, id)) as Result;
    const recovery = seconds(killedAt);
    assert.equal(result.worker, survivor.name, 'stitched on the surviving worker');
    assert.ok(Math.abs(result.durationSeconds - 14) < 0.1);
    const state = await emulatorState(emu);
    assert.deepEqual(
      predictionsPerPrompt(
        state,
        result.scenes.map((s) => s.prompt),
      ),
      [1, 1, 1],
      'no clip paid for twice',
    );
    const acts = await activityWorkers(id);
    const downloads = acts.filter((x) => x.type === 'downloadClip');
    assert.equal(downloads.length, 6, 'three downloads on the dead worker, three again on the survivor');
    console.log(
      `kill mid-stitch (stitch activity ${String(stitching.state)}): completed on ${survivor.name} ${recovery} after the kill`,
    );
    await emu.stop();
  });
});
