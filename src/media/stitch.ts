/**
 * Joins clips into one MP4 with cross-fades, in a single ffmpeg run (one decode and one encode per
 * frame; no intermediate files, and no clip ever passes through Node's memory).
 *
 * Normalisation, so clips from different sources can be joined (xfade refuses inputs whose size,
 * frame rate or timebase differ):
 * - rotation: ffmpeg's default autorotate turns rotated clips upright; we size them by their
 *   displayed (rotated) dimensions;
 * - size: `size`, else the first clip's displayed size; other clips are scaled to fit inside it with
 *   their aspect ratio kept and black letterbox/pillarbox bars (never cropped, never stretched);
 * - frame rate: `fps`, else the highest input rate (so no clip drops frames), capped at 60;
 * - `settb=AVTB`, `setsar=1`, `format=yuv420p` (what every player decodes).
 * Audio: when any clip has audio, every clip gets a stereo 48 kHz track of exactly its video length
 * (silence for clips without one) and the tracks are joined with `acrossfade`; otherwise video only.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FfmpegRunError, ProbeError, probe, runFfmpeg } from './ffmpeg';
import type { MediaInfo } from './ffmpeg';

/** xfade transitions of ffmpeg 5.1 (`ffmpeg -h filter=xfade`), minus `custom` which needs expressions. */
export const XFADE_TRANSITIONS = [
  'fade',
  'wipeleft',
  'wiperight',
  'wipeup',
  'wipedown',
  'slideleft',
  'slideright',
  'slideup',
  'slidedown',
  'circlecrop',
  'rectcrop',
  'distance',
  'fadeblack',
  'fadewhite',
  'radial',
  'smoothleft',
  'smoothright',
  'smoothup',
  'smoothdown',
  'circleopen',
  'circleclose',
  'vertopen',
  'vertclose',
  'horzopen',
  'horzclose',
  'dissolve',
  'pixelize',
  'diagtl',
  'diagtr',
  'diagbl',
  'diagbr',
  'hlslice',
  'hrslice',
  'vuslice',
  'vdslice',
  'hblur',
  'fadegrays',
  'wipetl',
  'wipetr',
  'wipebl',
  'wipebr',
  'squeezeh',
  'squeezev',
  'zoomin',
  'fadefast',
  'fadeslow',
] as const;
export type XfadeTransition = (typeof XFADE_TRANSITIONS)[number];

export const DEFAULT_FADE_SECONDS = 0.5;
const MAX_DEFAULT_FPS = 60;
const AUDIO_RATE = 48_000;

/**
 * Chosen by measurement (bench/stitch.ts, bench/README-stitch.md): the fastest libx264 settings
 * that keep SSIM >= 0.98 against the source frames on both flat and detailed test clips.
 */
export const VIDEO_ENCODER_ARGS: readonly string[] = ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18'];
const AUDIO_ENCODER_ARGS: readonly string[] = ['-c:a', 'aac', '-b:a', '160k'];
const MUXER_ARGS: readonly string[] = [
  '-fps_mode',
  'cfr',
  '-pix_fmt',
  'yuv420p',
  '-movflags',
  '+faststart',
  '-f',
  'mp4',
];

