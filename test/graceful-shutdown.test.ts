/**
 * Graceful shutdown with real processes (issue #6, point 3): two `vidflow worker` processes, A and
 * B, on one task queue; A gets SIGTERM while it runs the work. A must exit 0 within its
 * shutdownGraceTime (10 s) plus a few seconds, its in-flight activities must go on at B well
 * before a heartbeat timeout (30 s for generate) would have handed them over, and the run must
 * deliver a correct video having paid for exactly one prediction per scene.
 *
 * What the SDK does (1.24, sdk-core `worker/activities.rs`): on SIGTERM the worker stops polling;
 * the generate activity hands over at once (it only polls a prediction that lives at Replicate,
 * see src/activities/generate.ts); other activities get the grace time to finish, then are
 * cancelled with WORKER_SHUTDOWN, which Core reports to the server as a retryable failure carrying
 * the last heartbeat details, so the retry starts after the retry policy's backoff instead of
 * after a heartbeat timeout.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import {
  assertPaidOnceAndInPlace,
  describeActivities,
  emulatorState,
  resultWithHistory,
  startCase,
  startRun,
  waitForEmulator,
} from './helpers/crash';
import type { CrashCase } from './helpers/crash';
import type { WorkerProcess } from './helpers/processes';
import { eventually, workflowBundle } from './helpers/temporal';
import { useTemporalServer } from './helpers/temporal-server';
import { durationOf } from './helpers/video';

/** The worker's shutdownGraceTime (src/worker/worker.ts). */
const GRACE_S = 10;
/** What a process needs besides the grace time to finish its last reports and exit. */
const EXIT_SLACK_S = 5;
/** generateClip's heartbeat timeout (src/workflows/activity-options.ts): the handover without SIGTERM. */
const GENERATE_HEARTBEAT_TIMEOUT_S = 30;

type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

const server = useTemporalServer('graceful');
let address: string;
let connection: Connection | undefined;
let client: Client;
const cases: CrashCase[] = [];

before(async () => {
  address = await server.address();
  connection = await Connection.connect({ address });
  client = new Client({ connection });
});

after(async () => {
  for (const c of cases) await c.close();
  await connection?.close();
});

/**
 * A case whose workers load one prebuilt workflow bundle (as production does from dist/), so a
 * second worker starts in a couple of seconds instead of running webpack while the first works.
 */
async function newCase(name: string, emulator: unknown): Promise<CrashCase> {
  const c = await startCase({ address, name, emulator });
  cases.push(c);
  const bundlePath = join(c.dir, 'workflow-bundle.js');
  await writeFile(bundlePath, (await workflowBundle()).code);
  c.env.VIDFLOW_WORKFLOW_BUNDLE = bundlePath;
  return c;
}

async function pendingOf(workflowId: string, type: string): Promise<PendingActivity[]> {
  const desc = await client.workflow.getHandle(workflowId).describe();
  return (desc.raw.pendingActivities ?? []).filter((a) => a.activityType?.name === type);
}

/** The identity the SDK gives a worker by default: `<pid>@<hostname>`. */
function runsOn(a: PendingActivity, w: WorkerProcess): boolean {
  return (a.lastWorkerIdentity ?? '').startsWith(`${w.child.pid}@`);
}

function isStarted(a: PendingActivity): boolean {
  // PENDING_ACTIVITY_STATE_STARTED = 2
  return Number(a.state) === 2;
}

