/**
 * The prediction tracker (src/activities/prediction-tracker.ts) with a real worker on a real
 * Temporal server and the Replicate emulator: generate activities hand their predictions over and
 * complete asynchronously, so a worker with 2 activity slots has every clip in flight at once;
 * cancel stops the spend; a hand-over or a dead tracker moves the predictions to another worker
 * without paying twice; a failed prediction is retried as before. (MockActivityEnvironment has no
 * async completion, hence the real worker.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { createGenerateActivities } from '../src/activities/generate';
import { PredictionTracker } from '../src/activities/prediction-tracker';
import type { GenerateClipResult } from '../src/shared/schemas';
import { useEmulators, waitUntil } from './helpers/activity-env';
import { eventually, uniqueTaskQueue } from './helpers/temporal';
import type { generateMany } from './helpers/workflows/generate-many';
import { manyScenes, useGenerateManyKit } from './helpers/generate-many-kit';

const emu = useEmulators({
  eachTest: { replicate: { startingMs: 100, processingMs: 3000, clipWidth: 320, clipHeight: 180 } },
});
const kit = useGenerateManyKit();

async function startWorker(taskQueue: string, o: { slots?: number; errorBudgetMs?: number } = {}) {
  const replicate = emu.replicate();
  const tracker = new PredictionTracker({
    replicate,
    pollMs: 300,
    heartbeatMs: 1000,
    ...(o.errorBudgetMs !== undefined ? { errorBudgetMs: o.errorBudgetMs } : {}),
  });
  const worker = await Worker.create({
    connection: kit.env.nativeConnection,
    namespace: kit.env.namespace ?? 'default',
    taskQueue,
    workflowBundle: kit.bundle,
    activities: createGenerateActivities({ replicate, tracker, pollIntervalMs: 100, maxPollIntervalMs: 200 }),
    maxConcurrentActivityTaskExecutions: o.slots ?? 10,
  });
  const running = worker.run();
  return {
    tracker,
    async stop() {
      tracker.close();
      worker.shutdown();
      await running;
    },
  };
}

function start(taskQueue: string, n: number, tag: string) {
  return kit.env.client.workflow.start<typeof generateMany>('generateMany', {
    taskQueue,
    workflowId: `${tag}-${Date.now()}`,
    args: [manyScenes(n, tag)],
  });
}

/** Most predictions running at one instant, from the emulator's timestamps. */
function peakInFlight(): number {
  const edges = emu.state.replicate.predictions.flatMap((p) => [
    { t: Date.parse(p.created_at), d: 1 },
    { t: p.completed_at ? Date.parse(p.completed_at) : Infinity, d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let peak = 0;
  for (const e of edges) peak = Math.max(peak, (now += e.d));
  return peak;
}

test('2 activity slots, 6 clips: all 6 in flight at once, each completed with its clip, read in bulk', async () => {
  const q = uniqueTaskQueue('tracker');
  const w = await startWorker(q, { slots: 2 });
  try {
    const handle = await start(q, 6, 'slots');
    const results: GenerateClipResult[] = await handle.result();
    assert.equal(results.length, 6);
    const ids = new Set(results.map((r) => r.predictionId));
    assert.equal(ids.size, 6);
    for (const r of results) assert.match(r.outputUrl, /output\.mp4$/);
    assert.equal(emu.state.replicate.predictionsCreated, 6, 'one prediction per clip');
    assert.equal(peakInFlight(), 6, 'every clip at the provider at once, though the worker has 2 slots');
    // One list request reads all six; no per-prediction polling.
    assert.equal(emu.state.replicate.requests.get, 0);
    assert.ok(emu.state.replicate.requests.list <= 20, `list reads: ${emu.state.replicate.requests.list}`);
  } finally {
    await w.stop();
  }
});

test('a cancelled run cancels its tracked predictions at Replicate', async () => {
  emu.configure({ replicate: { processingMs: 60_000 } });
  const q = uniqueTaskQueue('tracker');
  const w = await startWorker(q);
  try {
    const handle = await start(q, 3, 'cancel');
    await eventually(async () => w.tracker.size === 3, 15_000, '3 tracked');
    await handle.cancel();
    await eventually(
      async () => emu.state.replicate.predictions.filter((p) => p.status === 'canceled').length === 3,
      15_000,
      'all 3 cancelled at Replicate',
    );
    await assert.rejects(handle.result());
    assert.equal(emu.state.replicate.predictionsCreated, 3);
    assert.equal(w.tracker.size, 0);
  } finally {
    await w.stop();
  }
});

test('hand-over (SIGTERM): another worker resumes the same predictions at once, none paid twice', async () => {
  emu.configure({ replicate: { processingMs: 6000 } });
  const q = uniqueTaskQueue('tracker');
  const a = await startWorker(q);
  const handle = await start(q, 3, 'handover');
  await eventually(async () => a.tracker.size === 3, 15_000, '3 tracked');
  const handedAt = Date.now();
  await a.tracker.handOver();
  await a.stop();
  const b = await startWorker(q);
  try {
    const results = await handle.result();
    assert.equal(results.length, 3);
    assert.equal(emu.state.replicate.predictionsCreated, 3, 'resumed by id, not paid again');
    const events = (await handle.fetchHistory()).events ?? [];
    const failures = events.filter((e) => e.activityTaskStartedEventAttributes?.lastFailure?.applicationFailureInfo);
    assert.ok(
      failures.some(
        (e) => e.activityTaskStartedEventAttributes?.lastFailure?.applicationFailureInfo?.type === 'WorkerShutdown',
      ),
      'the retries followed a WorkerShutdown failure',
    );
    assert.ok(Date.now() - handedAt < 15_000, 'no heartbeat timeout waited for');
  } finally {
    await b.stop();
  }
});

test('a dead tracker (no more heartbeats): the heartbeat timeout moves the predictions on, none paid twice', async () => {
  emu.configure({ replicate: { processingMs: 8000 } });
  const q = uniqueTaskQueue('tracker');
  const a = await startWorker(q);
  const handle = await start(q, 2, 'dead');
  await eventually(async () => a.tracker.size === 2, 15_000, '2 tracked');
  await a.stop(); // the tracker stops without a word, like a SIGKILLed process
  const b = await startWorker(q);
  try {
    const results = await handle.result();
    assert.equal(results.length, 2);
    assert.equal(emu.state.replicate.predictionsCreated, 2);
  } finally {
    await b.stop();
  }
});

test('a failed prediction fails its attempt; the retry pays for the next try only', async () => {
  emu.configure({ replicate: { nextOutcome: ['failed'] } });
  const q = uniqueTaskQueue('tracker');
  const w = await startWorker(q);
  try {
    const results = await (await start(q, 2, 'failed')).result();
    assert.equal(results.length, 2);
    assert.equal(emu.state.replicate.predictionsCreated, 3, 'two clips plus one replacement');
  } finally {
    await w.stop();
  }
});

test('Replicate answering 503 to every read for a while: the tracker rides it out, one attempt, one prediction per clip', async () => {
  // Scaled down from minutes: the reads fail for 6 s while the clips are still processing.
  emu.configure({ replicate: { processingMs: 4000, retryAfterSeconds: 1 } });
  const q = uniqueTaskQueue('tracker-outage');
  const w = await startWorker(q);
  try {
    const handle = await start(q, 3, 'outage');
    await waitUntil(() => emu.state.replicate.predictionsCreated === 3, 10_000, 'three predictions created');
    emu.configure({
      replicate: { outageUntil: Date.now() + 6000, outageRoutes: ['get', 'list'], outageFault: 'unavailable' },
    });
    const results: GenerateClipResult[] = await handle.result();
    assert.equal(results.length, 3);
    assert.equal(emu.state.replicate.predictionsCreated, 3, 'one prediction per clip: nothing paid again');
    assert.ok(
      emu.state.replicate.faultsServed.filter((f) => f.endsWith(':unavailable')).length >= 1,
      'the outage was met by at least one read',
    );
    const history = await handle.fetchHistory();
    const attempts = (history.events ?? []).flatMap((e) =>
      e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : [],
    );
    assert.deepEqual(attempts, [1, 1, 1], 'no attempt was spent on the outage');
  } finally {
    await w.stop();
  }
});

test('reads failing past the error budget end the attempts with ProviderUnavailable; the retries resume, nothing paid twice', async () => {
  emu.configure({ replicate: { processingMs: 3000, retryAfterSeconds: 0 } });
  const q = uniqueTaskQueue('tracker-budget');
  const w = await startWorker(q, { errorBudgetMs: 1000 });
  try {
    const handle = await start(q, 2, 'budget');
    await waitUntil(() => emu.state.replicate.predictionsCreated === 2, 10_000, 'two predictions created');
    // The bulk reads (list) fail for 5 s, five times the budget; a retry's resume (get) works.
    emu.configure({
      replicate: { outageUntil: Date.now() + 5000, outageRoutes: ['list'], outageFault: 'unavailable' },
    });
    let lastFailure = '';
    await eventually(
      async () => {
        const d = await handle.describe();
        const f = d.raw.pendingActivities?.find((a) => a.lastFailure?.message)?.lastFailure;
        lastFailure = `${f?.applicationFailureInfo?.type ?? ''}: ${f?.message ?? ''}`;
        return /kept failing/.test(lastFailure);
      },
      10_000,
      'an attempt failed on the budget',
    );
    assert.match(
      lastFailure,
      /^ProviderUnavailable: scene \d\/2: Replicate kept failing for 1 s; the next attempt resumes/,
    );
    const results: GenerateClipResult[] = await handle.result();
    assert.equal(results.length, 2);
    assert.equal(emu.state.replicate.predictionsCreated, 2, 'the retries resumed the same predictions');
  } finally {
    await w.stop();
  }
});
