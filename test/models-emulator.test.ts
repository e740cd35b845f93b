/**
 * The video models of the table against the emulated Replicate, which checks each model's own input
 * schema the way Replicate does (src/emulators/replicate-models.ts, written from the models' pages,
 * not from our table): what vidflow sends is accepted for every model and setting it allows, a bad
 * input is a 422 naming the field, mapped to a final ProviderRejected; and a clip with native audio
 * keeps its sound through the stitch, end to end (`vidflow run --model kling-v2.6 --audio`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromReplicateError } from '../src/providers/errors';
import { MODELS } from '../src/shared/models';
import type { ModelId } from '../src/shared/models';
import { useEmulators } from './helpers/activity-env';
import { startEmulatorProcess, vidflow } from './helpers/processes';
import type { EmulatorProcess } from './helpers/processes';

const emu = useEmulators({ eachTest: { replicate: { startingMs: 50, processingMs: 200 } } });
const ids = Object.keys(MODELS) as ModelId[];

test('what vidflow sends is accepted by every model, at each of its durations, with and without audio', async () => {
  const replicate = emu.replicate();
  let created = 0;
  for (const id of ids) {
    const spec = MODELS[id];
    for (const seconds of [spec.durations[0], spec.durations.at(-1)!]) {
      for (const audio of spec.audio.supported ? [false, true] : [false]) {
        const input: Record<string, unknown> = spec.buildInput({
          prompt: `a ${id} test`,
          seconds,
          aspectRatio: spec.aspectRatios[0],
          audio,
          ...(spec.frames.start ? { startImage: 'https://example.com/first.png' } : {}),
        });
        const [owner, name] = spec.replicateModel.split('/') as [string, string];
        const p = await replicate.predictions.create({ model: `${owner}/${name}`, input });
        assert.equal(p.model, spec.replicateModel);
        if (spec.audio.supported) assert.equal(input.generate_audio, audio, `${id}: generate_audio always sent`);
        created++;
      }
    }
  }
  assert.equal(emu.state.replicate.predictionsCreated, created);
});

test('a bad input is a 422 naming the field, and a final ProviderRejected: nothing is created', async () => {
  const replicate = emu.replicate();
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['google/veo-3.1-fast', { prompt: 'p', duration: 5 }, /input\.duration/],
    ['kwaivgi/kling-v3-video', { prompt: 'p', mode: 'ultra' }, /input\.mode/],
    ['minimax/hailuo-2.3', { prompt: 'p', aspect_ratio: '16:9' }, /aspect_ratio is not allowed/],
    ['kwaivgi/kling-v2.6', { prompt: 'p', end_image: 'https://example.com/x.png' }, /end_image is not allowed/],
    ['wan-video/wan-2.7-i2v', { prompt: 'p' }, /first_frame is required/],
  ];
  for (const [model, input, field] of cases) {
    const err = await replicate.predictions.create({ model: model, input }).then(
      () => assert.fail(`${model} should refuse ${JSON.stringify(input)}`),
      (e: unknown) => e,
    );
    const mapped = fromReplicateError(err);
    assert.ok(mapped, `${model}: mapped to the catalogue`);
    assert.equal(mapped.type, 'ProviderRejected');
    assert.equal(mapped.nonRetryable, true);
    assert.match(mapped.message, /422/);
    assert.match(mapped.message, field, `${model}: ${mapped.message}`);
  }
  assert.equal(emu.state.replicate.predictionsCreated, 0);
});

let proc: EmulatorProcess;
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-models-'));
  proc = await startEmulatorProcess({
    replicate: { startingMs: 200, processingMs: 800, clipWidth: 320, clipHeight: 180 },
  });
});
after(async () => {
  await proc?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('vidflow run --model kling-v2.6 --audio: the clips are made with sound, and the video keeps it', async () => {
  const address = process.env.TEMPORAL_TEST_ADDRESS ?? '';
  assert.ok(address, 'run through scripts/test.sh');
  const r = await vidflow(
    ['run', 'waves on a pebble beach', '--model', 'kling-v2.6', '--audio', '--yes', '--json'],
    {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: `models-audio-${process.pid}`,
      OPENAI_API_KEY: 'sk-test-models',
      OPENAI_BASE_URL: proc.openaiBaseUrl,
      REPLICATE_API_TOKEN: 'r8_test_models',
      REPLICATE_BASE_URL: proc.replicateBaseUrl,
      VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
      VIDFLOW_WORK_DIR: join(dir, 'work'),
      VIDFLOW_POLL_INTERVAL_MS: '200',
    },
    300_000,
  );
  assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as { path: string };
  const streams = execFileSync(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=codec_type,duration', '-of', 'csv=p=0', result.path],
    { encoding: 'utf8' },
  );
  assert.match(streams, /^audio,/m, `the video has an audio stream:\n${streams}`);
  const state = await proc.state();
  const inputs = state.replicate.predictions.map((p) => p.input as Record<string, unknown>);
  assert.equal(inputs.length, 3);
  assert.ok(inputs.every((i) => i.generate_audio === true));
});
