/**
 * Synthetic clips made by ffmpeg: one solid colour per scene with a moving box, so a stitched
 * video's scene order can be checked by sampling pixel colours. Given the prompt, the card also
 * shows its scene and first words (./card-caption.ts) in the upper part of the frame, so an
 * offline video shows which prompt made which scene. Used by the emulators (offline mode), the
 * tests and the benchmarks; never in the production path.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cardCaption } from './card-caption';

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
  /** The prompt the clip stands for: its scene and first words are drawn on the card (when a font is found). */
  prompt?: string;
}

/**
 * Fonts the setup installs (Debian's fonts-dejavu-core, scripts/setup.sh) or other systems ship.
 * VIDFLOW_CARD_FONT names another, or `none`. Without one, cards carry no text: colours alone.
 */
const FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/System/Library/Fonts/Supplemental/Arial.ttf',
  '/Library/Fonts/Arial.ttf',
];

let hasDrawtext: boolean | undefined;

/** A font file, when ffmpeg can draw text (drawtext needs libfreetype); undefined otherwise. */
export function captionFont(): string | undefined {
  const chosen = process.env.VIDFLOW_CARD_FONT;
  if (chosen === 'none') return undefined;
  const font = [chosen, ...FONT_CANDIDATES].find((f): f is string => !!f && !f.includes("'") && existsSync(f));
  if (!font) return undefined;
  hasDrawtext ??= /\bdrawtext\b/.test(
    spawnSync('ffmpeg', ['-hide_banner', '-filters'], { encoding: 'utf8' }).stdout ?? '',
  );
  return hasDrawtext ? font : undefined;
}

/** drawtext reading the caption from a file: a prompt's quotes, colons and % are never parsed. */
function drawCaption(font: string, textFile: string, width: number, height: number): string {
  // 34 characters a line fit the width; below the moving box, clear of the top-left corner tests sample.
  const size = Math.max(10, Math.round(Math.min(height / 18, width / 22)));
  return [
    `drawtext=fontfile='${font}'`,
    `textfile='${textFile}'`,
    'expansion=none',
    'fontcolor=white',
    `fontsize=${size}`,
    `line_spacing=${Math.round(size / 3)}`,
    'box=1',
    'boxcolor=black@0.45',
    `boxborderw=${Math.round(size / 2)}`,
    'x=(w-text_w)/2',
    `y=h-text_h-${Math.round(height / 16)}`,
  ].join(':');
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
  const font = opts.prompt !== undefined ? captionFont() : undefined;
  const textFile = `${path}.caption-${process.pid}.txt`;
  const caption = font && !textFile.includes("'") ? cardCaption(opts.prompt ?? '') : '';
  if (caption) await writeFile(textFile, caption);
  const boxFilter = `drawbox=x='mod(t*${width / 2},${width - box})':y=${Math.round(height / 2 - box / 2)}:w=${box}:h=${box}:color=white:t=fill`;
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
    caption && font ? `${boxFilter},${drawCaption(font, textFile, width, height)}` : boxFilter,
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
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${stderr}`))));
    });
  } finally {
    if (caption) await rm(textFile, { force: true });
  }
  await rename(tmp, path);
  return path;
}
