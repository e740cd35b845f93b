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
import { PipelineInputSchema } from '../src/shared/schemas';
import type { ModelId } from '../src/shared/models';
import { useEmulators } from './helpers/activity-env';
import { startEmulatorProcess, startWorkerProcess, vidflow } from './helpers/processes';
import { resultOf, startRun, waitForStage } from './helpers/crash';
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

function runEnv(queue: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS ?? '',
    TEMPORAL_TASK_QUEUE: `${queue}-${process.pid}`,
    OPENAI_API_KEY: 'sk-test-models',
    OPENAI_BASE_URL: proc.openaiBaseUrl,
    REPLICATE_API_TOKEN: 'r8_test_models',
    REPLICATE_BASE_URL: proc.replicateBaseUrl,
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
    VIDFLOW_WORK_DIR: join(dir, 'work'),
    VIDFLOW_POLL_INTERVAL_MS: '200',
  };
}

test('multi-shot (kling-v3): one prediction holds every scene as a shot, no stitch of scenes, 15.0 s', async () => {
  const before = (await proc.state()).replicate.predictions.length;
  const r = await vidflow(
    ['run', 'a fox crosses a snowy field', '--model', 'kling-v3', '--multi-shot', '--yes', '--json'],
    runEnv('models-multishot'),
    300_000,
  );
  assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as {
    path: string;
    scenes: { index: number; predictionId: string }[];
  };
  const made = (await proc.state()).replicate.predictions.slice(before);
  assert.equal(made.length, 1, 'one clip for the whole plan');
  const input = made[0]!.input as Record<string, unknown>;
  assert.equal(input.duration, 15);
  assert.equal(input.mode, 'standard');
  const shots = JSON.parse(String(input.multi_prompt)) as { prompt: string; duration: number }[];
  assert.deepEqual(
    shots.map((s) => s.duration),
    [5, 5, 5],
  );
  assert.equal(new Set(shots.map((s) => s.prompt)).size, 3, 'each scene is its own shot');
  assert.equal(new Set(result.scenes.map((s) => s.predictionId)).size, 1, 'every scene is a shot of the one clip');
  const seconds = Number(
    execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', result.path], {
      encoding: 'utf8',
    }).trim(),
  );
  assert.ok(Math.abs(seconds - 15) < 0.05, `15.0 s, got ${seconds}`);
});

test('multi-shot is refused early where it cannot work', () => {
  const refused = (args: Record<string, unknown>) => {
    const r = PipelineInputSchema.safeParse({ prompt: 'p', multiShot: true, ...args });
    assert.equal(r.success, false, JSON.stringify(args));
    return r.error?.issues.map((i) => i.message).join('; ') ?? '';
  };
  assert.match(refused({}), /multi-shot needs kling-v3/);
  assert.match(refused({ model: 'kling-v3', sceneSeconds: 10 }), /30 s is not a clip length of kling-v3/);
  assert.match(refused({ model: 'kling-v3', storyboard: true }), /cannot start from storyboard keyframes/);
  assert.equal(PipelineInputSchema.safeParse({ prompt: 'p', model: 'kling-v3', multiShot: true }).success, true);
});

test('multi-shot in result review: a single scene cannot be redone (refused, nothing paid), approve finishes it', async () => {
  const env = runEnv('models-multishot-review');
  const worker = startWorkerProcess(env);
  try {
    await worker.ready;
    const id = await startRun(env, 'a heron lands on a pier', [
      '--model',
      'kling-v3',
      '--multi-shot',
      '--auto-approve',
      '--review-result',
    ]);
    await waitForStage(env, id, 'reviewing_result', 120_000);
    const before = (await proc.state()).replicate.predictionsCreated;
    const redo = await vidflow(['redo', id, '--scene', '2'], env);
    assert.notEqual(redo.code, 0);
    assert.match(redo.stderr, /multi-shot run renders every scene as one clip/);
    const approve = await vidflow(['approve', id], env);
    assert.equal(approve.code, 0, approve.stderr);
    await resultOf(env, id);
    assert.equal((await proc.state()).replicate.predictionsCreated, before, 'nothing more paid');
  } finally {
    await worker.kill('SIGTERM');
  }
});
