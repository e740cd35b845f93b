/**
 * Storyboard runs end to end with real parts: the Temporal dev server, the `vidflow` CLI (its own
 * in-process worker for `run`, a `vidflow worker` process for the crash), real generate, keyframe,
 * upload, download and stitch activities, and the emulators in their own process, counted there.
 *
 * What "the scenes join up" means here: the emulated Kling renders a clip that starts on its
 * `start_image` and ends on its `end_image`, so the final video's frame at each scene boundary must
 * equal that boundary's keyframe. Tolerance: mean absolute difference per channel ≤ 8 (of 255) at
 * 64x36, after x264 twice (the emulator's clip and the stitch); two different keyframes of the
 * emulator differ by about 45.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLUX_KONTEXT_PRO_MODEL, FLUX_SCHNELL_MODEL } from '../src/emulators/replicate-images';
import type { PredictionJson } from '../src/emulators/replicate';
import { emulatorState, resultOf, startRun, waitForEmulator, waitForStage } from './helpers/crash';
import { startEmulatorProcess, startWorkerProcess, vidflow } from './helpers/processes';
import type { EmulatorProcess, WorkerProcess } from './helpers/processes';
import { durationOf, rawFrame } from './helpers/video';
import { makeTestClip } from '../src/media/testclip';

const FAST = { startingMs: 200, processingMs: 800, clipWidth: 320, clipHeight: 180 };
const TOLERANCE = 8;
const KLING = 'kwaivgi/kling-v2.5-turbo-pro';

let emu: EmulatorProcess;
let dir: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  const address = process.env.TEMPORAL_TEST_ADDRESS ?? '';
  assert.ok(address, 'run through scripts/test.sh (it starts the dev server and sets TEMPORAL_TEST_ADDRESS)');
  dir = await mkdtemp(join(tmpdir(), 'vidflow-storyboard-'));
  emu = await startEmulatorProcess({ replicate: FAST });
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: address,
    OPENAI_API_KEY: 'sk-test-storyboard',
    OPENAI_BASE_URL: emu.openaiBaseUrl,
    REPLICATE_API_TOKEN: 'r8_test_storyboard',
    REPLICATE_BASE_URL: emu.replicateBaseUrl,
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
    VIDFLOW_WORK_DIR: join(dir, 'work'),
    VIDFLOW_POLL_INTERVAL_MS: '200',
  };
});

after(async () => {
  await emu?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Keyed {
  workflowId: string;
  kind?: string;
  index: number;
}

/** The run, kind and index a prediction was made for, from the key in its webhook URL. */
function keyOf(p: PredictionJson): Keyed | undefined {
  if (!p.webhook) return undefined;
  const q = new URL(p.webhook).searchParams;
  const workflowId = q.get('vidflow_workflow');
  const scene = Number(q.get('vidflow_scene'));
  if (!workflowId || !Number.isInteger(scene)) return undefined;
  return { workflowId, index: scene, ...(q.get('vidflow_kind') ? { kind: q.get('vidflow_kind')! } : {}) };
}

async function predictionsOf(workflowId: string) {
  const all = (await emulatorState(emu)).replicate.predictions;
  const ours = all.filter((p) => keyOf(p)?.workflowId === workflowId);
  return {
    images: ours.filter((p) => p.model === FLUX_SCHNELL_MODEL),
    videos: ours.filter((p) => p.model === KLING),
    all: ours,
  };
}

/** The image a keyframe prediction made, fetched from the emulator (within its hour) into a file. */
async function keyframeImage(p: PredictionJson, name: string): Promise<{ path: string; sha256: string }> {
  const url = Array.isArray(p.output) ? p.output[0] : p.output;
  assert.ok(url, `keyframe prediction ${p.id} has an output`);
  const bytes = Buffer.from(await (await fetch(url)).arrayBuffer());
  const path = join(dir, `${name}.png`);
  await writeFile(path, bytes);
  return { path, sha256: createHash('sha256').update(bytes).digest('hex') };
}

const small = (file: string, t: number) => rawFrame(file, t, 'scale=64:36,format=rgb24');

