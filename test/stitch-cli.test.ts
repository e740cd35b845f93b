/**
 * `vidflow stitch <clips...> --out FILE [--transition T] [--fade S] [--fps N] [--size WxH]` as a real
 * process, the way a person runs it: an environment with only PATH and HOME (no API keys) and
 * TEMPORAL_ADDRESS pointing at a closed port, so a run that needed a Temporal server would fail.
 * Checks output length, scene order, forced size/rate, the transition, exit codes (0 done, 2 bad
 * arguments, 1 the stitch failed), messages naming the clip, no output left after a failure, and
 * that the result is frame for frame what the stitch activity makes from the same clips.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { createStitchActivities } from '../src/activities/stitch';
import { outputVideoPath } from '../src/support/paths';
import { fileArg } from '../src/media/ffmpeg';
import { makeTestClip, sceneColor } from '../src/media/testclip';
import { harness } from './helpers/activity-env';
import { vidflow } from './helpers/processes';
import type { CliResult } from './helpers/processes';
import { colorDistance, durationOf, frameColor } from './helpers/video';

const run = promisify(execFile);
let dir: string;
let env: NodeJS.ProcessEnv;
/** Clips of 2, 3 and 2 s, scenes 1–3 (red, green, blue), 320x180 at 24 fps. */
let clips: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-stitch-cli-test-'));
  // A port that was just free and is now closed: any Temporal connection attempt is refused.
  const probeServer = createServer();
  probeServer.listen(0, '127.0.0.1');
  await once(probeServer, 'listening');
  const closedPort = (probeServer.address() as AddressInfo).port;
  probeServer.close();
  await once(probeServer, 'close');
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: `127.0.0.1:${closedPort}`,
  };
  clips = await Promise.all(
    [2, 3, 2].map((seconds, i) =>
      makeTestClip({ path: join(dir, `scene-${i + 1}.mp4`), seconds, width: 320, height: 180, scene: i + 1 }),
    ),
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let outNo = 0;
/** A fresh, empty folder for one case's output, so leftovers (partials) can be listed. */
async function outDir(): Promise<string> {
  const d = join(dir, `out-${++outNo}`);
  await mkdir(d);
  return d;
}

const stitch = (args: string[]): Promise<CliResult> => vidflow(['stitch', ...args], env, 120_000);

function assertColor(actual: readonly number[], scene: number, what: string): void {
  const want = sceneColor(scene);
  assert.ok(
    colorDistance(actual, want.rgb) < 45,
    `${what}: expected ${want.name} ${want.rgb.join(',')}, got ${actual.join(',')}`,
  );
}

async function videoStream(file: string): Promise<{ width: number; height: number; rate: string }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,r_frame_rate,avg_frame_rate',
    '-of',
    'json',
    fileArg(file),
  ]);
  const s = (JSON.parse(stdout) as { streams: Record<string, unknown>[] }).streams[0];
  assert.ok(s, `${file} has a video stream`);
  assert.equal(s.avg_frame_rate, s.r_frame_rate, 'constant frame rate');
  return { width: Number(s.width), height: Number(s.height), rate: String(s.r_frame_rate) };
}

/** One MD5 per decoded frame (timestamps included): equal lists mean the same pictures at the same times. */
async function frameHashes(file: string): Promise<string[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', fileArg(file), '-map', '0:v', '-f', 'framemd5', '-'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.split('\n').filter((l) => l && !l.startsWith('#'));
}

