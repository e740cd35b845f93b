/**
 * The storyboard's disk-bound activities (#15) against the Replicate emulator with the real client:
 * a keyframe downloaded (an image, by prediction id), uploaded through the Files API byte for byte,
 * the contact sheet's size, and the emulator's Kling clip from a start image to an end image.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before } from 'node:test';
import { createKeyframeActivities } from '../src/activities/keyframes';
import { createKeyframeFileActivities } from '../src/activities/keyframe-files';
import { probeImage } from '../src/media/contact-sheet';
import { fileArg } from '../src/media/ffmpeg';
import { promptColor } from '../src/emulators/replicate-images';
import { createPrediction, getPrediction } from '../src/providers/replicate-predictions';
import type { DownloadKeyframeInput, GenerateKeyframeInput, KeyframeFile } from '../src/shared/activity-io';
import { harness, REPLICATE_TOKEN, useEmulators } from './helpers/activity-env';

const emu = useEmulators({
  eachTest: { replicate: { startingMs: 20, processingMs: 80, clipWidth: 320, clipHeight: 180, fps: 24 } },
});

let workDir = '';
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'vidflow-keyframes-'));
});
after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const WF = 'kf-files-run';
const files = () => createKeyframeFileActivities({ workDir, replicate: emu.replicate() });

async function makeKeyframe(index: number, count: number, prompt: string): Promise<KeyframeFile> {
  const gen = createKeyframeActivities({ replicate: emu.replicate(), pollIntervalMs: 20, maxPollIntervalMs: 40 });
  const input: GenerateKeyframeInput = {
    workflowId: WF,
    keyframeIndex: index,
    keyframeCount: count,
    prompt,
    imageModel: 'flux-schnell',
    aspectRatio: '16:9',
  };
  const made = await harness().run((i: GenerateKeyframeInput) => gen.generateKeyframe(i), input);
  const dl: DownloadKeyframeInput = {
    workflowId: WF,
    keyframeIndex: index,
    keyframeCount: count,
    url: made.outputUrl,
    predictionId: made.predictionId,
    outputSeenAt: new Date().toISOString(),
  };
  return harness().run((i: DownloadKeyframeInput) => files().downloadKeyframe(i), dl);
}

/** The image scaled to w×h, RGB. */
function pixels(file: string, w: number, h: number, extra: string[] = []): Buffer {
  return execFileSync('ffmpeg', [
    '-v',
    'error',
    ...extra,
    '-i',
    fileArg(file),
    '-vf',
    `scale=${w}:${h},format=rgb24`,
    '-f',
    'rawvideo',
    '-',
  ]);
}

