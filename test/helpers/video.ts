/** Reading videos in tests: duration and the colour of a frame, through ffprobe/ffmpeg. */
import { execFileSync } from 'node:child_process';

export function durationOf(file: string): number {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  });
  return Number(out.trim());
}

/** Average RGB of a 16×16 patch at the top-left corner at time `t` (away from the test clips' moving box). */
export function frameColor(file: string, t: number): [number, number, number] {
  const buf = execFileSync('ffmpeg', [
    '-v',
    'error',
    '-ss',
    String(t),
    '-i',
    file,
    '-frames:v',
    '1',
    '-vf',
    'crop=16:16:0:0,scale=1:1',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-',
  ]);
  return [buf[0] ?? 0, buf[1] ?? 0, buf[2] ?? 0];
}

export function colorDistance(a: readonly number[], b: readonly number[]): number {
  return Math.hypot((a[0] ?? 0) - (b[0] ?? 0), (a[1] ?? 0) - (b[1] ?? 0), (a[2] ?? 0) - (b[2] ?? 0));
}
