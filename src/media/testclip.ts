/**
 * Synthetic clips made by ffmpeg: one solid colour per scene with a moving box, so a stitched
 * video's scene order can be checked by sampling pixel colours. Used by the emulators (offline
 * mode), the tests and the benchmarks; never in the production path.
 */
import { spawn } from 'node:child_process';
import { mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Distinct, saturated colours that survive H.264 and a cross-fade: scene N gets SCENE_COLORS[(N-1) % len]. */
const SCENE_COLORS = [
  { name: 'red', rgb: [220, 30, 30] },
  { name: 'green', rgb: [30, 200, 40] },
  { name: 'blue', rgb: [30, 60, 220] },
  { name: 'yellow', rgb: [230, 220, 30] },
  { name: 'magenta', rgb: [210, 30, 200] },
  { name: 'cyan', rgb: [30, 210, 220] },
] as const;

export interface TestClipOptions {
  path: string;
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
  /** 1-based scene index: picks the colour. */
  scene?: number;
  /** Adds a sine tone track (Kling's clips have none, other sources do). */
  withAudio?: boolean;
  pixFmt?: string;
  /** Extra output args, e.g. ['-metadata:s:v', 'rotate=90']. */
  extraArgs?: string[];
}

export function sceneColor(scene: number): (typeof SCENE_COLORS)[number] {
  return SCENE_COLORS[(scene - 1) % SCENE_COLORS.length]!;
}

function hex(rgb: readonly number[]): string {
  return '0x' + rgb.map((c) => c.toString(16).padStart(2, '0')).join('');
}

/** Writes an H.264 MP4 atomically (temp file, then rename). */
export async function makeTestClip(opts: TestClipOptions): Promise<string> {
  const { path, seconds, width = 640, height = 360, fps = 24, scene = 1, withAudio = false } = opts;
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.part-${process.pid}.mp4`;
  const box = Math.max(8, Math.round(height / 6));
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `color=c=${hex(sceneColor(scene).rgb)}:s=${width}x${height}:r=${fps}:d=${seconds}`,
    ...(withAudio ? ['-f', 'lavfi', '-i', `sine=frequency=${220 * scene}:sample_rate=48000:duration=${seconds}`] : []),
    '-vf',
    `drawbox=x='mod(t*${width / 2},${width - box})':y=${Math.round(height / 2 - box / 2)}:w=${box}:h=${box}:color=white:t=fill`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    opts.pixFmt ?? 'yuv420p',
    ...(withAudio ? ['-c:a', 'aac', '-shortest'] : []),
    ...(opts.extraArgs ?? []),
    '-movflags',
    '+faststart',
    tmp,
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${stderr}`))));
  });
  await rename(tmp, path);
  return path;
}