/** Mean absolute difference per channel value, 0..255. */
function meanDiff(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

test('a keyframe downloads as a PNG named by its prediction, and uploads byte for byte', async () => {
  const kf = await makeKeyframe(1, 2, 'A red kite over green hills');
  assert.equal(kf.width, 320);
  assert.equal(kf.height, 180);
  assert.match(basename(kf.path), /^keyframe-1-[a-z0-9]+\.png$/);
  const info = await probeImage(kf.path);
  assert.equal(info.codec, 'png');
  // Its top-left corner is the prompt's colour (the emulator's deterministic image).
  const corner = pixels(kf.path, 1, 1, []);
  const want = promptColor('A red kite over green hills');
  assert.ok(
    [0, 1, 2].every((c) => Math.abs(corner[c]! - want[c]!) <= 40),
    `${[...corner].join(',')} ~ ${want.join(',')}`,
  );

  const up = await harness().run(
    (i: { workflowId: string; keyframeIndex: number; path: string }) => files().uploadKeyframe(i),
    {
      workflowId: WF,
      keyframeIndex: 1,
      path: kf.path,
    },
  );
  assert.equal(emu.state.replicate.filesUploaded, 1);
  const sha = createHash('sha256')
    .update(await readFile(kf.path))
    .digest('hex');
  assert.deepEqual(
    emu.state.replicate.files.map((f) => f.sha256),
    [sha],
  );
  assert.equal(up.url, `${emu.replicateBaseUrl}/files/${up.fileId}`);
  const res = await fetch(`${up.url}/download`, { headers: { authorization: `Bearer ${REPLICATE_TOKEN}` } });
  assert.equal(res.status, 200);
  assert.deepEqual(
    Buffer.from(await res.arrayBuffer()),
    await readFile(kf.path),
    'the uploaded bytes are the keyframe',
  );
  const meta = (await (await fetch(up.url, { headers: { authorization: `Bearer ${REPLICATE_TOKEN}` } })).json()) as {
    metadata: Record<string, string>;
  };
  assert.deepEqual(meta.metadata, { vidflow_workflow: WF, vidflow_keyframe: '1' });
});

test('a download that is not an image is refused; a retry finds the finished file', async () => {
  const kf = await makeKeyframe(2, 2, 'A blue door');
  const again = await harness().run((i: DownloadKeyframeInput) => files().downloadKeyframe(i), {
    workflowId: WF,
    keyframeIndex: 2,
    keyframeCount: 2,
    url: 'http://127.0.0.1:9/never-fetched.png', // the file exists: no request is made
    predictionId: basename(kf.path).replace(/^keyframe-2-|\.png$/g, ''),
  });
  assert.equal(again.path, kf.path);

  const clip = await createPrediction(emu.replicate(), {
    model: 'kwaivgi/kling-v2.5-turbo-pro',
    input: { prompt: 'not an image', duration: 5 },
    webhook: 'https://x.invalid/',
    deadlineSeconds: 60,
    signal: new AbortController().signal,
  });
  let url = '';
  for (let i = 0; i < 100 && !url; i++) {
    const p = await getPrediction(emu.replicate(), clip.id);
    if (p.status === 'succeeded') url = p.output as string;
    else await new Promise((r) => setTimeout(r, 30));
  }
  await assert.rejects(
    harness().run((i: DownloadKeyframeInput) => files().downloadKeyframe(i), {
      workflowId: WF,
      keyframeIndex: 3,
      keyframeCount: 3,
      url,
      predictionId: clip.id,
    }),
    /not an image/,
  );
});

test('the contact sheet puts 3 keyframes in a row and 5 in rows of 4', async () => {
  const kfs = [];
  for (let i = 1; i <= 5; i++) kfs.push(await makeKeyframe(i, 5, `Keyframe moment number ${i}`));
  const sheet3 = await harness().run((i: { workflowId: string; keyframes: string[] }) => files().makeContactSheet(i), {
    workflowId: WF,
    keyframes: kfs.slice(0, 3).map((k) => k.path),
  });
  const info3 = await probeImage(sheet3.path);
  assert.deepEqual([info3.width, info3.height, info3.codec], [960, 180, 'mjpeg']);
  // Cell 2's plain area is keyframe 2's colour (the cells are in order).
  const cells = pixels(sheet3.path, 3, 1);
  const want = promptColor('Keyframe moment number 2');
  assert.ok(
    [0, 1, 2].every((c) => Math.abs(cells[3 + c]! - want[c]!) <= 40),
    `${[...cells.subarray(3, 6)].join(',')} ~ ${want.join(',')}`,
  );

  const sheet5 = await harness().run((i: { workflowId: string; keyframes: string[] }) => files().makeContactSheet(i), {
    workflowId: WF,
    keyframes: kfs.map((k) => k.path),
  });
  const info5 = await probeImage(sheet5.path);
  assert.deepEqual([info5.width, info5.height], [1280, 360]);
  assert.notEqual(sheet5.path, sheet3.path, 'another set of keyframes, another sheet');

  await assert.rejects(
    harness().run((i: { workflowId: string; keyframes: string[] }) => files().makeContactSheet(i), {
      workflowId: WF,
      keyframes: [kfs[0]!.path, join(workDir, 'keyframe-9-gone.png')],
    }),
    (err: Error & { type?: string; nonRetryable?: boolean }) => {
      assert.match(err.message, /keyframe 2 \(keyframe-9-gone\.png\) is not on this worker/);
      assert.equal(err.nonRetryable, true);
      return true;
    },
  );
});

test("the emulator's Kling clip starts at start_image and ends at end_image (mean abs diff <= 6 per channel)", async (t) => {
  const a = await makeKeyframe(1, 2, 'Boundary one: a yellow field');
  const b = await makeKeyframe(2, 2, 'Boundary two: a purple sky');
  const up = files();
  const h = harness();
  const startUrl = (
    await h.run((i: { workflowId: string; keyframeIndex: number; path: string }) => up.uploadKeyframe(i), {
      workflowId: WF,
      keyframeIndex: 1,
      path: a.path,
    })
  ).url;
  // The end image straight from the image prediction's output URL: both kinds of URL work.
  const endKf = emu.state.replicate.predictions.find((p) => p.input.prompt === 'Boundary two: a purple sky')!;
  const endUrl = (endKf.output as string[])[0]!;
  const replicate = emu.replicate();
  const clip = await createPrediction(replicate, {
    model: 'kwaivgi/kling-v2.5-turbo-pro',
    input: { prompt: 'from one to the other', duration: 5, start_image: startUrl, end_image: endUrl },
    webhook: 'https://x.invalid/',
    deadlineSeconds: 60,
    signal: new AbortController().signal,
  });
  let out = '';
  for (let i = 0; i < 200 && !out; i++) {
    const p = await getPrediction(replicate, clip.id);
    if (p.status === 'succeeded') out = p.output as string;
    else await new Promise((r) => setTimeout(r, 30));
  }
  const recorded = emu.state.replicate.predictions.find((p) => p.id === clip.id)!;
  assert.equal(recorded.input.start_image, startUrl, 'the emulator records what it was given');
  assert.equal(recorded.input.end_image, endUrl);

  const res = await fetch(out);
  assert.equal(res.status, 200);
  const video = join(workDir, 'boundary.mp4');
  await writeFile(video, Buffer.from(await res.arrayBuffer()));
  const [w, h2] = [64, 36];
  const firstFrame = pixels(video, w, h2, []).subarray(0, w * h2 * 3);
  const tail = pixels(video, w, h2, ['-sseof', '-0.5']);
  const lastFrame = tail.subarray(tail.length - w * h2 * 3);
  const dFirst = meanDiff(firstFrame, pixels(a.path, w, h2));
  const dLast = meanDiff(lastFrame, pixels(b.path, w, h2));
  const dCross = meanDiff(firstFrame, pixels(b.path, w, h2));
  t.diagnostic(
    `mean abs diff: first ${dFirst.toFixed(2)}, last ${dLast.toFixed(2)}, start vs end ${dCross.toFixed(2)}`,
  );
  assert.ok(dFirst <= 6, `first frame vs start image: ${dFirst.toFixed(2)}`);
  assert.ok(dLast <= 6, `last frame vs end image: ${dLast.toFixed(2)}`);
  assert.ok(dCross > 20, `the two keyframes differ (${dCross.toFixed(2)}), so the checks above mean something`);
});
