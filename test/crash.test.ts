/**
 * Crash tests with real processes: a `vidflow worker` is SIGKILLed (no shutdown, no last
 * heartbeat, no completion report) at each stage of a run, a new worker process is started, and
 * the run must still deliver a correct 14.0 s video having paid for exactly one prediction per
 * scene. One case restarts the Temporal dev server itself (SQLite file) under a working worker.
 *
 * Timing: the workflow's timeouts are the product's (not shortened for tests), so each kill costs
 * what it costs in production: a lost generate/download attempt is retried after its 30 s
 * heartbeat timeout, a stitch after 60 s, and planning (no heartbeat timeout) after its 2 min
 * start-to-close timeout. The cases are independent (own emulator process, task queue, folders,
 * workers) and run three at a time so the file stays around 4 minutes on 2 cores.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertPaidOnceAndInPlace,
  describeActivities,
  emulatorState,
  freePort,
  historyOf,
  pidsWithArg,
  resultWithHistory,
  seconds,
  startCase,
  startRun,
  statusOf,
  waitForEmulator,
  waitForStage,
} from './helpers/crash';
import type { ActivityRecord, CrashCase, RunResult } from './helpers/crash';
import type { EmulatorState } from '../src/emulators';
import { startDevServer } from '../src/client/dev-server';
import type { DevServer } from '../src/client/dev-server';
import { temporalCli } from './helpers/processes';
import { eventually } from './helpers/temporal';
import { useTemporalServer } from './helpers/temporal-server';
import { durationOf } from './helpers/video';

/** Small clips keep ffmpeg cheap; ~3.3 s per prediction leaves a window to kill during generation. */
const SMALL = { startingMs: 300, processingMs: 3000, clipWidth: 320, clipHeight: 180 };
/** Three cases at a time: the 2-minute planning case overlaps the others instead of adding to them. */
const CONCURRENCY = 3;

const temporal = useTemporalServer('crash');
let address: string;
const cases: CrashCase[] = [];

before(async () => {
  address = await temporal.address();
});

after(async () => {
  for (const c of cases) await c.close();
});

async function newCase(name: string, emulator: unknown, at = address): Promise<CrashCase> {
  const c = await startCase({ address: at, name, emulator });
  cases.push(c);
  return c;
}

interface Verified {
  result: RunResult;
  state: EmulatorState;
  acts: ActivityRecord[];
}

/**
 * Waits for the run and checks what a crash could have broken: the video (duration, and each
 * scene's clip in its place), one prediction per scene and no other, and returns the history's
 * activities so the case can check that its kill really cost an attempt.
 */
async function verifyRun(t: TestContext, c: CrashCase, workflowId: string, at = address): Promise<Verified> {
  const { result, acts } = await resultWithHistory(c, workflowId, at);
  t.diagnostic(`activities: ${describeActivities(acts)}`);

  const secs = durationOf(result.path);
  assert.ok(Math.abs(secs - 14.0) <= 0.1, `video is ${secs} s, expected 14.0 ± 0.1`);
  assert.equal((await stat(result.path)).size, result.sizeBytes);

  const state = await emulatorState(c.emu);
  assertPaidOnceAndInPlace(result, state);
  assert.deepEqual(Object.values(state.replicate.createdByInput), [1, 1, 1], 'no input was sent to Replicate twice');
  // Cleanup ran after the crash too: no working clips (or .part files of the killed attempt) left.
  await assert.rejects(stat(join(c.env.VIDFLOW_WORK_DIR!, workflowId)), 'work files removed');
  return { result, state, acts };
}

function only(acts: ActivityRecord[], name: string): ActivityRecord[] {
  return acts.filter((a) => a.name === name);
}

