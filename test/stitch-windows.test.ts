/**
 * The windowed stitch graph (issue #17): xfade only on the transition windows, concat for the rest,
 * normalisation only for clips that differ from the output. Pure checks of the plan (which filters
 * each clip gets), then real ffmpeg runs on small detailed clips (testsrc2, 320x180): the same frames
 * as the whole-clip chain, interiors equal to their sources, blends in the windows, hard cuts,
 * mixed sources and audio.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileArg, probe } from '../src/media/ffmpeg';
import type { MediaInfo } from '../src/media/ffmpeg';
import { planChainStitch } from '../src/media/stitch-chain';
import type { StitchPlan } from '../src/media/stitch-format';
import { planStitch } from '../src/media/stitch-graph';
import { stitchClips } from '../src/media/stitch';

const run = promisify(execFile);
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-stitch-windows-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const info = (over: Partial<MediaInfo> = {}): MediaInfo => ({
  durationSeconds: 5,
  width: 1920,
  height: 1080,
  fps: 24,
  constantFrameRate: true,
  declaredRate: '24/1',
  timeBase: '1/12288',
  frames: 120,
  pixFmt: 'yuv420p',
  sar: '1:1',
  hasAudio: false,
  rotation: 0,
  sizeBytes: 1,
  videoCodec: 'h264',
  ...over,
});

/** The filters applied to clip i's whole stream, before it is split into pieces. */
function clipChain(plan: StitchPlan, i: number): string[] {
  const part = plan.filterComplex.split(';').find((p) => p.startsWith(`[${i}:v]`));
  assert.ok(part, `clip ${i} has a chain`);
  return part
    .slice(`[${i}:v]`.length)
    .replace(/\[[^\]]*\]/g, '')
    .split(',')
    .map((f) => f.split('=')[0]!);
}

const count = (text: string, what: string) => text.split(what).length - 1;

