/**
 * "No clip is ever held in Node's memory", measured: a real ≥ 150 MB MP4 is downloaded by the
 * download activity from a local HTTP server and then stitched by stitchClips, while this process's
 * RSS and ArrayBuffer memory are sampled (every 20 ms, and on every download chunk's heartbeat).
 * Their peak increase must stay far below one clip's size. A control case holds the same file in
 * memory (the way a buffering implementation would) and shows the probe then sees the whole file,
 * so the bound is one that a buffering download or stitch would fail.
 *
 * The HTTP server runs in a child process, so only the downloading side is measured here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { createDownloadActivities } from '../src/activities/download';
import { runWorkDir, sceneClipPath } from '../src/support/paths';
import { stitchClips } from '../src/media/stitch';
import { makeTestClip } from '../src/media/testclip';
import type { ClipFile, DownloadClipInput } from '../src/shared/schemas';
import { harness } from './helpers/activity-env';
import { durationOf } from './helpers/video';

const run = promisify(execFile);
const MB = 1024 * 1024;
const BIG_SECONDS = 22;

let dir: string;
let big: string;
let bigSize: number;
let server: ChildProcess;
let baseUrl: string;

/**
 * 640x360 frames of temporal noise encoded losslessly (x264 ultrafast, qp 0): nearly incompressible,
 * so 22 s at 24 fps make ~250 MB in ~5 s on 2 cores, and still an ordinary H.264 MP4 that ffprobe
 * and the stitcher read like any clip.
 */
async function makeBigClip(path: string): Promise<void> {
  await run('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=s=640x360:r=24:d=${BIG_SECONDS}`,
    '-vf',
    'noise=alls=100:allf=t',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-qp',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    path,
  ]);
}

/** Serves the files of one folder with Content-Type video/mp4 and Content-Length, streamed from disk. */
const SERVER_SCRIPT = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const root = process.argv[1];
const server = http.createServer((req, res) => {
  const file = path.join(root, path.basename(decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': st.size });
    fs.createReadStream(file).pipe(res);
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startServer(root: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['-e', SERVER_SCRIPT, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([
    once(rl, 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`file server exited with ${String(code)} before listening`);
    }),
  ])) as [string];
  rl.close();
  return { child, url: `http://127.0.0.1:${line.trim()}` };
}

interface Peak {
  rss: number;
  arrayBuffers: number;
  samples: number;
}

/**
 * Samples this process's RSS and ArrayBuffer bytes every 20 ms (and whenever `sample()` is called)
 * while `fn` runs; returns the peak increase over the values just before it started.
 */
async function measure<T>(fn: (sample: () => void) => Promise<T>): Promise<{ result: T; increase: Peak }> {
  const base = process.memoryUsage();
  const peak = { rss: base.rss, arrayBuffers: base.arrayBuffers };
  let samples = 0;
  const sample = () => {
    const m = process.memoryUsage();
    samples++;
    if (m.rss > peak.rss) peak.rss = m.rss;
    if (m.arrayBuffers > peak.arrayBuffers) peak.arrayBuffers = m.arrayBuffers;
  };
  const timer = setInterval(sample, 20);
  try {
    const result = await fn(sample);
    sample();
    return {
      result,
      increase: { rss: peak.rss - base.rss, arrayBuffers: peak.arrayBuffers - base.arrayBuffers, samples },
    };
  } finally {
    clearInterval(timer);
  }
}

const fmt = (n: number) => `${(n / MB).toFixed(1)} MB`;

async function sha256(file: string): Promise<string> {
  const { stdout } = await run('sha256sum', [file]);
  return stdout.split(' ')[0]!;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-memory-test-'));
  big = join(dir, 'big.mp4');
  await Promise.all([
    makeBigClip(big),
    makeTestClip({ path: join(dir, 'small.mp4'), seconds: 1, width: 320, height: 180 }),
  ]);
  bigSize = (await stat(big)).size;
  ({ child: server, url: baseUrl } = await startServer(dir));
});
after(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
  await rm(dir, { recursive: true, force: true });
});

