/**
 * downloadClip blames the clip (and so makes the workflow pay for a new one) only for what is the
 * clip's fault. Against the Replicate emulator's file route, with the real activity:
 * - files are named by the prediction, so a second clip of a scene is never mistaken for the first;
 * - a 404/410 is an expiry only when the URL worked before or the output is about an hour old;
 *   a fresh URL answering 404, and any 403, are retried instead;
 * - ffprobe missing or unable to start is the worker's trouble (retried), not an invalid clip.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDownloadActivities } from '../src/activities/download';
import type { DownloadDeps } from '../src/activities/download';
import { KLING_MODEL } from '../src/emulators';
import { FfmpegMissingError, FfmpegStartError, isSpawnFailure, probe } from '../src/media/ffmpeg';
import type { ClipFile, DownloadClipInput } from '../src/shared/schemas';
import { runWorkDir } from '../src/support/paths';
import { expiryEvidence } from '../src/support/output-expiry';
import { harness, useEmulators } from './helpers/activity-env';
import { expectFailure } from './helpers/failures';

const emu = useEmulators({
  eachTest: { replicate: { startingMs: 10, processingMs: 40, clipWidth: 320, clipHeight: 180 } },
});
let root: string;
let workDir: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vidflow-download-blame-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
let caseNo = 0;
beforeEach(async () => {
  workDir = join(root, `case-${++caseNo}`);
  await mkdir(workDir);
});

const WORKFLOW_ID = 'blame-test';

/** A succeeded prediction: its id and output URL, as generateClip hands them on. */
async function readyClip(prompt = 'a green field'): Promise<{ id: string; url: string }> {
  const r = emu.replicate();
  const p = await r.predictions.create({ model: KLING_MODEL, input: { prompt, duration: 5 } });
  for (;;) {
    const now = await r.predictions.get(p.id);
    if (now.status === 'succeeded' && typeof now.output === 'string') return { id: p.id, url: now.output };
    assert.ok(!['failed', 'canceled', 'aborted'].includes(now.status), `prediction ${now.status}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

function downloader(deps: Partial<DownloadDeps> = {}): (input: DownloadClipInput) => Promise<ClipFile> {
  const acts = createDownloadActivities({ workDir, ...deps });
  return (input) => acts.downloadClip(input);
}

/** The input as the workflow sends it: prediction id, when the URL arrived (default: just now). */
const input = (clip: { id: string; url: string }, extra: Partial<DownloadClipInput> = {}): DownloadClipInput => ({
  workflowId: WORKFLOW_ID,
  sceneIndex: 3,
  sceneCount: 3,
  url: clip.url,
  predictionId: clip.id,
  outputSeenAt: new Date().toISOString(),
  ...extra,
});

const leftovers = (): Promise<string[]> => readdir(runWorkDir(workDir, WORKFLOW_ID)).catch(() => []);

// First in the file on purpose: ffmpeg's lookup is kept once it succeeds, and a failed one is not.
test('ffprobe missing on the worker: MediaToolUnavailable, retryable (not InvalidClip); the retry with ffprobe succeeds', async () => {
  const clip = await readyClip();
  const saved = process.env.FFPROBE_PATH;
  process.env.FFPROBE_PATH = join(root, 'no-such-ffprobe');
  try {
    const err = await expectFailure(harness().run(downloader(), input(clip)), 'MediaToolUnavailable');
    assert.equal(err.nonRetryable, false);
    assert.match(err.message, /ffprobe was not found/);
  } finally {
    if (saved === undefined) delete process.env.FFPROBE_PATH;
    else process.env.FFPROBE_PATH = saved;
  }
  const ok = await harness({ attempt: 2 }).run(downloader(), input(clip));
  assert.ok(Math.abs(ok.durationSeconds - 5) < 0.1);
});

test('ffprobe that cannot be started (spawn EAGAIN): MediaToolUnavailable, retryable, no file left', async () => {
  // The real shape of a spawn failure, from Node itself, is what probe() tells apart.
  const child = spawn(join(root, 'no-such-binary'));
  const [spawnError] = (await once(child, 'error')) as [Error];
  assert.ok(isSpawnFailure(spawnError), 'a real spawn failure is recognised');
  assert.ok(!isSpawnFailure(new Error('ffprobe exited with code 1')), 'ffprobe refusing a file is not one');

  const clip = await readyClip();
  const eagain = async (): Promise<never> => {
    throw new FfmpegStartError('ffprobe could not be started: EAGAIN', 'EAGAIN');
  };
  const err = await expectFailure(harness().run(downloader({ probe: eagain }), input(clip)), 'MediaToolUnavailable');
  assert.equal(err.nonRetryable, false);
  assert.match(err.message, /EAGAIN/);
  assert.deepEqual(await leftovers(), [], 'the temporary file is removed; the retry downloads again');
  const missing = async (): Promise<never> => {
    throw new FfmpegMissingError('ffprobe was not found on PATH');
  };
  await expectFailure(harness().run(downloader({ probe: missing }), input(clip)), 'MediaToolUnavailable');
});

test('a second clip of the same scene (a redo) is downloaded to its own file, not taken for the first', async () => {
  const first = await readyClip('a blue sea');
  const second = await readyClip('a yellow desert');
  const a = await harness().run(downloader(), input(first));
  const b = await harness().run(downloader(), input(second));
  assert.notEqual(a.path, b.path);
  assert.equal(emu.state.replicate.downloadsCompleted, 2, 'the redo was downloaded, not "already downloaded"');
  assert.deepEqual((await leftovers()).sort(), [`scene-3-${first.id}.mp4`, `scene-3-${second.id}.mp4`].sort());
  // Without a prediction id (runs from older code), the URL names it: still two files.
  const { predictionId: _a, ...oldA } = input(first);
  const { predictionId: _b, ...oldB } = input(second);
  const oa = await harness().run(downloader(), oldA);
  const ob = await harness().run(downloader(), oldB);
  assert.notEqual(oa.path, ob.path);
});

test('a fresh URL that never worked answering 404: DownloadFailed, retryable (not an expiry); the retry succeeds', async () => {
  const clip = await readyClip();
  emu.configure({ replicate: { nextDownload: ['notFound'] } });
  const err = await expectFailure(harness().run(downloader(), input(clip)), 'DownloadFailed');
  assert.equal(err.nonRetryable, false);
  assert.match(err.message, /answered 404, but the output is \d+ s old and was never downloaded: not an expiry/);
  const ok = await harness({ attempt: 2 }).run(downloader(), input(clip));
  assert.ok(ok.sizeBytes > 1000);
});

test('404 for a URL that worked (before, or for an earlier attempt) or an output past the hour: OutputExpired', async () => {
  const clip = await readyClip();
  const cases: [string, Partial<DownloadClipInput>, Record<string, unknown> | undefined, RegExp][] = [
    ['downloaded before by the run', { downloadedBefore: true }, undefined, /this run downloaded it before/],
    ['an earlier attempt received bytes', {}, { receivedBytes: 4096 }, /an earlier attempt received 4096 bytes/],
    ['61 min old', { outputSeenAt: new Date(Date.now() - 61 * 60_000).toISOString() }, undefined, /1 h 1 min old/],
  ];
  for (const [what, extra, heartbeatDetails, reason] of cases) {
    emu.configure({ replicate: { nextDownload: ['notFound'] } });
    const h = harness(heartbeatDetails ? { attempt: 2, heartbeatDetails } : {});
    const err = await expectFailure(h.run(downloader(), input(clip, extra)), 'OutputExpired');
    assert.equal(err.nonRetryable, true, what);
    assert.match(err.message, reason, what);
  }
});

test('403 is never an expiry: DownloadFailed, retryable, also for runs from older code', async () => {
  // The emulator has no 403 fault: a file host of our own that refuses everything.
  const server = createServer((_req, res) => {
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('Forbidden by proxy policy');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/p403/output.mp4`;
  try {
    for (const clipInput of [
      input({ id: 'p403', url }),
      { workflowId: WORKFLOW_ID, sceneIndex: 1, sceneCount: 3, url },
    ]) {
      const err = await expectFailure(harness().run(downloader(), clipInput), 'DownloadFailed');
      assert.equal(err.nonRetryable, false);
      assert.match(err.message, /403 Forbidden .*retrying; the clip is not generated again/);
    }
  } finally {
    server.close();
  }
});

test('expiryEvidence: the rules in one table', () => {
  const now = Date.parse('2030-01-01T12:00:00Z');
  const seen = (minAgo: number) => new Date(now - minAgo * 60_000).toISOString();
  assert.equal(expiryEvidence({ nowMs: now, outputSeenAt: seen(1) }), undefined);
  assert.equal(expiryEvidence({ nowMs: now, outputSeenAt: seen(54) }), undefined);
  assert.match(expiryEvidence({ nowMs: now, outputSeenAt: seen(56) }) ?? '', /56 min old/);
  assert.match(expiryEvidence({ nowMs: now, outputSeenAt: seen(1), downloadedBefore: true }) ?? '', /before/);
  assert.match(expiryEvidence({ nowMs: now, outputSeenAt: seen(1), receivedBefore: 1 }) ?? '', /received 1 bytes/);
  assert.match(expiryEvidence({ nowMs: now }) ?? '', /unknown age/, 'older runs: as before');
  assert.equal(expiryEvidence({ nowMs: now, outputSeenAt: seen(1), receivedBefore: 0 }), undefined);
});

test('probe still calls an unplayable file unplayable (ProbeError, not a tool failure)', async () => {
  const file = join(workDir, 'not-a-video.mp4');
  await mkdir(workDir, { recursive: true });
  await writeFile(file, '<html>not a video</html>');
  await assert.rejects(probe(file), (err: Error) => err.name === 'ProbeError');
});
