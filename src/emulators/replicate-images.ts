/**
 * The Replicate emulator's image side, for storyboards: the FLUX image models' input schemas, a
 * PNG per image prediction, and video clips that run from a given start image to a given end
 * image. Everything is deterministic: an image's colour comes from a hash of its prompt (and its
 * prompt is drawn on it), so tests can tell keyframes apart and find them again in a clip.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { captionFont } from '../media/testclip';
import type { ReplicateModelSpec } from './replicate';

export const FLUX_SCHNELL_MODEL = 'black-forest-labs/flux-schnell';
export const FLUX_KONTEXT_PRO_MODEL = 'black-forest-labs/flux-kontext-pro';

const version = (model: string) => createHash('sha256').update(model).digest('hex');

/** The aspect ratios both FLUX models list (docs/provider-facts.md, "FLUX image models"). */
const FLUX_ASPECTS = ['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'];

/** FLUX schnell's input schema (the fields of its Replicate API page). */
const FLUX_SCHNELL_SPEC: ReplicateModelSpec = {
  version: version(FLUX_SCHNELL_MODEL),
  inputs: {
    prompt: { type: 'string', required: true },
    aspect_ratio: { type: 'string', enum: FLUX_ASPECTS, default: '1:1' },
    num_outputs: { type: 'integer', enum: [1, 2, 3, 4], default: 1 },
    output_format: { type: 'string', enum: ['webp', 'jpg', 'png'], default: 'webp' },
    output_quality: { type: 'integer' },
    seed: { type: 'integer' },
    go_fast: { type: 'boolean' },
    megapixels: { type: 'string', enum: ['1', '0.25'] },
    num_inference_steps: { type: 'integer', enum: [1, 2, 3, 4] },
    disable_safety_checker: { type: 'boolean' },
  },
};

/** FLUX Kontext Pro's input schema: `input_image` is the reference it edits. */
const FLUX_KONTEXT_PRO_SPEC: ReplicateModelSpec = {
  version: version(FLUX_KONTEXT_PRO_MODEL),
  inputs: {
    prompt: { type: 'string', required: true },
    input_image: { type: 'uri' },
    aspect_ratio: { type: 'string', enum: ['match_input_image', ...FLUX_ASPECTS], default: 'match_input_image' },
    output_format: { type: 'string', enum: ['jpg', 'png'], default: 'png' },
    seed: { type: 'integer' },
    safety_tolerance: { type: 'integer', enum: [0, 1, 2, 3, 4, 5, 6] },
    prompt_upsampling: { type: 'boolean' },
  },
};

export const IMAGE_MODEL_SPECS: Record<string, ReplicateModelSpec> = {
  [FLUX_SCHNELL_MODEL]: FLUX_SCHNELL_SPEC,
  [FLUX_KONTEXT_PRO_MODEL]: FLUX_KONTEXT_PRO_SPEC,
};

export function isImageModel(model: string): boolean {
  return model in IMAGE_MODEL_SPECS;
}

/**
 * What an image prediction's `output` is: FLUX schnell answers a list (one per `num_outputs`),
 * Kontext Pro a single URL.
 */
export function imageOutput(model: string, url: string): string | string[] {
  return model === FLUX_SCHNELL_MODEL ? [url] : url;
}

/**
 * An image's size at emulated scale: the long side is the emulator's clip width, the short side
 * follows the ratio (even numbers, for the clips made from them). 16:9 gives clipWidth x clipHeight.
 */
export function imageSize(aspect: string, longSide: number): { width: number; height: number } {
  const m = /^(\d+):(\d+)$/.exec(aspect);
  const [w, h] = m ? [Number(m[1]), Number(m[2])] : [1, 1];
  const even = (n: number) => Math.max(16, 2 * Math.round(n / 2));
  return w >= h
    ? { width: even(longSide), height: even((longSide * h) / w) }
    : { width: even((longSide * w) / h), height: even(longSide) };
}

