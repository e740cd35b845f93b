/** SSIM of a stitched video against what each frame should be, per scene interior and window. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StitchPlan } from '../../src/media/stitch';
import { dir, exec } from './common';

/** Frame-weighted mean, the worst segment's mean (scene interior or window) and the worst frame. */
export interface Summary {
  mean: number;
  segment: number;
  frame: number;
}
export interface Quality {
  interior: Summary;
  windows: Summary;
}

/**
 * Per-frame SSIM of `output` against the windowed graph run on the sources (no encoder), in one
 * ffmpeg pass; frames are renumbered on both sides so they pair by position, not by timestamp.
 */
export async function quality(output: string, inputs: string[], plan: StitchPlan): Promise<Quality> {
  const stats = join(dir, 'ssim.log');
  const n = inputs.length;
  const graph =
    `${plan.filterComplex};${plan.hasAudio ? '[aout]anullsink;' : ''}` +
    `[vout]settb=1/100,setpts=N[ref];[${n}:v]settb=1/100,setpts=N[out];[out][ref]ssim=stats_file=${stats}`;
  await exec('ffmpeg', [
    ...['-v', 'error', ...inputs.flatMap((p) => ['-i', p]), '-i', output],
    ...['-filter_complex', graph, '-r', '100', '-f', 'null', '-'],
  ]);
  const values = (await readFile(stats, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => Number(/All:([0-9.]+)/.exec(line)?.[1]));
  // Window i starts at the frame of offsets[i] and has K+1 frames; scene i's interior runs from
  // the end of window i to the start of window i+1.
  const k = Math.round(plan.fadeSeconds * plan.fpsValue);
  const starts = plan.offsets.map((o) => Math.round(o * plan.fpsValue));
  const interiors: number[][] = [];
  const windows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const from = i === 0 || k === 0 ? starts[i]! : starts[i]! + k + 1;
    interiors.push(values.slice(from, i === n - 1 ? values.length : starts[i + 1]));
    if (i > 0 && k > 0) windows.push(values.slice(starts[i], starts[i]! + k + 1));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
  const summary = (segments: number[][]): Summary => ({
    mean: mean(segments.flat()),
    segment: Math.min(...segments.map(mean)),
    frame: Math.min(...segments.flat()),
  });
  return { interior: summary(interiors), windows: summary(windows) };
}