describe('planStitch', () => {
  test('clips that match the output pass through untouched; xfade only on the n−1 windows', () => {
    const plan = planStitch([info(), info(), info()]);
    assert.equal(plan.shape, 'windows');
    assert.equal(plan.outputDurationSeconds, 14);
    assert.equal(plan.fadeSeconds, 0.5);
    assert.deepEqual(plan.offsets, [0, 4.5, 9]);
    assert.equal(count(plan.filterComplex, 'xfade='), 2);
    assert.match(plan.filterComplex, /xfade=transition=fade:duration=0\.5:offset=0/);
    assert.deepEqual(clipChain(plan, 0), ['setpts', 'split']);
    assert.deepEqual(clipChain(plan, 1), ['setpts', 'split']);
    assert.deepEqual(clipChain(plan, 2), ['setpts', 'split']);
    assert.ok(!/scale=|[^t]pad=|setsar/.test(plan.filterComplex), plan.filterComplex);
    // Bodies are cut by frame number and joined by concat, with nothing else on their frames.
    assert.match(plan.filterComplex, /\[pb1\]trim=start_frame=13:end_frame=108,setpts=PTS-STARTPTS\[vb1\]/);
    assert.match(plan.filterComplex, /\[vb0\]\[vw1\]\[vb1\]\[vw2\]\[vb2\]concat=n=5:v=1:a=0/);
  });

  test('each mismatch adds its own filter, to that clip only', () => {
    const cases: [Partial<MediaInfo>, string[]][] = [
      [{ pixFmt: 'yuv444p' }, ['setpts', 'format', 'split']],
      [{ sar: '4:3' }, ['setpts', 'setsar', 'split']],
      [{ sar: '0:1' }, ['setpts', 'setsar', 'split']],
      [{ width: 1280, height: 720 }, ['setpts', 'scale', 'pad', 'setsar', 'split']],
      [{ width: 1080, height: 1920, rotation: 90 }, ['setpts', 'split']],
      [{ constantFrameRate: false }, ['setpts', 'fps', 'split']],
      [{ frames: 119 }, ['setpts', 'fps', 'split']],
      [{ fps: 23.976, frames: 120 }, ['setpts', 'fps', 'split']],
    ];
    for (const [odd, chain] of cases) {
      const plan = planStitch([info(), info(odd), info()]);
      const what = JSON.stringify(odd);
      assert.equal(plan.shape, 'windows', what);
      assert.deepEqual(clipChain(plan, 1), chain, what);
      assert.deepEqual(clipChain(plan, 0), ['setpts', 'split'], what);
      assert.deepEqual(clipChain(plan, 2), ['setpts', 'split'], what);
    }
    // A faster clip raises the output rate: then the others are the odd ones.
    const faster = planStitch([info(), info({ fps: 30, declaredRate: '30/1', frames: 150 }), info()]);
    assert.equal(faster.fps, '30');
    assert.deepEqual(clipChain(faster, 1), ['setpts', 'split']);
    assert.deepEqual(clipChain(faster, 0), ['setpts', 'fps', 'split']);
  });

  test('every catalogue transition is used as is, on the windows', () => {
    const plan = planStitch([info(), info()], { transition: 'circleopen', fadeSeconds: 1 });
    assert.match(plan.filterComplex, /xfade=transition=circleopen:duration=1:offset=0/);
    assert.equal(plan.outputDurationSeconds, 9);
  });

  test('fade 0 is a plain concat; a fade shorter than half a frame too', () => {
    for (const fadeSeconds of [0, 0.01]) {
      const plan = planStitch([info(), info(), info()], { fadeSeconds });
      assert.equal(plan.shape, 'cuts');
      assert.equal(count(plan.filterComplex, 'xfade'), 0);
      assert.match(plan.filterComplex, /\[vb0\]\[vb1\]\[vb2\]concat=n=3:v=1:a=0/);
      assert.equal(plan.outputDurationSeconds, 15);
      assert.deepEqual(plan.offsets, [0, 5, 10]);
    }
  });

  test('a middle clip too short for two windows falls back to the whole-clip chain', () => {
    const short = info({ durationSeconds: 1, frames: 24 });
    const plan = planStitch([info(), short, info()]);
    assert.equal(plan.shape, 'chain');
    assert.equal(plan.outputDurationSeconds, planChainStitch([info(), short, info()]).outputDurationSeconds);
    // 25 frames is enough: head [0, 12], tail [13, 24], an empty body.
    assert.equal(planStitch([info(), info({ durationSeconds: 25 / 24, frames: 25 }), info()]).shape, 'windows');
  });

  test('audio: pieces cut at the same frame times, acrossfade on the windows, silence for a silent clip', () => {
    const plan = planStitch([info({ hasAudio: true }), info(), info({ hasAudio: true })]);
    assert.ok(plan.hasAudio);
    assert.deepEqual(plan.maps, ['-map', '[vout]', '-map', '[aout]']);
    assert.equal(count(plan.filterComplex, 'acrossfade=ns=24000'), 2);
    assert.match(plan.filterComplex, /anullsrc=r=48000:cl=stereo,atrim=end_sample=240000/);
    // Body of clip 2: frames 13..107 = samples 26000..216000.
    assert.match(plan.filterComplex, /\[qb1\]atrim=start_sample=26000:end_sample=216000/);
    assert.match(plan.filterComplex, /\[ab0\]\[aw1\]\[ab1\]\[aw2\]\[ab2\]concat=n=5:v=0:a=1\[aout\]/);
    assert.ok(!planStitch([info(), info()]).hasAudio);
  });
});

// --- real ffmpeg -----------------------------------------------------------------------------

const F = 24;
const K = 12;

/** A 320x180 clip of moving detail (testsrc2, its hue turned per scene), like a provider's output. */
async function detailedClip(name: string, seconds: number, hue: number, extra: string[] = []): Promise<string> {
  const path = join(dir, name);
  await run('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=320x180:r=${F}:d=${seconds},hue=h=${hue}`],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p', ...extra, fileArg(path)],
  ]);
  return path;
}

/** Per-frame SSIM (All) of frames [aFrom, aFrom + n) of `a` against [bFrom, bFrom + n) of `b`. */
async function ssimFrames(a: string, aFrom: number, b: string, bFrom: number, n: number): Promise<number[]> {
  const stats = join(dir, `ssim-${process.hrtime.bigint()}.log`);
  // Renumbered, so frames pair by position: ssim pairs them by timestamp, and Matroska's (in ms)
  // would pair every third frame of a 24 fps clip with its neighbour.
  const cut = (from: number) => `trim=start_frame=${from}:end_frame=${from + n},settb=1/100,setpts=N`;
  await run('ffmpeg', [
    ...['-v', 'error', '-i', fileArg(a), '-i', fileArg(b), '-filter_complex'],
    `[0:v]${cut(aFrom)}[x];[1:v]${cut(bFrom)}[y];[x][y]ssim=stats_file=${stats}`,
    ...['-r', '100', '-f', 'null', '-'],
  ]);
  const values = (await readFile(stats, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => Number(/All:([0-9.]+)/.exec(line)?.[1]));
  assert.equal(values.length, n, `compared ${values.length} frames, wanted ${n}`);
  return values;
}

async function frameCount(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-count_frames', '-select_streams', 'v:0'],
    ...['-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', fileArg(file)],
  ]);
  return Number(stdout.trim());
}