/** A prompt's colour: mid-range channels (40..215), so compression and blends keep them apart. */
export function promptColor(prompt: string): [number, number, number] {
  const d = createHash('sha256').update(prompt).digest();
  return [40 + (d[0]! % 176), 40 + (d[1]! % 176), 40 + (d[2]! % 176)];
}

function hex(rgb: readonly number[]): string {
  return '0x' + rgb.map((c) => c.toString(16).padStart(2, '0')).join('');
}

function ffmpeg(args: string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${stderr}`))));
  });
}

/**
 * A PNG in the prompt's colour with the prompt's first words drawn in the lower third (when a font
 * is found), written atomically. The top half is plain colour: where tests sample it.
 */
export async function renderImage(o: { path: string; prompt: string; width: number; height: number }): Promise<string> {
  await mkdir(dirname(o.path), { recursive: true });
  const tmp = `${o.path}.part-${process.pid}.png`;
  const font = captionFont();
  const textFile = `${o.path}.caption-${process.pid}.txt`;
  const caption = font && !textFile.includes("'") ? captionOf(o.prompt) : '';
  if (caption) await writeFile(textFile, caption);
  const size = Math.max(10, Math.round(o.height / 14));
  const draw = caption
    ? `,drawtext=fontfile='${font}':textfile='${textFile}':expansion=none:fontcolor=white:fontsize=${size}:x=(w-text_w)/2:y=h*3/4`
    : '';
  try {
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      `color=c=${hex(promptColor(o.prompt))}:s=${o.width}x${o.height}:d=1`,
      '-vf',
      `format=rgb24${draw}`,
      '-frames:v',
      '1',
      '-f',
      'image2',
      '-c:v',
      'png',
      tmp,
    ]);
    await rename(tmp, o.path);
  } finally {
    await rm(tmp, { force: true });
    if (caption) await rm(textFile, { force: true });
  }
  return o.path;
}

/**
 * A clip whose first frame is `start` and last frame is `end` (each scaled to the clip's size),
 * blending linearly from one to the other: what Kling does with `start_image` and `end_image`,
 * reduced to what a test can check at the scene boundaries. Without `end`, it holds `start`.
 */
export async function renderTransitionClip(o: {
  path: string;
  start: string;
  end?: string | undefined;
  seconds: number;
  width: number;
  height: number;
  fps: number;
}): Promise<string> {
  await mkdir(dirname(o.path), { recursive: true });
  const tmp = `${o.path}.part-${process.pid}.mp4`;
  const fit = `scale=${o.width}:${o.height},setsar=1,fps=${o.fps},format=yuv420p`;
  // The last frame is at seconds - 1/fps: the blend reaches the end image exactly there.
  const span = Math.max(1 / o.fps, o.seconds - 1 / o.fps).toFixed(4);
  const graph = `[0:v]${fit}[a];[1:v]${fit}[b];[a][b]blend=all_expr='A+(B-A)*min(1\\,T/${span})'[v]`;
  const loop = (file: string) => ['-loop', '1', '-framerate', String(o.fps), '-t', String(o.seconds), '-i', file];
  try {
    await ffmpeg([
      ...loop(o.start),
      ...loop(o.end ?? o.start),
      '-filter_complex',
      graph,
      '-map',
      '[v]',
      '-frames:v',
      String(Math.round(o.seconds * o.fps)),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
      tmp,
    ]);
    await rename(tmp, o.path);
  } finally {
    await rm(tmp, { force: true });
  }
  return o.path;
}

/**
 * The prompt's last sentence, where a keyframe's own moment is (its head is the run's shared look,
 * alike in every keyframe), so a contact sheet of emulated keyframes tells them apart.
 */
function captionOf(prompt: string): string {
  const sentences = prompt.trim().split(/(?<=[.;])\s+/);
  const last = sentences.at(-1) ?? prompt;
  return last.length <= 40 ? last : `${last.slice(0, 39)}…`;
}
