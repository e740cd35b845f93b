/**
 * generateKeyframe (#15) pays once like a clip: one image prediction per keyframe and generation,
 * adopted by its key after a crash, never confused with a scene's clip of the same number. Against
 * the Replicate emulator with the real client, in MockActivityEnvironment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Info } from '@temporalio/activity';
import { createGenerateActivities } from '../src/activities/generate';
import { createKeyframeActivities } from '../src/activities/keyframes';
import { keyOf, sameKey, webhookFor } from '../src/providers/prediction-keys';
import { createPrediction } from '../src/providers/replicate-predictions';
import { IMAGE_MODELS } from '../src/shared/models';
import type { GenerateClipInput, GenerateClipResult, GenerateKeyframeInput } from '../src/shared/activity-io';
import { harness, useEmulators, waitUntil } from './helpers/activity-env';
import type { Harness } from './helpers/activity-env';

const emu = useEmulators({
  eachTest: { replicate: { startingMs: 30, processingMs: 120, clipWidth: 320, clipHeight: 180 } },
});

const RUN_STARTED_AT = new Date(Date.now() - 60_000).toISOString();

const KF: GenerateKeyframeInput = {
  workflowId: 'kf-run-a',
  keyframeIndex: 1,
  keyframeCount: 3,
  prompt: 'Watercolour harbour at dawn, boats leaving; the first moment',
  imageModel: 'flux-schnell',
  aspectRatio: '16:9',
  seed: 42,
  runStartedAt: RUN_STARTED_AT,
};

const CLIP: GenerateClipInput = {
  workflowId: 'kf-run-a',
  sceneIndex: 1,
  sceneCount: 2,
  prompt: KF.prompt,
  model: 'kling-v2.5-turbo-pro',
  seconds: 5,
  aspectRatio: '16:9',
  runStartedAt: RUN_STARTED_AT,
};

function keyframe(
  input: GenerateKeyframeInput = KF,
  info: Partial<Info> = {},
): { h: Harness; result: Promise<GenerateClipResult> } {
  const h = harness(info);
  const acts = createKeyframeActivities({ replicate: emu.replicate(), pollIntervalMs: 20, maxPollIntervalMs: 40 });
  return { h, result: h.run((i: GenerateKeyframeInput) => acts.generateKeyframe(i), input) };
}

function clip(input: GenerateClipInput = CLIP, info: Partial<Info> = {}): Promise<GenerateClipResult> {
  const h = harness(info);
  const acts = createGenerateActivities({ replicate: emu.replicate(), pollIntervalMs: 20, maxPollIntervalMs: 40 });
  return h.run((i: GenerateClipInput) => acts.generateClip(i), input);
}

const rep = () => emu.state.replicate;

test('a keyframe is one FLUX schnell prediction with a keyframe key; its output is a PNG URL', async () => {
  const result = await keyframe().result;
  const preds = rep().predictions;
  assert.equal(preds.length, 1);
  const p = preds[0]!;
  assert.equal(p.model, 'black-forest-labs/flux-schnell');
  assert.deepEqual(p.input, {
    prompt: KF.prompt,
    aspect_ratio: '16:9',
    num_outputs: 1,
    output_format: 'png',
    seed: 42,
  });
  assert.equal(keyOf(p)?.kind, 'keyframe');
  assert.equal(keyOf(p)?.scene, 1);
  assert.equal(result.predictionId, p.id);
  assert.match(result.outputUrl, /\/output\.png$/);
});

test('Kontext Pro gets the reference as input_image', async () => {
  const reference = 'https://example.com/ref.png';
  await keyframe({ ...KF, imageModel: 'flux-kontext-pro', referenceImage: reference }).result;
  const p = rep().predictions[0]!;
  assert.equal(p.model, 'black-forest-labs/flux-kontext-pro');
  assert.equal(p.input.input_image, reference);
});

test('a reference for a model that takes none is refused before anything is paid', async () => {
  await assert.rejects(keyframe({ ...KF, referenceImage: 'https://example.com/ref.png' }).result, /takes no reference/);
  assert.equal(rep().predictionsCreated, 0);
});

test('a crash between create and heartbeat: the retry adopts the keyframe by key (1 prediction)', async () => {
  emu.configure({ replicate: { createAnswerDelayMs: 5000 } });
  const first = keyframe();
  first.result.catch(() => undefined);
  await waitUntil(() => rep().predictionsCreated === 1, 3000, 'the prediction to exist');
  first.h.cancel('WORKER_SHUTDOWN', { workerShutdown: true });
  await assert.rejects(first.result);
  emu.configure({ replicate: { createAnswerDelayMs: 0 } });
  const lost = first.h.heartbeats.at(-1) as { predictionId?: string } | undefined;
  assert.ok(!lost?.predictionId, 'the id never reached a heartbeat');

  const retry = keyframe(KF, { attempt: 2, heartbeatDetails: lost });
  const result = await retry.result;
  assert.equal(rep().predictionsCreated, 1, 'paid once');
  assert.equal(result.predictionId, rep().predictions[0]!.id);
  assert.ok(retry.h.messages().some((m) => m.includes('adopted prediction')));
});

test('a retry with the heartbeat resumes the same prediction', async () => {
  const first = await keyframe().result;
  const r = await keyframe(KF, { attempt: 2, heartbeatDetails: { predictionId: first.predictionId } }).result;
  assert.equal(r.predictionId, first.predictionId);
  assert.equal(rep().predictionsCreated, 1);
});

test("the model's failure is retried with the next try, bounded like clips", async () => {
  emu.configure({ replicate: { nextOutcome: ['failed'] } });
  const first = keyframe();
  await assert.rejects(first.result, (err: Error & { nonRetryable?: boolean }) => {
    assert.match(err.message, /failed/);
    assert.equal(err.nonRetryable, false);
    return true;
  });
  const r = await keyframe(KF, { attempt: 2, heartbeatDetails: first.h.heartbeats.at(-1) }).result;
  assert.equal(rep().predictionsCreated, 2, 'the failed try and the next one');
  assert.equal(keyOf(rep().predictions[1]!)?.try, 1);
  assert.equal(r.predictionId, rep().predictions[1]!.id);

  emu.configure({ replicate: { outcome: 'failed' } });
  const giveUp = keyframe({ ...KF, keyframeIndex: 3 }, { attempt: 3, heartbeatDetails: { modelFailures: 2 } });
  await assert.rejects(giveUp.result, (err: Error & { nonRetryable?: boolean }) => {
    assert.match(err.message, /giving up/);
    assert.equal(err.nonRetryable, true);
    return true;
  });
});

test('keyframe K and scene K never adopt each other', async () => {
  const c = await clip();
  const k = await keyframe(KF, { attempt: 2 }).result;
  assert.notEqual(k.predictionId, c.predictionId);
  assert.equal(rep().predictionsCreated, 2, 'the keyframe retry paid for its own image');
  const c2 = await clip(CLIP, { attempt: 2 });
  assert.equal(c2.predictionId, c.predictionId, "the clip retry adopted the clip, not keyframe 1's image");
  const k2 = await keyframe(KF, { attempt: 3 }).result;
  assert.equal(k2.predictionId, k.predictionId);
  assert.equal(rep().predictionsCreated, 2);
});

test("a prediction with scene K's clip key is not adopted as keyframe K, even with the keyframe's model and input", async () => {
  // Model and input alone would let it through: only the kind in the key keeps them apart.
  const replicate = emu.replicate();
  const spec = IMAGE_MODELS['flux-schnell'];
  const input = spec.buildInput({ prompt: KF.prompt, aspectRatio: KF.aspectRatio, seed: KF.seed });
  const clipKey = { namespace: 'default', workflowId: KF.workflowId, scene: 1, generation: 0, try: 0 };
  const impostor = await createPrediction(replicate, {
    model: spec.replicateModel,
    input,
    webhook: webhookFor(clipKey),
    deadlineSeconds: 60,
    signal: new AbortController().signal,
  });
  const k = await keyframe(KF, { attempt: 2, workflowNamespace: 'default' }).result;
  assert.notEqual(k.predictionId, impostor.id);
  assert.equal(rep().predictionsCreated, 2);
});

test('the keyframe kind is part of the key; clip keys and URLs are as before', () => {
  const base = { namespace: 'default', workflowId: 'w', scene: 2, generation: 0, try: 0 };
  const clipUrl = webhookFor(base);
  const kfUrl = webhookFor({ ...base, kind: 'keyframe' });
  assert.ok(!clipUrl.includes('vidflow_kind'), 'a clip key carries no kind (running workflows keep their keys)');
  const clipKey = keyOf({ webhook: clipUrl })!;
  const kfKey = keyOf({ webhook: kfUrl })!;
  assert.equal(kfKey.kind, 'keyframe');
  assert.equal(sameKey(clipKey, base), true);
  assert.equal(sameKey(clipKey, kfKey), false);
  assert.equal(keyOf({ webhook: `${clipUrl}&vidflow_kind=thumbnail` }), undefined, 'an unknown kind is nobody’s key');
});

test('the emulator validates FLUX input like Replicate: 422 naming the field', async () => {
  const replicate = emu.replicate();
  const create = (input: Record<string, unknown>) =>
    createPrediction(replicate, {
      model: 'black-forest-labs/flux-schnell',
      input,
      webhook: 'https://x.invalid/',
      deadlineSeconds: 60,
      signal: new AbortController().signal,
    });
  await assert.rejects(create({ prompt: 'p', aspect_ratio: '7:3' }), (err: Error & { response?: Response }) => {
    assert.equal(err.response?.status, 422);
    assert.match(err.message, /input\.aspect_ratio/);
    return true;
  });
  await assert.rejects(create({ prompt: 'p', input_image: 'https://x/y.png' }), /input_image is not allowed/);
  await assert.rejects(create({ aspect_ratio: '16:9' }), /prompt is required/);
  assert.equal(rep().predictionsCreated, 0);
  const kontext = await createPrediction(replicate, {
    model: 'black-forest-labs/flux-kontext-pro',
    input: { prompt: 'p', input_image: 'https://x/y.png', aspect_ratio: '9:16', output_format: 'png' },
    webhook: 'https://x.invalid/',
    deadlineSeconds: 60,
    signal: new AbortController().signal,
  });
  assert.equal(kontext.status, 'starting');
});

test('a cancellation the run asked for cancels the image at Replicate; a worker shutdown leaves it', async () => {
  emu.configure({ replicate: { processingMs: 10_000 } });
  const asked = keyframe();
  asked.result.catch(() => undefined);
  await waitUntil(() => rep().predictionsCreated === 1, 3000, 'the prediction to exist');
  await waitUntil(() => asked.h.heartbeats.some((b) => !!(b as { predictionId?: string }).predictionId), 3000, 'id');
  asked.h.cancel('CANCELLED', { cancelRequested: true });
  await assert.rejects(asked.result);
  await waitUntil(() => rep().cancels === 1, 3000, 'the cancel');
  assert.equal(rep().predictions[0]!.status, 'canceled');

  const stopped = keyframe({ ...KF, keyframeIndex: 2 });
  stopped.result.catch(() => undefined);
  await waitUntil(() => rep().predictionsCreated === 2, 3000, 'the second prediction');
  await waitUntil(() => stopped.h.heartbeats.some((b) => !!(b as { predictionId?: string }).predictionId), 3000, 'id');
  stopped.h.cancel('WORKER_SHUTDOWN', { workerShutdown: true });
  await assert.rejects(stopped.result);
  assert.equal(rep().cancels, 1, 'the shutdown left the prediction for the next attempt');
  assert.ok(['starting', 'processing'].includes(rep().predictions[1]!.status), 'still running');
});