function meanAbsDiff(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** Keyframe K's prediction (the latest one made for K). */
function keyframePrediction(images: PredictionJson[], k: number): PredictionJson {
  const made = images.filter((p) => keyOf(p)?.index === k);
  const last = made.at(-1);
  assert.ok(last, `a prediction for keyframe ${k}`);
  return last;
}

/**
 * Each video prediction took keyframe i as start and i+1 as end (the uploaded file's bytes are the
 * keyframe's bytes), and the video's frame at each boundary equals its keyframe.
 */
async function assertJoinsUp(workflowId: string, video: string): Promise<void> {
  const { images, videos } = await predictionsOf(workflowId);
  const files = (await emulatorState(emu)).replicate.files;
  const shaOfUrl = (u: unknown) => {
    const id = String(u).split('/files/')[1]?.split('/')[0];
    return files.find((f) => f.id === id)?.sha256;
  };
  const kf = await Promise.all(
    [1, 2, 3, 4].map((k) => keyframeImage(keyframePrediction(images, k), `${workflowId}-kf${k}`)),
  );
  for (const scene of [1, 2, 3]) {
    const made = videos.filter((p) => keyOf(p)?.index === scene);
    const p = made.at(-1)!;
    assert.equal(shaOfUrl(p.input.start_image), kf[scene - 1]!.sha256, `scene ${scene} starts on keyframe ${scene}`);
    assert.equal(shaOfUrl(p.input.end_image), kf[scene]!.sha256, `scene ${scene} ends on keyframe ${scene + 1}`);
  }
  // Boundaries: 0 s, 5 s (both sides), 10 s (both sides), the end.
  const checks: [number, number][] = [
    [0.02, 1],
    [4.97, 2],
    [5.03, 2],
    [9.97, 3],
    [10.03, 3],
    [14.95, 4],
  ];
  for (const [t, k] of checks) {
    const d = meanAbsDiff(small(video, t), small(kf[k - 1]!.path, 0));
    assert.ok(d <= TOLERANCE, `frame at ${t} s vs keyframe ${k}: mean abs diff ${d.toFixed(2)} > ${TOLERANCE}`);
  }
  const apart = meanAbsDiff(small(kf[0]!.path, 0), small(kf[1]!.path, 0));
  assert.ok(apart > 3 * TOLERANCE, `keyframes 1 and 2 are told apart (${apart.toFixed(1)})`);
}

test('vidflow run --storyboard --yes: 15.0 s of cuts whose boundaries are their keyframes, N+1 images and N videos', async () => {
  const id = `storyboard-run-${Date.now()}`;
  const r = await vidflow(
    ['run', 'a lighthouse keeper walks to the lamp at dusk', '--storyboard', '--yes', '--json', '--id', id],
    { ...env, TEMPORAL_TASK_QUEUE: `storyboard-run-${process.pid}` },
    300_000,
  );
  assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as { path: string; durationSeconds: number };
  const seconds = durationOf(result.path);
  assert.ok(Math.abs(seconds - 15) < 0.05, `15.0 s of hard cuts, got ${seconds}`);
  const { images, videos, all } = await predictionsOf(id);
  assert.equal(images.length, 4, 'N+1 keyframes');
  assert.equal(videos.length, 3, 'N clips');
  assert.equal(all.length, 7);
  await assertJoinsUp(id, result.path);
});

test('redo --keyframe 2 after the video: one new image, exactly scenes 1 and 2 again, and the video joins up', async () => {
  const worker = startWorkerProcess({ ...env, TEMPORAL_TASK_QUEUE: `storyboard-redo-${process.pid}` });
  const wenv = { ...env, TEMPORAL_TASK_QUEUE: `storyboard-redo-${process.pid}` };
  try {
    await worker.ready;
    const id = await startRun(wenv, 'a paper boat drifts down a rainy street', [
      '--storyboard',
      '--auto-approve',
      '--review-result',
    ]);
    await waitForStage(wenv, id, 'reviewing_result', 180_000);
    const before = await predictionsOf(id);
    assert.deepEqual([before.images.length, before.videos.length], [4, 3]);
    const redo = await vidflow(['redo', id, '--keyframe', '2', '--prompt', 'the boat reaches a glowing drain'], wenv);
    assert.equal(redo.code, 0, redo.stderr);
    // The stage is still reviewing_result right after the update: wait for the new predictions first.
    await waitForEmulator(
      emu,
      (s) => s.replicate.predictions.filter((p) => keyOf(p)?.workflowId === id).length >= 9,
      'one keyframe and two clips made again',
      180_000,
    );
    await waitForStage(wenv, id, 'reviewing_result', 180_000);
    const approve = await vidflow(['approve', id], wenv);
    assert.equal(approve.code, 0, approve.stderr);
    const result = await resultOf(wenv, id);
    const after = await predictionsOf(id);
    assert.equal(after.images.length, 5, 'one new keyframe');
    assert.equal(after.videos.length, 5, 'two new clips');
    const redone = after.videos
      .slice(3)
      .map((p) => keyOf(p)?.index)
      .sort();
    assert.deepEqual(redone, [1, 2], 'the scenes that touch keyframe 2, and no other');
    assert.ok(Math.abs(durationOf(result.path) - 15) < 0.05);
    await assertJoinsUp(id, result.path);
  } finally {
    await worker.kill('SIGTERM');
  }
});

test('a worker killed while keyframes generate: restarted, each keyframe is paid once', async () => {
  const queue = `storyboard-crash-${process.pid}`;
  const wenv = { ...env, TEMPORAL_TASK_QUEUE: queue };
  await emu.configure({ replicate: { processingMs: 4000 } });
  let worker: WorkerProcess = startWorkerProcess(wenv);
  try {
    await worker.ready;
    const id = await startRun(wenv, 'a red kite over a grey sea', ['--storyboard', '--auto-approve']);
    await waitForEmulator(
      emu,
      (s) => s.replicate.predictions.filter((p) => keyOf(p)?.workflowId === id).length >= 4,
      'four keyframe predictions created',
    );
    await worker.kill('SIGKILL');
    await emu.configure({ replicate: { processingMs: FAST.processingMs } });
    worker = startWorkerProcess(wenv);
    await worker.ready;
    const result = await resultOf(wenv, id);
    const { images, videos } = await predictionsOf(id);
    assert.equal(images.length, 4, `keyframe predictions: ${images.map((p) => keyOf(p)?.index).join(',')}`);
    assert.equal(videos.length, 3);
    assert.ok(Math.abs(durationOf(result.path) - 15) < 0.05);
  } finally {
    await worker.kill('SIGTERM');
    await emu.configure({ replicate: { processingMs: FAST.processingMs } });
  }
});

test('--reference with a local file: uploaded once to the Files API, and every keyframe is steered by it (FLUX Kontext Pro)', async () => {
  // A still as the reference: the first frame of a test card, as a PNG.
  const card = await makeTestClip({ path: join(dir, 'card.mp4'), seconds: 1, width: 320, height: 180, scene: 4 });
  const ref = join(dir, 'reference.png');
  await writeFile(ref, rawFrameAsPng(card));
  const sha = createHash('sha256')
    .update(await readFile(ref))
    .digest('hex');
  const id = `storyboard-ref-${Date.now()}`;
  const r = await vidflow(
    ['run', 'a toy robot explores a garden', '--storyboard', '--reference', ref, '--yes', '--json', '--id', id],
    { ...env, TEMPORAL_TASK_QUEUE: `storyboard-ref-${process.pid}` },
    300_000,
  );
  assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
  const state = await emulatorState(emu);
  const uploaded = state.replicate.files.find((f) => f.sha256 === sha);
  assert.ok(uploaded, 'the reference file was uploaded as it is');
  const all = state.replicate.predictions;
  const images = all.filter((p) => keyOf(p)?.workflowId === id && p.model === FLUX_KONTEXT_PRO_MODEL);
  assert.equal(images.length, 4);
  for (const p of images) assert.match(String(p.input.input_image), new RegExp(`/files/${uploaded.id}`));
});

/** One frame of a video as PNG bytes. */
function rawFrameAsPng(video: string): Buffer {
  return execFileSync('ffmpeg', ['-v', 'error', '-i', video, '-frames:v', '1', '-f', 'image2', '-c:v', 'png', '-']);
}
