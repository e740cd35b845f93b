/**
 * A cancelled run leaves no prediction running, wherever its generate activities are: polling
 * (covered in activities-generate-polling.test.ts), waiting for a generation slot, or nowhere at all (in a
 * retry backoff, or on a dead worker), where only `cancelPredictions` reaches Replicate. Real
 * activities in MockActivityEnvironment against the Replicate emulator, counting its cancels.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledFailure } from '@temporalio/activity';
import type { Info } from '@temporalio/activity';
import { createCancelPredictionsActivities } from '../src/activities/cancel-predictions';
import { createGenerateActivities } from '../src/activities/generate';
import type { GenerateDeps } from '../src/activities/generate';
import type { PredictionJson } from '../src/emulators';
import type { CancelPredictionsInput, GenerateClipInput, GenerateClipResult } from '../src/shared/schemas';
import { REPLICATE_TOKEN, harness, useEmulators, waitUntil } from './helpers/activity-env';
import { expectFailure } from './helpers/failures';
import type { Harness } from './helpers/activity-env';

// Long enough that nothing finishes by itself during a test.
const emu = useEmulators({
  eachTest: { replicate: { startingMs: 50, processingMs: 30_000, clipWidth: 320, clipHeight: 180 } },
});
/** Every activity a test started: stopped after it (a worker shutdown), so none polls on into the next. */
const live: { h: Harness; done: Promise<unknown> }[] = [];
afterEach(async () => {
  for (const { h } of live) h.cancel('WORKER_SHUTDOWN', { workerShutdown: true });
  await Promise.allSettled(live.splice(0).map((l) => l.done));
});

const RUN_STARTED_AT = new Date(Date.now() - 60_000).toISOString();
const scene = (workflowId: string, sceneIndex: number): GenerateClipInput => ({
  workflowId,
  sceneIndex,
  sceneCount: 3,
  prompt: `${workflowId}: scene ${sceneIndex}, a paper boat drifting down a rainy street`,
  model: 'kling-v2.5-turbo-pro',
  seconds: 5,
  aspectRatio: '16:9',
  runStartedAt: RUN_STARTED_AT,
});

function generate(
  input: GenerateClipInput,
  info: Partial<Info> = {},
  deps: Partial<GenerateDeps> = {},
): { h: Harness; result: Promise<GenerateClipResult> } {
  const h = harness(info);
  const acts = createGenerateActivities({
    replicate: emu.replicate(),
    pollIntervalMs: 20,
    maxPollIntervalMs: 40,
    ...deps,
  });
  const result = h.run((i: GenerateClipInput) => acts.generateClip(i), input);
  result.catch(() => undefined); // each test checks what it expects
  live.push({ h, done: result });
  return { h, result };
}

function cancelPredictions(input: CancelPredictionsInput) {
  const h = harness();
  const acts = createCancelPredictionsActivities({ replicate: emu.replicate() });
  return h.run((i: CancelPredictionsInput) => acts.cancelPredictions(i), input);
}

const rep = () => emu.state.replicate;
const statusOf = (id: string): string | undefined => rep().predictions.find((p) => p.id === id)?.status;
const idOf = (h: Harness): string | undefined =>
  (h.heartbeats.findLast((d) => (d as { predictionId?: string })?.predictionId) as { predictionId?: string })
    ?.predictionId;

/** A generation whose attempt ended by a handover (SIGTERM): its prediction runs on, as designed. */
async function handedOver(input: GenerateClipInput): Promise<{ id: string; details: unknown }> {
  const stop = new AbortController();
  const { h, result } = generate(input, {}, { stopping: stop.signal });
  await waitUntil(() => idOf(h) !== undefined, 3000, 'the prediction id');
  stop.abort();
  await expectFailure(result, 'WorkerShutdown');
  return { id: idOf(h)!, details: h.heartbeats.at(-1) };
}

test('today: an attempt that ended (handover, then retry backoff) leaves its prediction running; cancelPredictions stops it', async () => {
  const ours = await handedOver(scene('cancel-run-a', 1));
  const theirs = await handedOver(scene('cancel-run-b', 1));
  await new Promise((r) => setTimeout(r, 200));
  // What a cancel during the backoff leaves behind: nobody polls, nobody cancels.
  assert.equal(statusOf(ours.id), 'processing');
  assert.equal(rep().cancels, 0);

  const r = await cancelPredictions({ workflowId: 'cancel-run-a', runStartedAt: RUN_STARTED_AT });
  assert.deepEqual(r.cancelled, [ours.id]);
  assert.equal(r.found, 1);
  assert.equal(statusOf(ours.id), 'canceled');
  assert.equal(statusOf(theirs.id), 'processing', "another run's prediction is untouched");

  const again = await cancelPredictions({ workflowId: 'cancel-run-a', runStartedAt: RUN_STARTED_AT });
  assert.deepEqual(again, { cancelled: [], found: 1, searched: 2 }, 'idempotent: nothing left to cancel');
  assert.equal(rep().cancels, 1);
});

