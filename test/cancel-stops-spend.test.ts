/**
 * A cancelled run leaves no prediction running (issue #12), wherever its generations are when the
 * cancel comes. A generate attempt that runs cancels its own prediction; one waiting in its retry
 * backoff (after a SIGTERM handover) or held by a dead worker has no attempt to do it, and only the
 * workflow's `cancelPredictions` reaches Replicate. End to end with real parts: the Temporal dev
 * server, `vidflow worker` processes with the real activities, the `vidflow` CLI, and the emulators
 * in their own process, counting predictions and cancels. Then the workflow's side with stand-in
 * activities: when it asks for the cancel, and when it does not.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { failure } from '../src/shared/failures';
import { approveSignal, statusQuery } from '../src/shared/messages';
import type { CancelPredictionsInput } from '../src/shared/schemas';
import { videoPipeline } from '../src/workflows';
import { emulatorState, historyOf, startCase, startRun, waitForEmulator, waitForStage } from './helpers/crash';
import type { CrashCase } from './helpers/crash';
import { fakeActivities, newCalls } from './helpers/fake-activities';
import { expectWorkflowFailure } from './helpers/failures';
import { vidflow } from './helpers/processes';
import type { WorkerProcess } from './helpers/processes';
import { eventually, workflowBundle, workflowTestKit } from './helpers/temporal';
import { useTemporalServer } from './helpers/temporal-server';

type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

/** Predictions that would run for 3 minutes: anything not cancelled is still processing when checked. */
const SLOW = { replicate: { startingMs: 500, processingMs: 180_000, clipWidth: 320, clipHeight: 180 } };
/** The bound between the SIGTERM and the cancel. */
const CANCEL_WITHIN_MS = 5_000;

const server = useTemporalServer('cancel-spend');
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

/** A case whose workers load one prebuilt workflow bundle, so a restarted worker polls in seconds. */
async function newCase(name: string): Promise<CrashCase> {
  const c = await startCase({ address, name, emulator: SLOW });
  cases.push(c);
  const bundlePath = join(c.dir, 'workflow-bundle.js');
  await writeFile(bundlePath, (await workflowBundle()).code);
  c.env.VIDFLOW_WORKFLOW_BUNDLE = bundlePath;
  return c;
}

async function pendingGenerations(workflowId: string): Promise<PendingActivity[]> {
  const desc = await client.workflow.getHandle(workflowId).describe();
  return (desc.raw.pendingActivities ?? []).filter((a) => a.activityType?.name === 'generateClip');
}

// PENDING_ACTIVITY_STATE_SCHEDULED = 1, STARTED = 2
const isStarted = (a: PendingActivity) => Number(a.state) === 2;
const inBackoff = (a: PendingActivity) => Number(a.state) === 1 && (a.attempt ?? 1) >= 2;

/** Starts a 3-scene run and waits until its three predictions run at the emulator, each polled by an attempt. */
async function runGenerating(c: CrashCase, prompt: string): Promise<string> {
  const id = await startRun(c.env, prompt, ['--auto-approve']);
  await waitForEmulator(
    c.emu,
    (s) => s.replicate.predictions.length === 3 && s.replicate.predictions.every((p) => p.status !== 'canceled'),
    'three predictions in flight',
  );
  await eventually(
    async () => {
      const acts = await pendingGenerations(id);
      return acts.length === 3 && acts.every(isStarted);
    },
    30_000,
    'three generate attempts running',
  );
  return id;
}

/** Waits until every prediction at the case's emulator is `canceled`; returns the seconds since `fromMs`. */
async function allCanceled(c: CrashCase, fromMs: number): Promise<number> {
  try {
    await waitForEmulator(
      c.emu,
      (s) => s.replicate.predictions.length > 0 && s.replicate.predictions.every((p) => p.status === 'canceled'),
      'every prediction canceled',
      90_000,
    );
  } catch (err) {
    const s = await emulatorState(c.emu);
    const statuses = s.replicate.predictions.map((p) => p.status).join(', ');
    throw new Error(`${(err as Error).message}: ${statuses}\n${c.logs()}`, { cause: err });
  }
  return (Date.now() - fromMs) / 1000;
}

/** How often the workflow asked for `cancelPredictions` (the run's history). */
function cancelPredictionsScheduled(id: string): number {
  return historyOf(address, id).filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType.name === 'cancelPredictions',
  ).length;
}

/** What a worker's log says cancelPredictions cancelled (src/activities/cancel-predictions.ts). */
function cancelledByActivity(w: WorkerProcess): number {
  return (w.logs().match(/: cancelled prediction \S+ \(\w+\) of /g) ?? []).length;
}

/** Generate attempts a worker ran after a handover (src/activities/generate.ts logs each resume). */
function resumedAttempts(w: WorkerProcess): number {
  return (w.logs().match(/: resuming prediction \S+ \(\w+\), attempt \d+/g) ?? []).length;
}

/**
 * The run is cancelled and nothing of it runs at Replicate: its three predictions (no fourth was
 * paid for after the restart) all `canceled`, at least one cancel request each, asked for once.
 */