describe('SIGKILL of the worker, then a new worker process', { concurrency: CONCURRENCY }, () => {
  test('during planning: the plan is retried after its start-to-close timeout, still by the LLM', async (t) => {
    const c = await newCase('crash-plan', { openai: { latencyMs: 2000 }, replicate: SMALL });
    await c.startWorker();
    const t0 = Date.now();
    const id = await startRun(c.env, 'a lighthouse in a winter storm (crash during planning)', ['--auto-approve']);
    // The request is at the emulator, which holds it for 2 s: the plan activity is in flight.
    await waitForEmulator(c.emu, (s) => s.openai.requests >= 1, 'the planning request');
    await c.killWorker();
    const killedAt = Date.now();
    const atKill = await c.emu.state();
    assert.equal(atKill.replicate.predictionsCreated, 0, 'killed before any generation');
    await c.startWorker();

    const { acts, state } = await verifyRun(t, c, id);
    const plan = only(acts, 'planScenes');
    assert.equal(plan.length, 1);
    assert.equal(plan[0]!.attempt, 2, `the killed plan attempt was retried: ${describeActivities(plan)}`);
    assert.match(plan[0]!.lastFailure ?? '', /timeout/i);
    assert.equal(state.openai.requests, 2, 'one LLM call per attempt');
    assert.equal((await statusOf(c.env, id))?.planner, 'openai', 'the retry planned with the LLM, not the fallback');
    t.diagnostic(`killed ${seconds(t0, killedAt)} after start; completed ${seconds(killedAt)} after the kill`);
  });

  test('during stitching: the stitch is retried and the video is whole', async (t) => {
    // Full-HD clips so ffmpeg's join takes seconds: long enough to see it in `vidflow status`
    // (a CLI call takes ~2-3 s on 2 cores) and kill the worker while ffmpeg still runs.
    const c = await newCase('crash-stitch', { replicate: { ...SMALL, clipWidth: 1920, clipHeight: 1080 } });
    await c.startWorker();
    const t0 = Date.now();
    const id = await startRun(c.env, 'a paper boat on a rainy street (crash during stitching)', ['--auto-approve']);
    // Cheap polling first (the emulator), then the CLI once the clips are downloaded.
    await waitForEmulator(c.emu, (s) => s.replicate.downloadsCompleted >= 3, 'three downloaded clips');
    await waitForStage(c.env, id, 'stitching', 60_000);
    await c.killWorker();
    const killedAt = Date.now();
    const out = c.env.VIDFLOW_OUTPUT_DIR!;
    const finalAtKill = (await readdir(out)).filter((f) => f === `${id}.mp4`);
    assert.deepEqual(finalAtKill, [], 'the kill came before the video was delivered');
    await c.startWorker();

    const { acts } = await verifyRun(t, c, id);
    const stitch = only(acts, 'stitchClips');
    assert.equal(stitch.length, 1);
    assert.equal(stitch[0]!.attempt, 2, `the killed stitch attempt was retried: ${describeActivities(stitch)}`);
    assert.match(stitch[0]!.lastFailure ?? '', /heartbeat/i);
    assert.ok(
      only(acts, 'generateClip').every((a) => a.attempt === 1),
      'nothing before the stitch was redone',
    );
    // The killed attempt's ffmpeg is orphaned and its hidden .part file is never renamed; the retry removes it.
    const leftovers = (await readdir(out)).filter((f) => f !== `${id}.mp4`);
    assert.deepEqual(leftovers, [], 'nothing but the video is left in the output folder');
    t.diagnostic(`killed ${seconds(t0, killedAt)} after start; completed ${seconds(killedAt)} after the kill`);
  });

  /**
   * Two windows of a crash during generation. Right after creation the prediction id may not have
   * reached the server yet (heartbeats are throttled to one per 2 s), so the retry must find the
   * orphan by its generation key; a few seconds later the id is in the last heartbeat and the retry resumes
   * it. Both must end with one prediction per scene.
   */
  for (const v of [
    { label: 'right after the predictions were created (orphans adopted)', waitMs: 0, processingMs: 3000 },
    { label: '4 s after the predictions were created (resumed by id)', waitMs: 4000, processingMs: 8000 },
  ]) {
    test(`during generation, ${v.label}: none is paid twice`, async (t) => {
      const c = await newCase('crash-generate', { replicate: { ...SMALL, processingMs: v.processingMs } });
      await c.startWorker();
      const t0 = Date.now();
      const id = await startRun(c.env, `a hot-air balloon over canyons (crash during generation +${v.waitMs} ms)`, [
        '--auto-approve',
      ]);
      await waitForEmulator(c.emu, (s) => s.replicate.predictions.length === 3, 'three predictions');
      await new Promise((r) => setTimeout(r, v.waitMs));
      await c.killWorker();
      const killedAt = Date.now();
      const statusesAtKill = (await emulatorState(c.emu)).replicate.predictions.map((p) => p.status);
      // Not yet succeeded at the kill (or the retry would not need to resume anything).
      assert.ok(
        statusesAtKill.every((s) => s === 'starting' || s === 'processing'),
        `in flight at the kill: ${statusesAtKill.join(',')}`,
      );
      const second = await c.startWorker();

      const { acts } = await verifyRun(t, c, id);
      const gen = only(acts, 'generateClip');
      assert.equal(gen.length, 3);
      assert.ok(
        gen.every((a) => a.attempt === 2 && /heartbeat/i.test(a.lastFailure ?? '')),
        `each generate attempt was lost to the kill and retried once: ${describeActivities(gen)}`,
      );
      const resumed = (second.logs().match(/resuming prediction/g) ?? []).length;
      const adopted = (second.logs().match(/adopted prediction/g) ?? []).length;
      assert.equal(resumed + adopted, 3, `the new worker resumed or adopted 3 predictions:\n${second.logs()}`);
      if (v.waitMs > 0) assert.equal(resumed, 3, 'with the id heartbeated, each retry resumed by id');
      t.diagnostic(`statuses at the kill: ${statusesAtKill.join(',')}; resumed by id: ${resumed}, adopted: ${adopted}`);
      t.diagnostic(`killed ${seconds(t0, killedAt)} after start; completed ${seconds(killedAt)} after the kill`);
    });
  }

  test('during download: the downloads are retried, the predictions are not', async (t) => {
    // ~4-7 kB clips at 2.5 kB/s: each download takes about 2-3 s.
    const c = await newCase('crash-download', { replicate: { ...SMALL, downloadBytesPerSecond: 2500 } });
    await c.startWorker();
    const t0 = Date.now();
    const id = await startRun(c.env, 'a fox crossing a frozen lake (crash during download)', ['--auto-approve']);
    const atSeen = await waitForEmulator(
      c.emu,
      (s) => s.replicate.downloads >= 3 && s.replicate.downloadsCompleted === 0 && s.replicate,
      'three downloads in flight',
    );
    await c.killWorker();
    const killedAt = Date.now();
    assert.equal(atSeen.predictionsCreated, 3);
    await c.startWorker();

    const { acts } = await verifyRun(t, c, id);
    assert.ok(
      only(acts, 'generateClip').every((a) => a.attempt === 1),
      `generation was not redone: ${describeActivities(acts)}`,
    );
    const dl = only(acts, 'downloadClip');
    assert.equal(dl.length, 3);
    assert.ok(
      dl.every((a) => a.attempt === 2 && /heartbeat/i.test(a.lastFailure ?? '')),
      `each interrupted download was retried once: ${describeActivities(dl)}`,
    );
    t.diagnostic(`killed ${seconds(t0, killedAt)} after start; completed ${seconds(killedAt)} after the kill`);
  });

  test('while awaiting approval: a signal sent with no worker alive is kept, the plan is not redone', async (t) => {
    const c = await newCase('crash-approval', { replicate: SMALL });
    await c.startWorker();
    const t0 = Date.now();
    const id = await startRun(c.env, 'a lantern festival on a river (crash while awaiting approval)');
    await waitForStage(c.env, id, 'awaiting_approval');
    await c.killWorker();
    const killedAt = Date.now();
    const signal = temporalCli(['workflow', 'signal', '--address', address, '--workflow-id', id, '--name', 'approve']);
    assert.equal(signal.code, 0, signal.stderr);
    assert.equal((await c.emu.state()).replicate.predictionsCreated, 0, 'nothing generated without a worker');
    await c.startWorker();

    const { acts, state } = await verifyRun(t, c, id);
    assert.equal(state.openai.requests, 1, 'the plan was replayed from history, not asked again');
    assert.deepEqual(
      acts.map((a) => a.attempt),
      acts.map(() => 1),
      `nothing was in flight at the kill, so nothing retried: ${describeActivities(acts)}`,
    );
    const events = historyOf(address, id);
    assert.equal(events.filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED').length, 1);
    t.diagnostic(`killed ${seconds(t0, killedAt)} after start; completed ${seconds(killedAt)} after the kill`);
  });

  test('dev server SIGKILLed during generation and restarted on the same SQLite file', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vidflow-crash-devserver-'));
    const dbFile = join(dir, 'temporal.db');
    const port = await freePort();
    const uiPort = await freePort();
    let server: DevServer | undefined = await startDevServer({ port, uiPort, detached: false, dbFile });
    try {
      const c = await newCase('crash-server', { replicate: SMALL }, server.address);
      const worker = await c.startWorker();
      const t0 = Date.now();
      const id = await startRun(c.env, 'a city skyline at dawn (dev server restart)', ['--auto-approve']);
      await waitForEmulator(c.emu, (s) => s.replicate.predictions.length === 3, 'three predictions');

      const pids = pidsWithArg(dbFile);
      assert.equal(pids.length, 1, `one dev server process on ${dbFile}: ${pids.join(',')}`);
      process.kill(pids[0]!, 'SIGKILL');
      const killedAt = Date.now();
      server = undefined; // gone: its stop() would wait for an exit that already happened
      await eventually(async () => pidsWithArg(dbFile).length === 0, 10_000, 'the dev server to be gone');
      // Stay down long enough that the predictions finish and the worker must report to no server.
      await waitForEmulator(
        c.emu,
        (s) => s.replicate.predictions.every((p) => p.status === 'succeeded'),
        'the predictions to finish while the server is down',
      );
      await new Promise((r) => setTimeout(r, 2000));
      const survivedOutage = worker.child.exitCode === null && worker.child.signalCode === null;

      server = await startDevServer({ port, uiPort, detached: false, dbFile });
      const restartedAt = Date.now();
      // Workers are expected to reconnect by themselves; if this one died, the run needs a new one.
      const stillAlive = worker.child.exitCode === null && worker.child.signalCode === null;
      if (!stillAlive) await c.startWorker();

      const { acts } = await verifyRun(t, c, id, server.address);
      assert.ok(survivedOutage, `the worker process survived the server outage:\n${c.logs()}`);
      assert.equal(c.workers.length, 1, 'no second worker was needed');
      t.diagnostic(
        `worker alive after the outage: ${survivedOutage}; generate attempts: ${only(acts, 'generateClip')
          .map((a) => a.attempt)
          .join(',')}`,
      );
      t.diagnostic(
        `server killed ${seconds(t0, killedAt)} after start, down for ${seconds(killedAt, restartedAt)}; completed ${seconds(restartedAt)} after the restart`,
      );
    } finally {
      if (server) await server.stop?.();
      for (const pid of pidsWithArg(dbFile)) process.kill(pid, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
