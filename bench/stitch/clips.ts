/** The bench's clip sets: #17's own, the emulators' flat cards, and a stress set of fine detail. */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestClip } from '../../src/media/testclip';
import { dir, exec } from './common';

export const W = 1920;
export const H = 1080;
export const FPS = 24;
export const SECONDS = 5;

async function lavfiClip(path: string, source: string, encoder: string[]): Promise<string> {
  if (existsSync(path)) return path;
  const tmp = `${path}.part.mp4`;
  await exec('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', source, '-t', String(SECONDS), ...encoder, tmp]);
  await exec('ffmpeg', ['-v', 'error', '-y', '-i', tmp, '-c', 'copy', '-movflags', '+faststart', path]);
  await rm(tmp, { force: true });
  return path;
}

export async function clipSets(): Promise<Record<string, { inputs: string[]; about: string }>> {
  const s = `s=${W}x${H}:r=${FPS}`;
  // Issue #17's clips: x264 veryfast at its default crf 23 (~4.9 Mbit/s), like a provider's output.
  const veryfast = ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'];
  const issue = [];
  for (const h of [90, 180, 270]) {
    issue.push(
      await lavfiClip(join(dir, `issue-${h}.mp4`), `testsrc2=size=${W}x${H}:rate=${FPS},hue=h=${h}`, veryfast),
    );
  }
  const flat: string[] = [];
  for (const scene of [1, 2, 3]) {
    const path = join(dir, `flat-${scene}.mp4`);
    if (!existsSync(path)) await makeTestClip({ path, seconds: SECONDS, width: W, height: H, fps: FPS, scene });
    flat.push(path);
  }
  // Encoded at high quality, like a provider's output: the stitch must not be judged on a bad source.
  const hq = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p'];
  const detailed = [
    await lavfiClip(join(dir, 'detailed-1.mp4'), `mandelbrot=${s}:end_scale=0.05:maxiter=256`, hq),
    await lavfiClip(join(dir, 'detailed-2.mp4'), `testsrc2=${s}:d=${SECONDS},noise=alls=10`, hq),
    await lavfiClip(
      join(dir, 'detailed-3.mp4'),
      `mandelbrot=${s}:start_x=-0.743643887037151:start_y=0.131825904205330:start_scale=0.5:end_scale=0.002:maxiter=512`,
      hq,
    ),
  ];
  return {
    issue: { inputs: issue, about: 'testsrc2 + hue 90/180/270, x264 veryfast crf 23' },
    flat: { inputs: flat, about: 'makeTestClip: solid colour + moving box' },
    detailed: { inputs: detailed, about: 'mandelbrot zooms + testsrc2 with grain, crf 16 (stress set)' },
  };
}