/** Renders a plan losslessly (ffv1), so frames are compared without an encoder in between. */
async function render(inputs: string[], plan: StitchPlan, name: string): Promise<string> {
  const out = join(dir, name);
  await run('ffmpeg', [
    ...['-v', 'error', '-y', ...inputs.flatMap((i) => ['-i', fileArg(i)])],
    ...['-filter_complex', plan.filterComplex, ...plan.maps, '-c:v', 'ffv1', '-pix_fmt', 'yuv420p'],
    ...['-r', plan.fps, '-fps_mode', 'cfr', fileArg(out)],
  ]);
  return out;
}

describe('windowed stitch with ffmpeg', () => {
  let clips: string[];
  before(async () => {
    clips = await Promise.all([
      detailedClip('d1.mp4', 2, 0),
      detailedClip('d2.mp4', 2, 120),
      detailedClip('d3.mp4', 2, 240),
    ]);
  });

  test('the same frames as the whole-clip chain, for several transitions', async () => {
    const infos = await Promise.all(clips.map((c) => probe(c)));
    for (const transition of ['fade', 'circleopen', 'pixelize', 'slideleft']) {
      const windows = planStitch(infos, { transition });
      const chain = planChainStitch(infos, { transition });
      assert.equal(windows.shape, 'windows');
      const a = await render(clips, windows, `w-${transition}.nut`);
      const b = await render(clips, chain, `c-${transition}.nut`);
      assert.equal(await frameCount(a), 3 * 48 - 2 * K, transition);
      assert.equal(await frameCount(b), 3 * 48 - 2 * K, transition);
      // Not bit-identical: the chain sends every frame through yuv444p and back (xfade has no
      // yuv420p), the windowed graph only the windows' frames (0.990 at worst here). Frames one
      // off score 0.85.
      const ssim = await ssimFrames(a, 0, b, 0, 3 * 48 - 2 * K);
      assert.ok(Math.min(...ssim) > 0.98, `${transition}: worst frame SSIM ${Math.min(...ssim)}`);
      const inWindows = [...ssim.slice(36, 36 + K + 1), ...ssim.slice(72, 72 + K + 1)];
      assert.ok(Math.min(...inWindows) > 0.995, `${transition}: worst window frame SSIM ${Math.min(...inWindows)}`);
    }
  });

  test('stitched: interiors equal their sources, windows are blends of the right frames', async () => {
    const output = join(dir, 'stitched.mp4');
    const result = await stitchClips({ inputs: clips, output });
    assert.equal(await frameCount(output), 3 * 48 - 2 * K);
    assert.ok(Math.abs(result.durationSeconds - 5) < 1 / F);
    // Output frames: clip 1 alone [0, 36), window [36, 48], clip 2 alone [49, 72), window [72, 84], clip 3 [85, 120).
    const interiors: [number, number, number, number][] = [
      [0, 0, 0, 36],
      [1, 49, 13, 23],
      [2, 85, 13, 35],
    ];
    for (const [clip, outFrom, srcFrom, n] of interiors) {
      const ssim = await ssimFrames(output, outFrom, clips[clip]!, srcFrom, n);
      assert.ok(Math.min(...ssim) >= 0.98, `clip ${clip + 1} interior: worst SSIM ${Math.min(...ssim)}`);
    }
    // The middle of the first window (progress 1/2) is like neither source, and like the reference blend.
    const mid = 36 + K / 2;
    const [fromOut] = await ssimFrames(output, mid, clips[0]!, 48 - K + K / 2, 1);
    const [toIn] = await ssimFrames(output, mid, clips[1]!, K / 2, 1);
    assert.ok(fromOut! < 0.9 && toIn! < 0.9, `mid-window frame is a blend (SSIM ${fromOut}, ${toIn})`);
    const reference = await render(clips, planChainStitch(await Promise.all(clips.map((c) => probe(c)))), 'ref.nut');
    const windows = [
      ...(await ssimFrames(output, 36, reference, 36, K + 1)),
      ...(await ssimFrames(output, 72, reference, 72, K + 1)),
    ];
    assert.ok(Math.min(...windows) >= 0.97, `windows against the reference blend: worst SSIM ${Math.min(...windows)}`);
  });

  test('transition 0: a plain concat, each clip whole and untouched up to the cut', async () => {
    const output = join(dir, 'cuts.mp4');
    await stitchClips({ inputs: clips.slice(0, 2), output, fadeSeconds: 0 });
    assert.equal(await frameCount(output), 96);
    const first = await ssimFrames(output, 0, clips[0]!, 0, 48);
    const second = await ssimFrames(output, 48, clips[1]!, 0, 48);
    assert.ok(Math.min(...first, ...second) >= 0.98, `worst SSIM ${Math.min(...first, ...second)}`);
  });

  test('a middle clip too short for two windows: the whole-clip chain, still frame-exact', async () => {
    const short = await detailedClip('short.mp4', 1, 90);
    const output = join(dir, 'short-middle.mp4');
    await stitchClips({ inputs: [clips[0]!, short, clips[2]!], output });
    assert.equal(await frameCount(output), 48 + 24 + 48 - 2 * K);
    const last = await ssimFrames(output, 96 - 35, clips[2]!, 13, 35);
    assert.ok(Math.min(...last) >= 0.98, `clip 3 interior: worst SSIM ${Math.min(...last)}`);
  });

  test('mixed sources: non-square pixels, no frame count (Matroska), yuv444p at 30 fps', async () => {
    const sar = await detailedClip('sar.mp4', 2, 60, ['-vf', 'setsar=4/3']);
    const mkv = await detailedClip('nocount.mkv', 2, 180);
    const fast = await detailedClip('fast.mp4', 2, 300, ['-r', '30', '-pix_fmt', 'yuv444p']);
    const infos = await Promise.all([clips[0]!, sar, mkv].map((c) => probe(c)));
    assert.equal(infos[1]!.sar, '4:3');
    assert.equal(infos[2]!.frames, undefined, 'Matroska declares no frame count');
    const plan = planStitch(infos);
    assert.deepEqual(clipChain(plan, 1), ['setpts', 'setsar', 'split']);
    assert.deepEqual(clipChain(plan, 2), ['setpts', 'split']);

    const output = join(dir, 'mixed.mp4');
    await stitchClips({ inputs: [clips[0]!, sar, mkv], output });
    const out = await probe(output);
    assert.equal(out.sar, '1:1');
    assert.equal(await frameCount(output), 3 * 48 - 2 * K);
    const mkvInterior = await ssimFrames(output, 85, mkv, 13, 35);
    assert.ok(Math.min(...mkvInterior) >= 0.98, `Matroska clip interior: worst SSIM ${Math.min(...mkvInterior)}`);

    const output2 = join(dir, 'mixed-rate.mp4');
    await stitchClips({ inputs: [clips[0]!, fast], output: output2 });
    const out2 = await probe(output2);
    assert.equal(out2.fps, 30);
    assert.equal(out2.pixFmt, 'yuv420p');
    assert.equal(await frameCount(output2), 2 * 60 - 15);
  });

  test('audio: acrossfade on the windows, silence for a silent clip, in step with the video', async () => {
    const withTone = async (name: string, hz: number): Promise<string> => {
      const path = join(dir, name);
      await run('ffmpeg', [
        ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=320x180:r=${F}:d=2`],
        ...['-f', 'lavfi', '-i', `sine=frequency=${hz}:sample_rate=48000:duration=2`],
        ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', fileArg(path)],
      ]);
      return path;
    };
    const a = await withTone('tone-a.mp4', 440);
    const c = await withTone('tone-c.mp4', 880);
    const output = join(dir, 'audio.mp4');
    await stitchClips({ inputs: [a, clips[1]!, c], output });
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-show_entries', 'stream=codec_type,duration', '-of', 'csv=p=0', fileArg(output)],
    ]);
    const durations = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((l) => l.split(',') as [string, string]),
    );
    assert.ok(Math.abs(Number(durations.audio) - Number(durations.video)) < 0.03, stdout);

    const level = async (from: number, to: number): Promise<number> => {
      const { stderr } = await run('ffmpeg', [
        ...['-v', 'info', '-i', fileArg(output), '-map', '0:a', '-af'],
        `atrim=${from}:${to},volumedetect`,
        ...['-f', 'null', '-'],
      ]);
      const m = /max_volume: (-?[0-9.]+|-inf) dB/.exec(stderr);
      return m?.[1] === '-inf' || !m ? -Infinity : Number(m[1]);
    };
    // Clip 1 alone 0–1.5 s, clip 2 (silent) alone 2.04–3.0 s, clip 3 alone 3.54–5 s.
    // ffmpeg's sine is at 1/8 of full scale, -18 dB.
    assert.ok((await level(0.1, 1.4)) > -24, 'clip 1 keeps its tone');
    assert.ok((await level(2.1, 2.95)) < -60, 'the silent clip is silent');
    assert.ok((await level(3.6, 4.9)) > -24, 'clip 3 keeps its tone');
    // Fading out: the last quarter of the first window is quieter than its first quarter.
    assert.ok((await level(1.9, 2.0)) < (await level(1.5, 1.6)) - 6, 'the tone fades out over the window');
  });
});