describe('no clip is ever held in Node memory', () => {
  let workDir: string;
  let downloaded: ClipFile;

  // The bound, for every case: a third of one clip (~83 MB). Holding a clip, or even a third of it,
  // needs at least that much, and the control case shows the probe sees it (+450 MB and more).
  // Streaming keeps only a few 64–128 KB chunks in flight, but the chunks it is done with are
  // garbage until the next scavenge: ArrayBuffers rise and fall in a saw-tooth of 20–55 MB that does
  // not grow with the file (measured over 158 MB and 250 MB downloads; V8's external-memory trigger
  // is 64 MB). The clip is ~250 MB rather than 150 MB so that a third of it clears that saw-tooth with
  // room to spare, while a buffering implementation still fails by a wide margin.
  const bound = () => bigSize / 3;

  test('the test clip is a real MP4 of at least 150 MB', async () => {
    assert.ok(bigSize >= 150 * MB, `big clip is ${fmt(bigSize)}`);
    assert.ok(Math.abs(durationOf(big) - BIG_SECONDS) < 0.1, `duration ${durationOf(big)}`);
  });

  test('download activity: peak RSS and ArrayBuffer increase far below the file size, file byte-complete', async () => {
    workDir = join(dir, 'work');
    // Loopback http on an explicit allow-list, as a worker whose REPLICATE_BASE_URL is local gets it.
    const acts = createDownloadActivities({ workDir, allowedHosts: ['127.0.0.1'] });
    const input = (sceneIndex: number, name: string): DownloadClipInput => ({
      workflowId: 'memory-test',
      sceneIndex,
      sceneCount: 2,
      url: `${baseUrl}/${name}`,
      predictionId: `p-${name.replace('.mp4', '')}`,
    });
    // Warm-up on a small clip: loads fetch, the stream code and ffprobe's wrapper before measuring,
    // so their one-off memory is not counted against the big download.
    await harness().run((i: DownloadClipInput) => acts.downloadClip(i), input(2, 'small.mp4'));

    const h = harness();
    const { result, increase } = await measure((sample) => {
      h.env.on('heartbeat', sample); // one heartbeat per received chunk
      return h.run((i: DownloadClipInput) => acts.downloadClip(i), input(1, 'big.mp4'));
    });
    downloaded = result;
    console.log(
      `download of ${fmt(bigSize)}: peak RSS +${fmt(increase.rss)}, ArrayBuffers +${fmt(increase.arrayBuffers)} ` +
        `(${increase.samples} samples, ${h.heartbeats.length} heartbeats)`,
    );

    assert.ok(h.heartbeats.length > 100, `streamed in many chunks (${h.heartbeats.length} heartbeats)`);
    assert.ok(increase.samples > 100, `enough samples (${increase.samples})`);
    assert.ok(increase.rss < bound(), `peak RSS increase ${fmt(increase.rss)} < ${fmt(bound())}`);
    assert.ok(
      increase.arrayBuffers < bound(),
      `peak ArrayBuffer increase ${fmt(increase.arrayBuffers)} < ${fmt(bound())}`,
    );

    assert.equal(downloaded.path, sceneClipPath(workDir, 'memory-test', 1, 'p-big'));
    assert.equal(downloaded.sizeBytes, bigSize);
    assert.equal((await stat(downloaded.path)).size, bigSize);
    assert.equal(await sha256(downloaded.path), await sha256(big), 'byte-identical to the served file');
    assert.ok(Math.abs(downloaded.durationSeconds - BIG_SECONDS) < 0.1);
    assert.deepEqual((await readdir(runWorkDir(workDir, 'memory-test'))).sort(), [
      'scene-1-p-big.mp4',
      'scene-2-p-small.mp4',
    ]);
  });

  test('stitchClips on two big clips: Node peak RSS does not grow with the clips (ffmpeg is a child)', async () => {
    assert.ok(downloaded, 'needs the downloaded clip of the previous case');
    const output = join(dir, 'stitched.mp4');
    const { result, increase } = await measure(() =>
      stitchClips({ inputs: [big, downloaded.path], output, size: { width: 320, height: 180 } }),
    );
    console.log(
      `stitch of 2 x ${fmt(bigSize)} into ${fmt(result.sizeBytes)}: peak RSS +${fmt(increase.rss)}, ` +
        `ArrayBuffers +${fmt(increase.arrayBuffers)} (${increase.samples} samples)`,
    );
    const expected = 2 * BIG_SECONDS - 0.5;
    assert.ok(Math.abs(result.durationSeconds - expected) <= 1 / 24 + 1e-6, `duration ${result.durationSeconds}`);
    // Scaled down to 320x180 to keep the encode quick; noise at CRF 18 is still tens of MB, not held either.
    assert.ok(result.sizeBytes > 20 * MB, `output ${fmt(result.sizeBytes)}`);
    assert.ok(increase.samples > 50, `enough samples (${increase.samples})`);
    assert.ok(increase.rss < bound(), `peak RSS increase ${fmt(increase.rss)} < ${fmt(bound())}`);
    assert.ok(
      increase.arrayBuffers < bound(),
      `peak ArrayBuffer increase ${fmt(increase.arrayBuffers)} < ${fmt(bound())}`,
    );
  });

  // Last, so the memory it takes (and the allocator may keep) cannot hide anything in the cases above.
  test('control: a download that holds the body in memory is caught by the same probe', async () => {
    const { result, increase } = await measure(async () => {
      const res = await fetch(`${baseUrl}/big.mp4`);
      return (await res.arrayBuffer()).byteLength;
    });
    console.log(`control (arrayBuffer()): peak RSS +${fmt(increase.rss)}, ArrayBuffers +${fmt(increase.arrayBuffers)}`);
    assert.equal(result, bigSize);
    assert.ok(increase.rss >= 0.9 * bigSize, `peak RSS increase ${fmt(increase.rss)} shows the held file`);
    assert.ok(increase.arrayBuffers >= 0.9 * bigSize, `ArrayBuffer increase ${fmt(increase.arrayBuffers)}`);
    assert.ok(increase.rss >= bound() && increase.arrayBuffers >= bound(), 'the bound above would fail it');
  });
});