export interface StitchOptions {
  inputs: string[];
  output: string;
  /** xfade transition name; default 'fade'. */
  transition?: string;
  /** Cross-fade length in seconds; default 0.5. 0 joins with hard cuts. */
  fadeSeconds?: number;
  /** Forces the output frame rate; default: the highest input rate. */
  fps?: number;
  /** Forces the output size; default: the first clip's displayed size. */
  size?: { width: number; height: number };
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

export interface StitchResult {
  path: string;
  durationSeconds: number;
  sizeBytes: number;
}

/** Bad options (transition, fade, fps, size, no inputs): the caller must change them. */
export class StitchOptionsError extends Error {
  override name = 'StitchOptionsError';
}

/** A specific clip is at fault. `index` is 1-based, as people count scenes. */
export class ClipError extends Error {
  override name = 'ClipError';
  constructor(
    message: string,
    readonly index: number,
    readonly file: string,
    readonly reason: 'unreadable' | 'too-short',
  ) {
    super(message);
  }
}

export interface StitchPlan {
  filterComplex: string;
  /** `-map` arguments. */
  maps: string[];
  hasAudio: boolean;
  width: number;
  height: number;
  /** As an ffmpeg rate (`24`, `30000/1001`). */
  fps: string;
  fpsValue: number;
  /** Frame-aligned clip durations used for the offsets. */
  durations: number[];
  /** Start of each xfade in output time (offset_i); offsets[0] = 0. */
  offsets: number[];
  outputDurationSeconds: number;
}

const clipName = (index: number, file: string) => `clip ${index + 1} (${basename(file)})`;

/** Rates like 29.97 become 30000/1001 so the fps filter does not drift against the source. */
export function rateString(fps: number): string {
  for (const base of [24, 30, 48, 60, 120]) {
    if (Math.abs(fps - (base * 1000) / 1001) < 0.005) return `${base * 1000}/1001`;
  }
  return Number.isInteger(fps) ? String(fps) : String(Math.round(fps * 1000) / 1000);
}

function rateValue(rate: string): number {
  const [num, den] = rate.split('/').map(Number);
  return (num ?? 0) / (den ?? 1);
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
/** Seconds for filter arguments: enough digits for microsecond timestamps, no exponent notation. */
const sec = (s: number) => s.toFixed(6).replace(/\.?0+$/, '') || '0';

export function displaySize(info: MediaInfo): { width: number; height: number } {
  const quarterTurn = info.rotation === 90 || info.rotation === 270;
  return quarterTurn ? { width: info.height, height: info.width } : { width: info.width, height: info.height };
}

/** Builds the filtergraph; pure, so the bench can re-encode the very same graph with other settings. */
export function planStitch(
  infos: MediaInfo[],
  opts: { transition?: string; fadeSeconds?: number; fps?: number; size?: { width: number; height: number } } = {},
): StitchPlan {
  const first = infos[0];
  if (!first) throw new StitchOptionsError('no clips to stitch');
  const transition = opts.transition ?? 'fade';
  const fade = opts.fadeSeconds ?? DEFAULT_FADE_SECONDS;
  const fps = rateString(opts.fps ?? Math.min(MAX_DEFAULT_FPS, Math.max(...infos.map((i) => i.fps))));
  const fpsValue = rateValue(fps);
  const target = opts.size ?? displaySize(first);
  const width = even(target.width);
  const height = even(target.height);
  // Whole frames at the output rate: the fps filter emits round(d * fps) frames, and offsets on frame
  // boundaries keep the output length exact (Σd − (n−1)·T, no stray extra frame).
  const durations = infos.map((i) => Math.max(1, Math.round(i.durationSeconds * fpsValue)) / fpsValue);
  const n = infos.length;
  const hasAudio = infos.some((i) => i.hasAudio);

  const parts: string[] = [];
  infos.forEach((info, i) => {
    const shown = displaySize(info);
    const chain = ['setpts=PTS-STARTPTS', `fps=${fps}`];
    if (shown.width !== width || shown.height !== height) {
      chain.push(
        `scale=${width}:${height}:force_original_aspect_ratio=decrease:force_divisible_by=2`,
        `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=black`,
      );
    }
    chain.push('setsar=1', 'format=yuv420p', 'settb=AVTB');
    // xfade 5.1 skips one output timestamp when a transition ends on its first input's EOF (the
    // video then runs a frame long with a repeated frame). One cloned frame past the end avoids
    // that; xfade discards it, so it is never shown.
    if (i < infos.length - 1 && fade > 0) chain.push('tpad=stop_mode=clone:stop=1');
    parts.push(`[${i}:v]${chain.join(',')}[v${i}]`);
    if (hasAudio) {
      const d = sec(durations[i]!);
      // Every track exactly as long as its video, so acrossfade overlaps line up with xfade's.
      const src = info.hasAudio
        ? `[${i}:a]asetpts=PTS-STARTPTS,aresample=${AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,apad=whole_dur=${d}`
        : `anullsrc=r=${AUDIO_RATE}:cl=stereo`;
      parts.push(`${src},atrim=duration=${d},asetpts=PTS-STARTPTS[a${i}]`);
    }
  });

  const offsets = [0];
  let outputDurationSeconds: number;
  if (n === 1) {
    parts.push(`[v0]null[vout]`);
    if (hasAudio) parts.push(`[a0]anull[aout]`);
    outputDurationSeconds = durations[0]!;
  } else if (fade === 0) {
    const pads = infos.map((_, i) => `[v${i}]` + (hasAudio ? `[a${i}]` : '')).join('');
    parts.push(`${pads}concat=n=${n}:v=1:a=${hasAudio ? 1 : 0}[vout]` + (hasAudio ? '[aout]' : ''));
    let t = 0;
    for (let i = 1; i < n; i++) offsets.push((t += durations[i - 1]!));
    outputDurationSeconds = durations.reduce((a, b) => a + b, 0);
  } else {
    let elapsed = durations[0]!;
    for (let i = 1; i < n; i++) {
      const offset = elapsed - fade;
      offsets.push(offset);
      const vin = i === 1 ? '[v0]' : `[x${i - 1}]`;
      const vout = i === n - 1 ? '[xlast]' : `[x${i}]`;
      parts.push(`${vin}[v${i}]xfade=transition=${transition}:duration=${sec(fade)}:offset=${sec(offset)}${vout}`);
      if (hasAudio) {
        const ain = i === 1 ? '[a0]' : `[y${i - 1}]`;
        const aout = i === n - 1 ? '[aout]' : `[y${i}]`;
        parts.push(`${ain}[a${i}]acrossfade=d=${sec(fade)}${aout}`);
      }
      elapsed = offset + durations[i]!;
    }
    outputDurationSeconds = elapsed;
    // Belt and braces: never longer than Σd − (n−1)·T (half a frame of margin against µs rounding),
    // and `-fps_mode cfr` fills any hole by repeating a frame. (An `fps` filter here would drop the
    // last frame: xfade's EOF timestamp is its last frame's, not that frame's end.)
    parts.push(`[xlast]trim=duration=${sec(elapsed - 0.5 / fpsValue)}[vout]`);
  }
  return {
    filterComplex: parts.join(';'),
    maps: ['-map', '[vout]', ...(hasAudio ? ['-map', '[aout]'] : [])],
    hasAudio,
    width,
    height,
    fps,
    fpsValue,
    durations,
    offsets,
    outputDurationSeconds,
  };
}

function validate(opts: StitchOptions): void {
  if (!Array.isArray(opts.inputs) || opts.inputs.length === 0) throw new StitchOptionsError('no clips to stitch');
  if (!opts.output) throw new StitchOptionsError('no output file given');
  const transition = opts.transition ?? 'fade';
  if (!(XFADE_TRANSITIONS as readonly string[]).includes(transition)) {
    throw new StitchOptionsError(`unknown transition "${transition}"; known: ${XFADE_TRANSITIONS.join(', ')}`);
  }
  const fade = opts.fadeSeconds ?? DEFAULT_FADE_SECONDS;
  if (!Number.isFinite(fade) || fade < 0 || fade > 60) {
    throw new StitchOptionsError(`fade must be between 0 and 60 seconds, got ${fade}`);
  }
  if (opts.fps !== undefined && !(Number.isFinite(opts.fps) && opts.fps > 0 && opts.fps <= 240)) {
    throw new StitchOptionsError(`fps must be between 0 and 240, got ${opts.fps}`);
  }
  if (opts.size) {
    const { width, height } = opts.size;
    const ok = (v: number) => Number.isInteger(v) && v >= 16 && v <= 8192 && v % 2 === 0;
    if (!ok(width) || !ok(height)) {
      throw new StitchOptionsError(`size must be even whole numbers between 16 and 8192, got ${width}x${height}`);
    }
  }
}

/** Stitches `inputs` into `output` (MP4, H.264, yuv420p, faststart), atomically. */
export async function stitchClips(opts: StitchOptions): Promise<StitchResult> {
  validate(opts);
  const fade = opts.fadeSeconds ?? DEFAULT_FADE_SECONDS;
  const infos = await Promise.all(
    opts.inputs.map(async (file, i) => {
      try {
        return await probe(file);
      } catch (err) {
        if (!(err instanceof ProbeError)) throw err;
        throw new ClipError(`${clipName(i, file)} is unreadable: ${err.message}`, i + 1, file, 'unreadable');
      }
    }),
  );
  if (infos.length > 1 && fade > 0) {
    infos.forEach((info, i) => {
      if (fade >= info.durationSeconds) {
        const file = opts.inputs[i]!;
        throw new ClipError(
          `the ${fade} s fade is not shorter than ${clipName(i, file)}, which is ${info.durationSeconds.toFixed(2)} s`,
          i + 1,
          file,
          'too-short',
        );
      }
    });
  }
  const plan = planStitch(infos, opts);

  const output = resolve(opts.output);
  await mkdir(dirname(output), { recursive: true });
  // A worker killed mid-stitch leaves its temp file (and an orphaned ffmpeg still writing it):
  // nothing will ever rename it, so the retry removes it. Unlinking an open file is safe on POSIX.
  await removeStalePartials(output);
  // Same folder as the output, so the final rename is atomic (never crosses a filesystem).
  const tmp = join(dirname(output), `.${basename(output)}.${randomBytes(4).toString('hex')}.part.mp4`);
  try {
    await runFfmpeg({
      inputs: opts.inputs,
      filterComplex: plan.filterComplex,
      outputOptions: [
        ...plan.maps,
        ...VIDEO_ENCODER_ARGS,
        ...(plan.hasAudio ? AUDIO_ENCODER_ARGS : ['-an']),
        ...MUXER_ARGS,
      ],
      output: tmp,
      expectedDurationSeconds: plan.outputDurationSeconds,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    // Only a playable file is renamed into place: the rename is what makes the video visible.
    await probe(tmp).catch((err: unknown) => {
      throw new FfmpegRunError(`ffmpeg wrote an unreadable file: ${(err as Error).message}`, '', false);
    });
    await rename(tmp, output);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof FfmpegRunError) {
      err.message = `stitching ${opts.inputs.length} clips failed: ${err.message}`;
    }
    throw err;
  }
  const [st, info] = await Promise.all([stat(output), probe(output)]);
  return { path: output, durationSeconds: info.durationSeconds, sizeBytes: st.size };
}

/** Removes temp files of earlier, interrupted stitches of the same output. */
async function removeStalePartials(output: string): Promise<void> {
  const prefix = `.${basename(output)}.`;
  const names = await readdir(dirname(output)).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((f) => f.startsWith(prefix) && f.endsWith('.part.mp4'))
      .map((f) => rm(join(dirname(output), f), { force: true })),
  );
}