function timestampMs(
  t: { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined,
): number {
  if (!t) return NaN;
  return Number((t.seconds ?? 0).toString()) * 1000 + (t.nanos ?? 0) / 1e6;
}

/** Sends SIGTERM and returns the exit code and how long the process took to exit. */
async function terminate(w: WorkerProcess): Promise<{ code: number | null; signal: string | null; seconds: number }> {
  const sentAt = Date.now();
  // 'close', not 'exit': 'exit' can come before the child's last log lines have been read from its
  // pipes, and the hand-over lines are among the very last it writes.
  const exited = once(w.child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  w.child.kill('SIGTERM');
  const [code, signal] = await exited;
  return { code, signal, seconds: (Date.now() - sentAt) / 1000 };
}

/** The video is whole and in order, one prediction per scene was paid, nothing was cancelled. */
async function verifyRun(t: TestContext, c: CrashCase, workflowId: string) {
  const { result, acts } = await resultWithHistory(c, workflowId, address);
  t.diagnostic(`activities: ${describeActivities(acts)}`);
  const secs = durationOf(result.path);
  assert.ok(Math.abs(secs - 14.0) <= 0.1, `video is ${secs} s, expected 14.0 ± 0.1`);

  const state = await emulatorState(c.emu);
  assertPaidOnceAndInPlace(result, state);
  assert.equal(state.replicate.cancels, 0, 'no prediction was cancelled at Replicate by the shutdown');
  return { acts, state };
}

describe('SIGTERM to one of two workers', () => {
  test('during generation: A exits 0 in time, B resumes the same predictions long before a heartbeat timeout', async (t) => {
    // 30 s predictions: still processing when A is told to stop, and well after A's grace time.
    const c = await newCase('graceful-generate', {
      replicate: { startingMs: 500, processingMs: 30_000, clipWidth: 320, clipHeight: 180 },
    });
    const a = await c.startWorker();
    const id = await startRun(c.env, 'a kite festival on a windy beach (SIGTERM during generation)', [
      '--auto-approve',
    ]);
    await waitForEmulator(c.emu, (s) => s.replicate.predictions.length === 3, 'three predictions');
    const onA = await eventually(
      async () => {
        const acts = await pendingOf(id, 'generateClip');
        return acts.length === 3 && acts.every((x) => isStarted(x) && runsOn(x, a)) && acts;
      },
      30_000,
      'three generate activities running on worker A',
    );
    // B only now, so that A holds every generation; it loads the prebuilt bundle and polls in seconds.
    const b = await c.startWorker();
    const atTerm = await emulatorState(c.emu);
    assert.ok(
      atTerm.replicate.predictions.every((p) => p.status === 'starting' || p.status === 'processing'),
      `predictions still in flight at SIGTERM: ${atTerm.replicate.predictions.map((p) => p.status).join(',')}`,
    );

    const termAt = Date.now();
    const exitP = terminate(a);
    // The next attempt of each interrupted generation: started, by B, after the SIGTERM.
    const handedOver = await eventually(
      async () => {
        const acts = await pendingOf(id, 'generateClip');
        return acts.length === 3 && acts.every((x) => (x.attempt ?? 1) >= 2 && isStarted(x) && runsOn(x, b)) && acts;
      },
      (GENERATE_HEARTBEAT_TIMEOUT_S + 30) * 1000,
      'three generate activities retried on worker B',
    );
    const exit = await exitP;
    const handoverS = handedOver.map((x) => (timestampMs(x.lastStartedTime) - termAt) / 1000);
    t.diagnostic(
      `worker A exited with code ${exit.code} (signal ${exit.signal}) ${exit.seconds.toFixed(1)} s after SIGTERM`,
    );
    t.diagnostic(
      `SIGTERM -> retried attempt started on B: ${handoverS.map((s) => `${s.toFixed(1)} s`).join(', ')} (a SIGKILL waits for the ${GENERATE_HEARTBEAT_TIMEOUT_S} s heartbeat timeout plus the retry backoff)`,
    );
    t.diagnostic(`attempts before SIGTERM: ${onA.map((x) => x.attempt).join(',')}`);

    assert.equal(exit.code, 0, `worker A exit code after SIGTERM:\n${a.logs()}`);
    assert.ok(exit.seconds <= GRACE_S + EXIT_SLACK_S, `worker A took ${exit.seconds.toFixed(1)} s to exit`);
    for (const s of handoverS) {
      assert.ok(s > 0, `the retry started after the SIGTERM (${s.toFixed(1)} s)`);
      // "Well before the heartbeat timeout": under half of it, backoff included.
      assert.ok(
        s < GENERATE_HEARTBEAT_TIMEOUT_S / 2,
        `handover took ${s.toFixed(1)} s; a heartbeat timeout alone is ${GENERATE_HEARTBEAT_TIMEOUT_S} s`,
      );
    }
    // A handed its predictions on and cancelled none of them; B resumed them by id. What A reported
    // is asserted from the history below; its log lines are a diagnostic: one CI run (of many) saw
    // one "handed over" line of three while the history recorded all three hand-overs.
    t.diagnostic(`hand-over lines in A's log: ${(a.logs().match(/lives on for the next attempt/g) ?? []).length}`);
    assert.doesNotMatch(a.logs(), /cancelled prediction/);
    const stillRunning = await emulatorState(c.emu);
    assert.ok(
      stillRunning.replicate.predictions.every((p) => p.status !== 'canceled'),
      'the predictions live on at Replicate after the SIGTERM',
    );

    const { acts } = await verifyRun(t, c, id);
    assert.equal((b.logs().match(/resuming prediction/g) ?? []).length, 3, `B resumed 3 predictions:\n${b.logs()}`);
    const gen = acts.filter((x) => x.name === 'generateClip');
    assert.ok(
      gen.length === 3 &&
        gen.every((x) => x.attempt === 2 && /shutting down.*\(handed over\)/.test(x.lastFailure ?? '')),
      `each generation was handed over once by A, not timed out: ${describeActivities(gen)}`,
    );
  });

  test('during stitching: the worker stitching exits 0 within the grace time and the run completes', async (t) => {
    // Full-HD clips so that ffmpeg's join takes seconds and can be caught in flight.
    const c = await newCase('graceful-stitch', {
      replicate: { startingMs: 300, processingMs: 3000, clipWidth: 1920, clipHeight: 1080 },
    });
    const workers = [await c.startWorker(), await c.startWorker()];
    const id = await startRun(c.env, 'a paper lantern over a quiet pond (SIGTERM during stitching)', [
      '--auto-approve',
    ]);
    const stitching = await eventually(
      async () => {
        const [st] = await pendingOf(id, 'stitchClips');
        return st && isStarted(st) && st;
      },
      120_000,
      'the stitch activity running',
    );
    const a = workers.find((w) => runsOn(stitching, w));
    assert.ok(a, `the stitch runs on one of our workers (${stitching.lastWorkerIdentity})`);
    const exit = await terminate(a);
    t.diagnostic(
      `worker ${stitching.lastWorkerIdentity} exited with code ${exit.code} ${exit.seconds.toFixed(1)} s after SIGTERM`,
    );
    assert.equal(exit.code, 0, `exit code after SIGTERM:\n${a.logs()}`);
    assert.ok(exit.seconds <= GRACE_S + EXIT_SLACK_S, `took ${exit.seconds.toFixed(1)} s to exit`);

    const { acts } = await verifyRun(t, c, id);
    const stitch = acts.filter((x) => x.name === 'stitchClips');
    t.diagnostic(
      stitch[0]?.attempt === 1
        ? 'the stitch finished within the grace time'
        : `the stitch was handed over: ${describeActivities(stitch)}`,
    );
  });
});
