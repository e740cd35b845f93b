/**
 * generateClip's per-worker cap on creates in flight: waiters heartbeat and log, keep the previous
 * heartbeat (a crash while waiting still resumes), and give up their place when cancelled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledFailure } from '@temporalio/activity';
import { harness, waitUntil } from './helpers/activity-env';
import { expectFailure } from './helpers/failures';
import { INPUT, KLING_INPUT, useGenerateKit } from './helpers/generate-kit';

const { emu, activities, rep, createDirect } = useGenerateKit();

// ---- the per-worker cap -------------------------------------------------------------------------

test('cap 1: a second generation waits (heartbeating, logging) and creates only after the first finished', async () => {
  emu.configure({ replicate: { processingMs: 400 } });
  const { generateClip } = activities({ maxConcurrentGenerations: 1 });
  const h1 = harness();
  const h2 = harness({ heartbeatDetails: undefined });
  const p1 = h1.run(generateClip, INPUT);
  let firstDoneAt = 0;
  void p1.then(() => (firstDoneAt = Date.now()));
  await waitUntil(() => rep().predictionsCreated === 1, 3000, 'the first create');
  const p2 = h2.run(generateClip, { ...INPUT, sceneIndex: 2, prompt: 'A blue boat on a calm lake' });
  const [r1, r2] = await Promise.all([p1, p2]);

  assert.notEqual(r1.predictionId, r2.predictionId);
  const second = rep().predictions.find((p) => p.id === r2.predictionId)!;
  assert.ok(Date.parse(second.created_at) >= firstDoneAt - 5, 'created after the first one finished');
  assert.ok(h2.messages().some((m) => m === 'scene 2/3: waiting for a generation slot (1 in use)'));
  const waitingBeats = h2.heartbeats.filter((d) => d === undefined).length;
  assert.ok(waitingBeats >= 3, `heartbeated while waiting (${waitingBeats})`);
  assert.ok(!h1.messages().some((m) => m.includes('waiting for a generation slot')));
});

test('an unusable cap (NaN from a bad setting) falls back to the default instead of no limit', async () => {
  emu.configure({ replicate: { processingMs: 400 } });
  const { generateClip } = activities({ maxConcurrentGenerations: Number('eight') });
  const hs = Array.from({ length: 9 }, () => harness());
  const runs = hs.map((h, i) => h.run(generateClip, { ...INPUT, sceneIndex: i + 1, prompt: `prompt ${i}` }));
  await waitUntil(() => rep().predictionsCreated === 8, 3000, 'eight creates');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(rep().predictionsCreated, 8, 'the ninth waits');
  await Promise.all(runs);
});

test('cap 2: two run at once, the third waits', async () => {
  emu.configure({ replicate: { processingMs: 400 } });
  const { generateClip } = activities({ maxConcurrentGenerations: 2 });
  const hs = [harness(), harness(), harness()];
  const runs = hs.map((h, i) => h.run(generateClip, { ...INPUT, sceneIndex: i + 1, prompt: `scene number ${i}` }));
  await waitUntil(() => rep().predictionsCreated === 2, 3000, 'two creates');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(rep().predictionsCreated, 2, 'the third is held back');
  await Promise.all(runs);
  assert.equal(rep().predictionsCreated, 3);
  assert.ok(hs[2]!.messages().some((m) => m.includes('waiting for a generation slot (2 in use)')));
});

test('cap: a waiting resume keeps the previous heartbeat, so a crash while waiting still resumes', async () => {
  emu.configure({ replicate: { processingMs: 400 } });
  const existing = await createDirect({ ...KLING_INPUT, prompt: 'resumed scene' });
  const { generateClip } = activities({ maxConcurrentGenerations: 1 });
  const h1 = harness();
  const p1 = h1.run(generateClip, INPUT);
  await waitUntil(() => rep().predictionsCreated === 2, 3000, 'the first create');
  const details = { predictionId: existing.id, status: 'processing' };
  const h2 = harness({ attempt: 2, heartbeatDetails: details });
  const p2 = h2.run(generateClip, { ...INPUT, prompt: 'resumed scene' });
  await waitUntil(() => h2.heartbeats.length >= 2, 3000, 'waiting heartbeats');
  assert.deepEqual(h2.heartbeats[0], details);
  const [, r2] = await Promise.all([p1, p2]);
  assert.equal(r2.predictionId, existing.id);
  assert.equal(rep().predictionsCreated, 2);
});

test('cap: a failure releases the slot; a cancelled waiter gives up its place', async () => {
  emu.configure({ replicate: { processingMs: 300, nextOutcome: ['flagged'] } });
  const { generateClip } = activities({ maxConcurrentGenerations: 1 });
  const h1 = harness();
  const h2 = harness();
  const h3 = harness();
  const p1 = h1.run(generateClip, INPUT);
  p1.catch(() => undefined); // checked below
  await waitUntil(() => rep().predictionsCreated === 1, 3000, 'the first create');
  const p2 = h2.run(generateClip, { ...INPUT, prompt: 'two' });
  p2.catch(() => undefined); // checked below
  const p3 = h3.run(generateClip, { ...INPUT, prompt: 'three' });
  await waitUntil(() => h2.messages().some((m) => m.includes('waiting for a generation slot')), 2000, 'h2 waiting');
  h2.cancel('CANCELLED', { cancelRequested: true });
  await assert.rejects(p2, (err: unknown) => err instanceof CancelledFailure);
  await expectFailure(p1, 'ContentFlagged');
  const r3 = await p3;
  assert.equal(rep().predictionsCreated, 2, 'the cancelled waiter never created one');
  assert.equal(rep().predictions[1]!.id, r3.predictionId);
});
