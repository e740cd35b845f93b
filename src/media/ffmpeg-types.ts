/**
 * What src/media/ffmpeg.ts reports: the probe's MediaInfo and the errors its callers tell apart
 * (missing binary, could not start, unreadable file, failed run, abort). No fluent-ffmpeg here;
 * callers import these through ./ffmpeg, the one module that runs it.
 */
export interface FfmpegInstall {
  ffmpeg: string;
  ffprobe: string;
  version: string;
}

export interface MediaInfo {
  /** Of the video stream when the container says so, else of the container. */
  durationSeconds: number;
  /** Coded size; a clip with rotation ±90 is shown `height` wide. */
  width: number;
  height: number;
  fps: number;
  /**
   * False when the stream's average rate differs from its base rate (variable frame rate, or
   * timestamps the container does not account for): such a clip goes through the fps filter.
   */
  constantFrameRate: boolean;
  /** `r_frame_rate` and `time_base` as ffprobe prints them (`24/1`, `1/12288`): what the decoder announces to filters. */
  declaredRate: string;
  timeBase: string;
  /** Frames the container declares (`nb_frames`), when it does (MP4 does, Matroska does not). */
  frames?: number;
  pixFmt: string;
  /** Sample aspect ratio as ffprobe prints it (`1:1`; `0:1` or `unknown` when not set). */
  sar: string;
  hasAudio: boolean;
  /** Display rotation in degrees, normalised to 0, 90, 180 or 270 (ffprobe's display-matrix value). */
  rotation: number;
  sizeBytes: number;
  videoCodec: string;
}

/** ffmpeg or ffprobe is not installed (or not executable). */
export class FfmpegMissingError extends Error {
  override name = 'FfmpegMissingError';
}

/**
 * ffmpeg or ffprobe exists but could not be started (EAGAIN: too many processes, EMFILE, ENOMEM,
 * or it vanished since the lookup): the worker's trouble at that moment, not the file's.
 */
export class FfmpegStartError extends Error {
  override name = 'FfmpegStartError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Node's error for a child that could not be spawned: `syscall` is `spawn <file>`. */
export function isSpawnFailure(err: unknown): err is NodeJS.ErrnoException {
  const syscall = (err as NodeJS.ErrnoException | undefined)?.syscall;
  return typeof syscall === 'string' && syscall.startsWith('spawn');
}

/** A file ffprobe cannot read as a video: missing, unreadable, not media, or without a video stream. */
export class ProbeError extends Error {
  override name = 'ProbeError';
  constructor(
    message: string,
    readonly path: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** ffmpeg ran and failed. `stderr` is the tail of its log; `diskFull` when it hit ENOSPC. */
export class FfmpegRunError extends Error {
  override name = 'FfmpegRunError';
  constructor(
    message: string,
    readonly stderr: string,
    readonly diskFull: boolean,
  ) {
    super(message);
  }
}

/** Thrown when the signal aborts and its reason is not already an Error (Temporal gives a CancelledFailure). */
export class FfmpegAbortError extends Error {
  override name = 'AbortError';
}

export interface RunFfmpegOptions {
  /** Input files, in `[i:v]` order. */
  inputs: string[];
  /** Options given before each input (`-threads 2`). */
  inputOptions?: string[];
  /** One `-filter_complex` graph. */
  filterComplex?: string;
  /** Everything between the graph and the output file: `-map`, codecs, muxer flags. */
  outputOptions: string[];
  output: string;
  /** Output duration the progress fraction is relative to. */
  expectedDurationSeconds?: number;
  signal?: AbortSignal;
  /** 0..1, from ffmpeg's output time; monotonic, reaches 1 only on success. */
  onProgress?: (fraction: number) => void;
}

/** What ffmpeg's own final statistics line says it wrote. */
export interface RunFfmpegResult {
  /** Video frames encoded (`frame=` of the last statistics line); undefined for audio or image-less runs. */
  frames?: number;
}
