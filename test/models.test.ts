/**
 * The video-model table: every price-changing input is sent explicitly (Replicate's defaults would
 * otherwise pick the price), the run input is checked against the chosen model, and
 * `vidflow models --json` lists what the table holds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MODELS, estimateCostUsd, type ModelId, type ModelSpec } from '../src/shared/models';
import { PipelineInputSchema, describeZodError } from '../src/shared/schemas';
import { vidflow } from './helpers/processes';

const ids = Object.keys(MODELS) as ModelId[];

test('every model sends its price-changing inputs explicitly', () => {
  for (const id of ids) {
    const m: ModelSpec = MODELS[id];
    const args = { prompt: 'a fox', seconds: m.durations[0] ?? 5, aspectRatio: m.aspectRatios[0] ?? '16:9' };
    const off = m.buildInput(args);
    const on = m.buildInput({ ...args, audio: true });
    assert.equal(off.duration, args.seconds, `${id} sends duration`);
    if (m.audio.supported) {
      assert.equal(off.generate_audio, false, `${id} sends generate_audio: false`);
      assert.equal(on.generate_audio, true, `${id} sends generate_audio: true when asked`);
    } else assert.equal('generate_audio' in off, false, `${id} has no audio field`);
  }
  assert.equal(MODELS['kling-v3'].buildInput({ prompt: 'p', seconds: 5, aspectRatio: '16:9' }).mode, 'standard');
  assert.equal(estimateCostUsd('kling-v2.6', 2, 5), 0.7);
  assert.equal(estimateCostUsd('kling-v2.6', 2, 5, { audio: true }), 1.4);
  assert.equal(estimateCostUsd('kling-v2.5-turbo-pro', 3, 5), 1.05);
});

test('the run input is checked against the model: duration, audio, start image', () => {
  const bad = (input: Record<string, unknown>): string => {
    const r = PipelineInputSchema.safeParse({ prompt: 'a fox', ...input });
    assert.equal(r.success, false, JSON.stringify(input));
    return r.success ? '' : describeZodError(r.error);
  };
  assert.match(bad({ model: 'veo-3.1-fast', sceneSeconds: 5 }), /veo-3\.1-fast takes 4, 6 or 8 seconds per scene/);
  assert.match(bad({ model: 'kling-v2.5-turbo-pro', audio: true }), /audio: kling-v2\.5-turbo-pro makes no audio/);
  assert.match(bad({ model: 'wan-2.7', sceneSeconds: 5 }), /image-to-video/);
  const ok = PipelineInputSchema.parse({ prompt: 'a fox', model: 'kling-v3', sceneSeconds: 12, audio: true });
  assert.equal(ok.sceneSeconds, 12);
  assert.equal(PipelineInputSchema.parse({ prompt: 'a fox' }).audio, false);
});

test('vidflow models --json lists every model with its price at the settings', async () => {
  const r = await vidflow(['models', '--scenes', '2', '--seconds', '6', '--json'], { ...process.env });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { video: { id: string; priceUsd: number | null }[]; images: unknown[] };
  assert.deepEqual(
    doc.video.map((v) => v.id),
    ids,
  );
  assert.equal(doc.video.find((v) => v.id === 'veo-3.1-fast')?.priceUsd, 1.2);
  assert.equal(doc.video.find((v) => v.id === 'kling-v2.5-turbo-pro')?.priceUsd, null);
  assert.equal(doc.images.length, 2);
});
