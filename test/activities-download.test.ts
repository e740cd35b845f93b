/**
 * downloadClip against the Replicate emulator's file route: streamed and atomic (no partial file
 * is ever visible), progress heartbeats, ffprobe facts, idempotent retries, and the failure
 * catalogue for expired, broken, truncated and refused downloads, plus cancellation mid-stream.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/activity';
import { createDownloadActivities } from '../src/activities/download';
import type { DownloadDeps } from '../src/activities/download';
import { runWorkDir, sceneClipPath } from '../src/support/paths';
import { KLING_MODEL } from '../src/emulators';
import type { ClipFile, DownloadClipInput, DownloadHeartbeat } from '../src/shared/schemas';
import { harness, useEmulators, waitUntil } from './helpers/activity-env';
import { expectFailure } from './helpers/failures';

const emu = useEmulators({
  eachTest: { replicate: { startingMs: 10, processingMs: 40, clipWidth: 320, clipHeight: 180 } },
});
let root: string;
let workDir: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vidflow-download-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
let caseNo = 0;
beforeEach(async () => {
  workDir = join(root, `case-${++caseNo}`);
  await mkdir(workDir);
});

const WORKFLOW_ID = 'dl-test';

/** A succeeded prediction's output URL, as generateClip hands it on. */
async function readyClipUrl(): Promise<string> {
  const r = emu.replicate();
  const p = await r.predictions.create({ model: KLING_MODEL, input: { prompt: 'a green field', duration: 5 } });
  for (;;) {
    const now = await r.predictions.get(p.id);
    if (now.status === 'succeeded' && typeof now.output === 'string') return now.output;
    assert.ok(!['failed', 'canceled', 'aborted'].includes(now.status), `prediction ${now.status}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

function downloader(deps: Partial<DownloadDeps> = {}): (input: DownloadClipInput) => Promise<ClipFile> {
  const acts = createDownloadActivities({ workDir, ...deps });
  return (input) => acts.downloadClip(input);
}

/** The emulator's output URLs are `…/files/{prediction id}/output.mp4`. */
const predictionOf = (url: string): string => /\/files\/([a-z0-9]+)\//.exec(url)?.[1] ?? 'no-prediction';

/** The input as the workflow sends it since the clip files are named by prediction (no age: older runs). */
const input = (url: string, sceneIndex = 2): DownloadClipInput => ({
  workflowId: WORKFLOW_ID,
  sceneIndex,
  sceneCount: 3,
  url,
  predictionId: predictionOf(url),
});

/** Whatever is left in the run's folder (empty when the folder was never made). */
async function leftovers(): Promise<string[]> {
  return readdir(runWorkDir(workDir, WORKFLOW_ID)).catch(() => []);
}

test('streams to <workDir>/<id>/scene-N-<prediction>.mp4 atomically, heartbeats rising percent, returns ffprobe facts', async () => {
  const url = await readyClipUrl();
  // The test clips are a few KB; 8 KB/s in 400-byte slices gives a dozen progress heartbeats.
  emu.configure({ replicate: { downloadBytesPerSecond: 8_000 } });
  const h = harness();
  const clip = await h.run(downloader(), input(url));

  const dest = sceneClipPath(workDir, WORKFLOW_ID, 2, predictionOf(url));
  assert.equal(clip.path, dest);
  assert.equal(clip.path, join(workDir, WORKFLOW_ID, `scene-2-${predictionOf(url)}.mp4`));
  assert.deepEqual(await leftovers(), [`scene-2-${predictionOf(url)}.mp4`], 'no .part file left');
  assert.equal((await stat(dest)).size, clip.sizeBytes);
  assert.equal(clip.sizeBytes, emu.state.replicate.bytesServed);
  assert.ok(Math.abs(clip.durationSeconds - 5) < 0.1, `duration ${clip.durationSeconds}`);
  assert.equal(clip.width, 320);
  assert.equal(clip.height, 180);
  assert.ok(clip.fps > 0);

  const beats = h.heartbeats as DownloadHeartbeat[];
  assert.ok(beats.length >= 3, `several progress heartbeats (${beats.length})`);
  for (const b of beats) assert.equal(b.totalBytes, clip.sizeBytes);
  const percents = beats.map((b) => b.percent ?? -1);
  for (let i = 1; i < percents.length; i++) assert.ok(percents[i]! >= percents[i - 1]!, 'percent never falls');
  assert.ok(percents[0]! < 100);
  assert.equal(percents.at(-1), 100);
  assert.equal(beats.at(-1)?.receivedBytes, clip.sizeBytes);
});

test('a second call returns the finished file without downloading again', async () => {
  const url = await readyClipUrl();
  const first = await harness().run(downloader(), input(url));
  const downloads = emu.state.replicate.downloads;
  const h = harness({ attempt: 2 });
  const again = await h.run(downloader(), input(url));
  assert.deepEqual(again, first);
  assert.equal(emu.state.replicate.downloads, downloads, 'no request for the file');
  assert.ok(h.messages().some((m) => m.includes('already downloaded')));
});

test('an unplayable file left at the destination is replaced by a fresh download', async () => {
  const url = await readyClipUrl();
  const dest = sceneClipPath(workDir, WORKFLOW_ID, 2, predictionOf(url));
  await mkdir(runWorkDir(workDir, WORKFLOW_ID), { recursive: true });
  await writeFile(dest, 'not a video');
  const clip = await harness().run(downloader(), input(url));
  assert.ok(clip.sizeBytes > 1000);
  assert.equal(emu.state.replicate.downloadsCompleted, 1);
});

test('404 (notFound fault): OutputExpired, non-retryable, no file', async () => {
  const url = await readyClipUrl();
  emu.configure({ replicate: { nextDownload: ['notFound'] } });
  const err = await expectFailure(harness().run(downloader(), input(url)), 'OutputExpired');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /404/);
  assert.deepEqual(await leftovers(), []);
});

test('an output past its retention (outputTtlMs): OutputExpired', async () => {
  emu.configure({ replicate: { outputTtlMs: 30 } });
  const url = await readyClipUrl();
  await new Promise((r) => setTimeout(r, 80));
  const err = await expectFailure(harness().run(downloader(), input(url)), 'OutputExpired');
  assert.equal(err.nonRetryable, true);
});

test('broken bytes (HTML, not MP4): InvalidClip, non-retryable, no file left', async () => {
  const url = await readyClipUrl();
  emu.configure({ replicate: { nextDownload: ['broken'] } });
  const err = await expectFailure(harness().run(downloader(), input(url)), 'InvalidClip');
  assert.equal(err.nonRetryable, true);
  assert.deepEqual(await leftovers(), []);
});

test('truncated body: DownloadFailed, retryable, no file left; the retry succeeds', async () => {
  const url = await readyClipUrl();
  emu.configure({ replicate: { nextDownload: ['truncated'] } });
  const err = await expectFailure(harness().run(downloader(), input(url)), 'DownloadFailed');
  assert.equal(err.nonRetryable, false);
  assert.deepEqual(await leftovers(), []);
  const clip = await harness({ attempt: 2 }).run(downloader(), input(url));
  assert.ok(Math.abs(clip.durationSeconds - 5) < 0.1);
});

for (const fault of ['serverError', 'drop'] as const) {
  test(`${fault} on the file: DownloadFailed, retryable`, async () => {
    const url = await readyClipUrl();
    emu.configure({ replicate: { nextDownload: [fault] } });
    const err = await expectFailure(harness().run(downloader(), input(url)), 'DownloadFailed');
    assert.equal(err.nonRetryable, false);
    assert.deepEqual(await leftovers(), []);
  });
}

for (const url of ['http://example.com/clip.mp4', 'http://10.0.0.7/clip.mp4', 'file:///etc/passwd', 'not a url']) {
  test(`refuses ${url} before fetching: DownloadRefused`, async () => {
    let fetched = false;
    const spy: typeof fetch = () => {
      fetched = true;
      return Promise.reject(new Error('must not fetch'));
    };
    const err = await expectFailure(harness().run(downloader({ fetch: spy }), input(url)), 'DownloadRefused');
    assert.equal(err.nonRetryable, true);
    assert.equal(fetched, false);
  });
}

test('a body over maxBytes: DownloadRefused, no file', async () => {
  const url = await readyClipUrl();
  const err = await expectFailure(harness().run(downloader({ maxBytes: 1000 }), input(url)), 'DownloadRefused');
  assert.match(err.message, /cap/);
  assert.deepEqual(await leftovers(), []);
});

test('cancellation mid-download rejects as a cancellation and leaves no partial file', async () => {
  const url = await readyClipUrl();
  emu.configure({ replicate: { downloadBytesPerSecond: 2_000 } });
  const h = harness();
  const p = h.run(downloader(), input(url));
  p.catch(() => undefined); // checked below
  await waitUntil(() => h.heartbeats.length >= 2, 3000, 'progress');
  const before = h.heartbeats.at(-1) as DownloadHeartbeat;
  assert.ok((before.percent ?? 100) < 100, 'still downloading when cancelled');
  h.cancel('CANCELLED', { cancelRequested: true });
  await assert.rejects(
    p,
    (err: unknown) => err instanceof CancelledFailure || (err as Error).name === 'AbortError',
    'reported as a cancellation (CancelledFailure or AbortError), not a failure',
  );
  assert.deepEqual(await leftovers(), []);
});