describe('vidflow stitch (real process, no Temporal server, no API keys)', () => {
  test('three clips with the default 0.5 s fade: exit 0, Σd − (n−1)·0.5 long, scenes in order', async () => {
    const d = await outDir();
    const out = join(d, 'three.mp4');
    const r = await stitch([...clips, '--out', out]);
    assert.equal(r.code, 0, `exit code; stderr:\n${r.stderr}`);

    // One summary line on stdout: "<absolute path>: 6.00 s, N MB, 3 clips, stitched in T s".
    assert.match(r.stdout, /^.+: \d+\.\d{2} s, \d+\.\d MB, 3 clips, stitched in \d+\.\d s\n$/);
    assert.ok(r.stdout.startsWith(`${out}: 6.00 s,`), `stdout: ${r.stdout}`);
    // Without a terminal, progress comes as "stitching… N%" lines on stderr, ending at 100 %.
    assert.match(r.stderr, /stitching… \d+%\n/);
    assert.match(r.stderr, /stitching… 100%\n$/);
    assert.doesNotMatch(r.stderr, /temporal|connect|ECONNREFUSED|api key|token/i);

    const expected = 2 + 3 + 2 - 2 * 0.5;
    const got = durationOf(out);
    assert.ok(Math.abs(got - expected) <= 1 / 24 + 1e-6, `duration ${got} s, expected ${expected} s ± one frame`);
    // Scene k sits in the middle of its unfaded part: clip 1 0–1.5, clip 2 2.0–4.0, clip 3 4.5–6.
    assertColor(frameColor(out, 0.75), 1, 'scene 1 at 0.75 s');
    assertColor(frameColor(out, 3.0), 2, 'scene 2 at 3.0 s');
    assertColor(frameColor(out, 5.25), 3, 'scene 3 at 5.25 s');
    // Mid-fade (1.75 s) is neither pure red nor pure green: the cross-fade really happened.
    const mid = frameColor(out, 1.75);
    assert.ok(
      colorDistance(mid, sceneColor(1).rgb) > 45 && colorDistance(mid, sceneColor(2).rgb) > 45,
      `mid-fade ${mid.join(',')}`,
    );
    assert.deepEqual(await readdir(d), ['three.mp4'], 'only the output, no partial file');
  });

  test('makes frame for frame the video the stitch activity makes from the same clips', async () => {
    const d = await outDir();
    const cliOut = join(d, 'cli.mp4');
    const r = await stitch([...clips, '--out', cliOut]);
    assert.equal(r.code, 0, r.stderr);

    const outputDir = join(d, 'activity');
    const acts = createStitchActivities({ outputDir });
    const result = await harness().run((input: Parameters<typeof acts.stitchClips>[0]) => acts.stitchClips(input), {
      workflowId: 'cli-vs-activity',
      clips,
      transitionSeconds: 0.5,
    });
    assert.equal(result.path, outputVideoPath(outputDir, 'cli-vs-activity'));

    const [a, b] = await Promise.all([frameHashes(cliOut), frameHashes(result.path)]);
    assert.ok(a.length > 100, `frames: ${a.length}`);
    assert.deepEqual(a, b, 'the same decoded frames at the same timestamps');
  });

  test('--transition wipeleft --fade 0.3 --fps 30 --size 640x360: 640x360 at 30 fps, right length, a wipe', async () => {
    const d = await outDir();
    const out = join(d, 'wipe.mp4');
    const two = [clips[0]!, clips[1]!];
    const r = await stitch([
      ...two,
      '--out',
      out,
      '--transition',
      'wipeleft',
      '--fade',
      '0.3',
      '--fps',
      '30',
      '--size',
      '640x360',
    ]);
    assert.equal(r.code, 0, `exit code; stderr:\n${r.stderr}`);
    assert.ok(r.stdout.startsWith(`${out}: 4.70 s,`), `stdout: ${r.stdout}`);

    assert.deepEqual(await videoStream(out), { width: 640, height: 360, rate: '30/1' });
    const expected = 2 + 3 - 0.3;
    const got = durationOf(out);
    assert.ok(Math.abs(got - expected) <= 1 / 30 + 1e-6, `duration ${got} s, expected ${expected} s ± one frame`);

    // The clips (320x180) are scaled up to fill 640x360: the top-right corner is scene colour, not a bar.
    assertColor(frameColor(out, 1.0, { x: 600 }), 1, 'scene 1, top right, at 1.0 s');
    assertColor(frameColor(out, 3.5, { x: 600 }), 2, 'scene 2, top right, at 3.5 s');
    // Halfway through the wipe (1.7 + 0.15 s) one side shows clip 1 and the other clip 2, each pure:
    // a fade would blend both sides alike.
    const t = 2 - 0.3 + 0.15;
    const left = frameColor(out, t, { x: 0 });
    const right = frameColor(out, t, { x: 620 });
    const sceneOf = (c: readonly number[]) =>
      [1, 2].find((s) => colorDistance(c, sceneColor(s).rgb) < 45) ?? `neither (${c.join(',')})`;
    assert.deepEqual(
      [sceneOf(left), sceneOf(right)].sort(),
      [1, 2],
      `mid-wipe left ${left.join(',')}, right ${right.join(',')}`,
    );
  });

  test('usage errors: exit 2, a clear message and the usage on stderr, nothing on stdout, no output file', async () => {
    const d = await outDir();
    const out = join(d, 'never.mp4');
    const [a, b] = [clips[0]!, clips[1]!];
    // Each process costs ~2.3 s of start-up (cli.ts loads the Temporal SDK even for `stitch`), so one
    // case per rule rather than every spelling.
    const cases: { args: string[]; message: string }[] = [
      { args: ['--out', out], message: 'vidflow stitch: no clips given' },
      { args: [a, b], message: 'vidflow stitch: --out FILE is required' },
      { args: [a, b, '--out', out, '--size', '641x360'], message: '--size must be WxH with even numbers' },
      { args: [a, b, '--out', out, '--fade=-1'], message: '--fade must be a number >= 0 and <= 60, got "-1"' },
      { args: [a, b, '--out', out, '--fps', '0'], message: '--fps must be a number > 0 and <= 240, got "0"' },
      { args: [a, b, '--out', out, '--transition', 'sparkle'], message: 'unknown transition "sparkle"; known: fade,' },
      { args: [a, b, '--out', out, '--frobnicate'], message: "Unknown option '--frobnicate'" },
    ];
    const results = await Promise.all(cases.map((c) => stitch(c.args)));
    results.forEach((r, i) => {
      const c = cases[i]!;
      const what = `vidflow stitch ${c.args.join(' ')}`;
      assert.equal(r.code, 2, `${what}: exit code; stderr:\n${r.stderr}`);
      assert.ok(r.stderr.includes(c.message), `${what}: stderr should say ${JSON.stringify(c.message)}:\n${r.stderr}`);
      assert.ok(r.stderr.includes('usage: vidflow stitch <clips...> --out FILE'), `${what}: usage shown`);
      assert.equal(r.stdout, '', `${what}: stdout`);
    });
    assert.deepEqual(await readdir(d), [], 'no output file');
  });

  test('--help prints the usage on stdout and exits 0', async () => {
    const r = await stitch(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: vidflow stitch <clips\.\.\.> --out FILE/);
    assert.equal(r.stderr, '');
  });

  test('a text file named .mp4: exit 1 (the stitch failed), stderr names the clip, no output left', async () => {
    const d = await outDir();
    const bad = join(dir, 'not-a-video.mp4');
    await writeFile(bad, 'this is not a video\n');
    const out = join(d, 'out.mp4');
    const r = await stitch([clips[0]!, bad, clips[2]!, '--out', out]);
    assert.equal(r.code, 1, `exit code; stderr:\n${r.stderr}`);
    assert.match(r.stderr, /^vidflow stitch: clip 2 \(not-a-video\.mp4\) is unreadable: /m);
    assert.equal(r.stdout, '');
    assert.deepEqual(await readdir(d), [], 'no output or partial file');
  });

  test('a missing clip is a bad argument: exit 2 before any work, stderr names the clip', async () => {
    const d = await outDir();
    const missing = join(dir, 'no-such-clip.mp4');
    const out = join(d, 'out.mp4');
    const r = await stitch([clips[0]!, clips[1]!, missing, '--out', out]);
    assert.equal(r.code, 2, `exit code; stderr:\n${r.stderr}`);
    assert.ok(
      r.stderr.includes(`vidflow stitch: clip 3 (${missing}) does not exist or is not readable`),
      `stderr:\n${r.stderr}`,
    );
    assert.equal(r.stdout, '');
    assert.deepEqual(await readdir(d), [], 'no output file');
  });

  test('a fade longer than a clip: exit 1, the message names the clip and both lengths', async () => {
    const d = await outDir();
    const short = await makeTestClip({ path: join(dir, 'short.mp4'), seconds: 1, width: 320, height: 180, scene: 4 });
    const out = join(d, 'out.mp4');
    const r = await stitch([clips[0]!, short, '--out', out, '--fade', '1.5']);
    assert.equal(r.code, 1, `exit code; stderr:\n${r.stderr}`);
    assert.ok(
      r.stderr.includes(
        `vidflow stitch: the 1.5 s fade is not shorter than clip 2 (${basename(short)}), which is 1.00 s`,
      ),
      `stderr:\n${r.stderr}`,
    );
    assert.equal(r.stdout, '');
    assert.deepEqual(await readdir(d), [], 'no output or partial file');
  });
});
