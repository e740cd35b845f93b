/**
 * Joins clips into one MP4 with cross-fades, in a single ffmpeg run (one decode and one encode per
 * frame; no intermediate files, and no clip ever passes through Node's memory). The filtergraph is
 * built by stitch-graph.ts (cross-fades on the transition windows only, the rest joined by concat;
 * clips normalised only where they differ from the output, see stitch-format.ts).
 * Audio: when any clip has audio, every clip gets a stereo 48 kHz track of exactly its video length
 * (silence for clips without one) and the tracks are joined like the video, with `acrossfade` on
 * the same windows; otherwise video only.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FfmpegRunError, ProbeError, probe, runFfmpeg } from './ffmpeg';
import type { MediaInfo } from './ffmpeg-types';
import { planStitch } from './stitch-graph';
import { DEFAULT_FADE_SECONDS } from './stitch-format';
import type { StitchPlan } from './stitch-format';

export { planStitch } from './stitch-graph';
export { DEFAULT_FADE_SECONDS, displaySize, rateString } from './stitch-format';
export type { StitchPlan } from './stitch-format';

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

/**
 * Chosen by measurement (bench/stitch.ts, bench/README-stitch.md): the fastest libx264 settings
 * that keep SSIM >= 0.98 against the source frames on both flat and detailed test clips.
 * Constant QP, not crf: crf's rate control needs x264's half-size lookahead analysis of every
 * frame, which ultrafast otherwise skips (no B-frame decision, scenecut or mbtree); dropping it
 * takes 10–16 % of ffmpeg's CPU. qp 16 (I-frames ~13) rather than 18 keeps the detailed set's
 * worst frame and worst window above crf 18's (0.979 / 0.981 vs 0.963 / 0.964), for ~10 % more bytes.
 */
export const VIDEO_ENCODER_ARGS: readonly string[] = ['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '16'];
/**
 * Per input: each decoder's frame threads hold frames of their own, and all inputs are open at
 * once. Two threads keep decoding ahead of ultrafast x264 and, on the issue-17 clips (3 × 1080p),
 * take ffmpeg's peak from ~308 to ~280 MB (bench/README-stitch.md).
 */
export const DECODER_ARGS: readonly string[] = ['-threads', '2'];
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

/** Everything after the graph: maps, encoders, rate and muxer. Exported for the bench. */
export function outputArgs(plan: StitchPlan): string[] {
  return [
    ...plan.maps,
    ...VIDEO_ENCODER_ARGS,
    ...(plan.hasAudio ? AUDIO_ENCODER_ARGS : ['-an']),
    // concat marks its output variable-rate when its pieces' declared rates differ (xfade's and a
    // body's may): without -r, ffmpeg 5.1 would fall back to 25 fps.
    '-r',
    plan.fps,
    ...MUXER_ARGS,
  ];
}

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

const clipName = (index: number, file: string) => `clip ${index + 1} (${basename(file)})`;

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
    const { frames } = await runFfmpeg({
      inputs: opts.inputs,
      inputOptions: [...DECODER_ARGS],
      filterComplex: plan.filterComplex,
      outputOptions: outputArgs(plan),
      output: tmp,
      expectedDurationSeconds: plan.outputDurationSeconds,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    // Only a complete file is renamed into place: the rename is what makes the video visible.
    // ffmpeg's own count of the frames it encoded (its last statistics line) must be the plan's:
    // a stricter check than probing the file again, and without a process (~45 ms per stitch).
    // Write errors that ffmpeg 5.1 reports with exit 0 were already turned into failures.
    const expected = Math.round(plan.outputDurationSeconds * plan.fpsValue);
    const written = frames === undefined ? await probeWritten(tmp) : undefined;
    const count = frames ?? Math.round((written?.durationSeconds ?? 0) * plan.fpsValue);
    if (Math.abs(count - expected) > 1) {
      throw new FfmpegRunError(`ffmpeg wrote ${count} frames, the plan has ${expected}`, '', false);
    }
    const { size } = await stat(tmp);
    await rename(tmp, output);
    return { path: output, durationSeconds: written?.durationSeconds ?? count / plan.fpsValue, sizeBytes: size };
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof FfmpegRunError) {
      err.message = `stitching ${opts.inputs.length} clips failed: ${err.message}`;
    }
    throw err;
  }
}

/** The written file's own figures, for an ffmpeg that printed no statistics. */
function probeWritten(file: string): Promise<MediaInfo> {
  return probe(file).catch((err: unknown) => {
    throw new FfmpegRunError(`ffmpeg wrote an unreadable file: ${(err as Error).message}`, '', false);
  });
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