async function assertSpendStopped(t: TestContext, c: CrashCase, id: string, figures: string) {
  await waitForStage(c.env, id, 'cancelled', 30_000);
  const rep = (await emulatorState(c.emu)).replicate;
  const byActivity = c.workers.reduce((n, w) => n + cancelledByActivity(w), 0);
  t.diagnostic(
    `${figures}; predictions ${rep.predictionsCreated}, cancel requests ${rep.cancels} (${byActivity} by cancelPredictions)`,
  );
  assert.equal(rep.predictionsCreated, 3, 'no prediction was paid for again');
  assert.deepEqual(
    rep.predictions.map((p) => p.status),
    ['canceled', 'canceled', 'canceled'],
  );
  assert.ok(rep.cancels >= 3, `cancel requests at Replicate: ${rep.cancels}`);
  assert.equal((await client.workflow.getHandle(id).describe()).status.name, 'CANCELLED');
  assert.equal(cancelPredictionsScheduled(id), 1, 'the workflow asked for the cancel once');
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** SIGTERM (the worker exits at once), then waits until the three generations are in their retry backoff. */
async function handOver(w: WorkerProcess, id: string): Promise<void> {
  await w.kill('SIGTERM');
  const acts = await eventually(
    async () => {
      const pending = await pendingGenerations(id);
      return pending.length === 3 && pending.every(inBackoff) && pending;
    },
    CANCEL_WITHIN_MS,
    'three generations in retry backoff',
  );
  assert.ok(
    acts.every((a) => /shutting down/.test(a.lastFailure?.message ?? '')),
    'handed over as WorkerShutdown',
  );
}

describe('a cancelled run stops its spend at Replicate (real worker, emulator counts)', () => {
  test('SIGTERM to the only worker during generation, `vidflow cancel` within 5 s, worker restarted: every prediction ends canceled', async (t) => {
    const c = await newCase('cancel-sigterm');
    const w1 = await c.startWorker();
    const id = await runGenerating(c, 'a lantern parade in the snow (SIGTERM, cancel, restart)');
    const termAt = Date.now();
    await handOver(w1, id);

    // The restart goes alongside the cancel. Whether the restarted worker takes the cancel before
    // the generations' backoff (5 s) ends, or resumes them first, depends on how fast it starts:
    // either way every prediction must end canceled (reported below: which way it went).
    const restarting = c.startWorker();
    const cancel = await vidflow(['cancel', id], c.env);
    const cancelledAt = Date.now();
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.ok(cancelledAt - termAt < CANCEL_WITHIN_MS, `cancelled ${cancelledAt - termAt} ms after the SIGTERM`);
    const w2 = await restarting;
    const readyAt = Date.now();
    const seconds = await allCanceled(c, cancelledAt);
    await assertSpendStopped(
      t,
      c,
      id,
      `cancel ${secs(cancelledAt - termAt)} after the SIGTERM, worker back ${secs(readyAt - termAt)} after it; all canceled ${seconds.toFixed(1)} s after the cancel; attempts resumed after the handover: ${resumedAttempts(w2)}`,
    );
  });

  test('SIGTERM to the worker holding the generations, cancel during their backoff, another worker up: no attempt resumes, cancelPredictions stops all three', async (t) => {
    const c = await newCase('cancel-backoff');
    const a = await c.startWorker();
    const id = await runGenerating(c, 'a ferry crossing in fog (cancelled in backoff)');
    // B only now, so that A holds every generation; it loads the prebuilt bundle and polls in seconds.
    const b = await c.startWorker();
    const termAt = Date.now();
    await handOver(a, id);
    // B polls, so the cancel reaches the workflow at once, inside the 5 s backoff: the server
    // cancels the waiting generations, and no attempt is left to cancel a prediction. (The
    // client's cancel is what `vidflow cancel` sends, without a CLI start-up on a busy machine.)
    await client.workflow.getHandle(id).cancel();
    const cancelledAt = Date.now();
    assert.ok(cancelledAt - termAt < CANCEL_WITHIN_MS, `cancelled ${cancelledAt - termAt} ms after the SIGTERM`);
    const seconds = await allCanceled(c, cancelledAt);
    await assertSpendStopped(
      t,
      c,
      id,
      `cancel ${secs(cancelledAt - termAt)} after the SIGTERM; all canceled ${seconds.toFixed(1)} s after the cancel`,
    );
    assert.equal(resumedAttempts(b), 0, 'no generate attempt ran after the handover');
    assert.equal(cancelledByActivity(b), 3, 'cancelPredictions cancelled all three');
  });

  test('SIGKILL to the only worker during generation (its attempts die with it), cancel, restart: every prediction ends canceled', async (t) => {
    const c = await newCase('cancel-dead');
    await c.startWorker();
    const id = await runGenerating(c, 'a windmill at dusk (cancelled on a dead worker)');
    await c.killWorker();
    // The attempts count as running on the dead worker until their heartbeat timeout (30 s); the
    // cancelled run does not wait for them (the SDK's TRY_CANCEL), and once it is closed they never
    // run again: only the workflow itself can cancel their predictions.
    const cancel = await vidflow(['cancel', id], c.env);
    const cancelledAt = Date.now();
    assert.equal(cancel.code, 0, cancel.stderr);
    const w2 = await c.startWorker();
    const readyAt = Date.now();
    const seconds = await allCanceled(c, cancelledAt);
    await assertSpendStopped(
      t,
      c,
      id,
      `worker back ${secs(readyAt - cancelledAt)} after the cancel; all canceled ${seconds.toFixed(1)} s after the cancel`,
    );
    assert.equal(cancelledByActivity(w2), 3, 'cancelPredictions cancelled all three');
  });
});

describe('videoPipeline asks for its predictions to be cancelled only when a generation is unfinished', () => {
  const kit = workflowTestKit('cancel-spend-wf');

  /**
   * Stand-ins that record the order of cancelPredictions and cleanup. Generation never ends
   * (`hang`, unless `quick`); a `flagScene` fails at once as ContentFlagged.
   */
  function recording(generate: 'hang' | 'quick' = 'hang', flagScene?: number) {
    const calls = newCalls();
    const order: string[] = [];
    const asked: CancelPredictionsInput[] = [];
    const base = fakeActivities(calls);
    const acts = fakeActivities(calls, {
      ...(generate === 'hang'
        ? {
            generateClip: async (input) => {
              calls.generate.push(input.sceneIndex);
              if (input.sceneIndex === flagScene) {
                throw failure('ContentFlagged', `scene ${flagScene}/3: flagged as sensitive (E005)`);
              }
              const ctx = Context.current();
              for (;;) {
                ctx.heartbeat();
                await ctx.sleep(100);
              }
            },
          }
        : {}),
      cancelPredictions: async (input) => {
        order.push('cancelPredictions');
        asked.push(input);
        return { cancelled: [], found: 0, searched: 0 };
      },
      removeWorkFiles: async (input) => {
        order.push('removeWorkFiles');
        return base.removeWorkFiles(input);
      },
    });
    return { calls, order, asked, acts };
  }

  test('cancelled during generation: cancelPredictions once, for the whole run, before the cleanup', async () => {
    const r = recording();
    await kit.withWorker(r.acts, async (tq) => {
      const handle = await kit.env.client.workflow.start(videoPipeline, {
        taskQueue: tq,
        workflowId: `cancel-gen-${tq}`,
        args: [{ prompt: 'a slow tide', autoApprove: true }],
      });
      await eventually(async () => r.calls.generate.length === 3);
      await handle.cancel();
      await assert.rejects(handle.result());
      const started = (await handle.describe()).startTime.toISOString();
      assert.deepEqual(r.asked, [{ workflowId: handle.workflowId, runStartedAt: started }]);
      assert.deepEqual(r.order, ['cancelPredictions', 'removeWorkFiles']);
      assert.equal((await handle.query(statusQuery)).stage, 'cancelled');
    });
  });

  test('cancelled while awaiting approval (nothing generated): no cancelPredictions', async () => {
    const r = recording();
    await kit.withWorker(r.acts, async (tq) => {
      const handle = await kit.env.client.workflow.start(videoPipeline, {
        taskQueue: tq,
        workflowId: `cancel-plan-${tq}`,
        args: [{ prompt: 'a quiet harbour' }],
      });
      await eventually(async () => (await handle.query(statusQuery)).stage === 'awaiting_approval');
      await handle.cancel();
      await assert.rejects(handle.result());
      assert.deepEqual(r.order, ['removeWorkFiles']);
      assert.equal(r.calls.generate.length, 0);
    });
  });

  test('cancelled in result review (every generation returned its clip): no cancelPredictions', async () => {
    const r = recording('quick');
    await kit.withWorker(r.acts, async (tq) => {
      const handle = await kit.env.client.workflow.start(videoPipeline, {
        taskQueue: tq,
        workflowId: `cancel-review-${tq}`,
        args: [{ prompt: 'a kite over dunes', autoApprove: true, reviewResult: true }],
      });
      await eventually(async () => (await handle.query(statusQuery)).stage === 'reviewing_result');
      await handle.cancel();
      await assert.rejects(handle.result());
      assert.deepEqual(r.order, ['removeWorkFiles']);
      assert.deepEqual([...r.calls.generate].sort(), [1, 2, 3]);
    });
  });

  test('failed during generation (one scene flagged, its siblings cancelled): cancelPredictions once', async () => {
    const r = recording('hang', 2);
    await kit.withWorker(r.acts, async (tq) => {
      const handle = await kit.env.client.workflow.start(videoPipeline, {
        taskQueue: tq,
        workflowId: `cancel-failed-${tq}`,
        args: [{ prompt: 'a lighthouse' }],
      });
      await eventually(async () => (await handle.query(statusQuery)).stage === 'awaiting_approval');
      await handle.signal(approveSignal);
      await expectWorkflowFailure(handle.result(), 'ContentFlagged');
      assert.deepEqual(
        r.asked.map((a) => a.workflowId),
        [handle.workflowId],
      );
      assert.equal((await handle.query(statusQuery)).stage, 'failed');
    });
  });
});
