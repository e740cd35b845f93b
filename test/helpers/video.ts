/** Reading videos in tests: duration and the colour of a frame, through ffprobe/ffmpeg. */
import { execFileSync } from 'node:child_process';
import { fileArg } from '../../src/media/ffmpeg';

export function durationOf(file: string): number {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  });
  return Number(out.trim());
}

/**
 * Average RGB of a `size`² patch at (x, y) of the frame at time `t`; the default, the top-left
 * corner, is away from the test clips' moving white box.
 */
export function frameColor(file: string, t: number, { x = 0, y = 0, size = 16 } = {}): [number, number, number] {
  const buf = rawFrame(file, t, `crop=${size}:${size}:${x}:${y},scale=1:1,format=rgb24`);
  return [buf[0] ?? 0, buf[1] ?? 0, buf[2] ?? 0];
}

export function colorDistance(a: readonly number[], b: readonly number[]): number {
  return Math.hypot((a[0] ?? 0) - (b[0] ?? 0), (a[1] ?? 0) - (b[1] ?? 0), (a[2] ?? 0) - (b[2] ?? 0));
}

/** The frame at time `t` through the filter `vf`, as raw pixels in the format the filter ends with. */
export function rawFrame(file: string, t: number, vf: string): Buffer {
  return execFileSync('ffmpeg', [
    '-v',
    'error',
    '-ss',
    String(t),
    '-i',
    fileArg(file),
    '-frames:v',
    '1',
    '-vf',
    vf,
    '-f',
    'rawvideo',
    '-',
  ]);
}