test('only the scenes asked for; finished predictions are counted and left alone', async () => {
  const one = await handedOver(scene('cancel-scenes', 1));
  const two = await handedOver(scene('cancel-scenes', 2));
  emu.configure({ replicate: { processingMs: 200 } });
  const three = await generate(scene('cancel-scenes', 3)).result;
  const r = await cancelPredictions({ workflowId: 'cancel-scenes', scenes: [2, 3], runStartedAt: RUN_STARTED_AT });
  assert.deepEqual(r.cancelled, [two.id]);
  assert.equal(r.found, 2);
  assert.deepEqual(
    [statusOf(one.id), statusOf(two.id), statusOf(three.predictionId)],
    ['processing', 'canceled', 'succeeded'],
  );
});

test('found however many predictions the account made since the run started', async () => {
  emu.configure({ replicate: { listPageSize: 4 } });
  const ours = await handedOver(scene('cancel-busy', 1));
  const other = emu.replicate();
  for (let i = 0; i < 25; i++) {
    await other.predictions.create({ model: 'kwaivgi/kling-v2.5-turbo-pro', input: { prompt: `busy ${i}` } });
  }
  const r = await cancelPredictions({ workflowId: 'cancel-busy', runStartedAt: RUN_STARTED_AT });
  assert.deepEqual(r.cancelled, [ours.id]);
  assert.equal(r.searched, 26);
});

test('refuses a bad input early (InvalidInput, non-retryable)', async () => {
  const err = await expectFailure(cancelPredictions({ workflowId: 'x', runStartedAt: 'yesterday' }), 'InvalidInput');
  assert.equal(err.nonRetryable, true);
  assert.equal(rep().requests.list, 0);
});

/** Holds the only generation slot with a long prediction of another scene. */
function occupySlot(acts: ReturnType<typeof createGenerateActivities>): Promise<GenerateClipResult> {
  const h = harness();
  const p = h.run((i: GenerateClipInput) => acts.generateClip(i), scene('slot-holder', 1));
  p.catch(() => undefined); // left running to the end of the test
  live.push({ h, done: p });
  return p;
}

test('cancelled while waiting for a slot, a retry cancels the prediction its previous attempt paid for', async () => {
  const earlier = await handedOver(scene('cancel-slot', 2));
  const acts = createGenerateActivities({
    replicate: emu.replicate(),
    pollIntervalMs: 20,
    maxPollIntervalMs: 40,
    maxConcurrentGenerations: 1,
  });
  void occupySlot(acts);
  await waitUntil(() => rep().predictionsCreated === 2, 3000, 'the slot holder');
  const h = harness({ attempt: 2, heartbeatDetails: earlier.details });
  const waiting = h.run((i: GenerateClipInput) => acts.generateClip(i), scene('cancel-slot', 2));
  live.push({ h, done: waiting.catch(() => undefined) });
  await waitUntil(() => h.messages().some((m) => m.includes('waiting for a generation slot')), 2000, 'waiting');
  h.cancel('CANCELLED', { cancelRequested: true });
  await assert.rejects(waiting, (err: unknown) => err instanceof CancelledFailure);
  // Before: the waiter gave up its place and the previous attempt's prediction ran on, unpolled.
  await waitUntil(() => statusOf(earlier.id) === 'canceled', 2000, 'the earlier prediction to be canceled');
  assert.equal(rep().predictionsCreated, 2, 'the waiter created nothing');
});

test('cancelled while waiting for a slot with no id in its heartbeat: the prediction is found by key and cancelled', async () => {
  const earlier = await handedOver(scene('cancel-slot-key', 1));
  const acts = createGenerateActivities({
    replicate: emu.replicate(),
    pollIntervalMs: 20,
    maxPollIntervalMs: 40,
    maxConcurrentGenerations: 1,
  });
  void occupySlot(acts);
  await waitUntil(() => rep().predictionsCreated === 2, 3000, 'the slot holder');
  const h = harness({ attempt: 3 }); // the heartbeat naming it was lost
  const waiting = h.run((i: GenerateClipInput) => acts.generateClip(i), scene('cancel-slot-key', 1));
  live.push({ h, done: waiting.catch(() => undefined) });
  await waitUntil(() => h.messages().some((m) => m.includes('waiting for a generation slot')), 2000, 'waiting');
  h.cancel('CANCELLED', { cancelRequested: true });
  await assert.rejects(waiting);
  await waitUntil(() => statusOf(earlier.id) === 'canceled', 2000, 'the earlier prediction to be canceled');
  const holder: PredictionJson | undefined = rep().predictions.find(
    (p) => p.input.prompt === scene('slot-holder', 1).prompt,
  );
  assert.ok(
    holder && ['starting', 'processing'].includes(holder.status),
    "the slot holder's prediction is not touched",
  );
});

test('a rejected token fails cancelPredictions at once as non-retryable ProviderAuth (a failed run is not held open)', async () => {
  emu.configure({ replicate: { rejectToken: REPLICATE_TOKEN } });
  const f = await expectFailure(
    cancelPredictions({ workflowId: 'rejected-token', runStartedAt: RUN_STARTED_AT }),
    'ProviderAuth',
  );
  assert.equal(f.nonRetryable, true, 'retrying cannot fix a rejected token');
});
