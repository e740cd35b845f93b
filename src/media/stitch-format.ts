/**
 * What the stitched video looks like (size, rate, frames per clip) and what each clip needs to get
 * there. Shared by the windowed graph (stitch-graph.ts) and the whole-clip chain (stitch-chain.ts).
 *
 * - rotation: ffmpeg's default autorotate turns rotated clips upright; we size them by their
 *   displayed (rotated) dimensions;
 * - size: `size`, else the first clip's displayed size; other clips are scaled to fit inside it with
 *   their aspect ratio kept and black letterbox/pillarbox bars (never cropped, never stretched);
 * - frame rate: `fps`, else the highest input rate (so no clip drops frames), capped at 60;
 * - square pixels and yuv420p (what every player decodes).
 */
import type { MediaInfo } from './ffmpeg';

export const DEFAULT_FADE_SECONDS = 0.5;
const MAX_DEFAULT_FPS = 60;
export const AUDIO_RATE = 48_000;
export const PIX_FMT = 'yuv420p';

export interface GraphOptions {
  transition?: string;
  fadeSeconds?: number;
  fps?: number;
  size?: { width: number; height: number };
}

export interface StitchPlan {
  /** `windows`: xfade on the transition windows only; `chain`: xfade over whole clips (windows would overlap); `cuts`; `single`. */
  shape: 'windows' | 'chain' | 'cuts' | 'single';
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
  /** Start of each transition (or cut) in output time; offsets[0] = 0. */
  offsets: number[];
  /** Length of each transition as it is shown, in seconds (0 for cuts). */
  fadeSeconds: number;
  outputDurationSeconds: number;
}

export interface OutputFormat {
  width: number;
  height: number;
  fps: string;
  fpsValue: number;
  /** Frames each clip contributes before any overlap: round(duration × rate), at least 1. */
  frames: number[];
}

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
export const sec = (s: number) => s.toFixed(6).replace(/\.?0+$/, '') || '0';

export function displaySize(info: MediaInfo): { width: number; height: number } {
  const quarterTurn = info.rotation === 90 || info.rotation === 270;
  return quarterTurn ? { width: info.height, height: info.width } : { width: info.width, height: info.height };
}

export function outputFormat(infos: MediaInfo[], opts: GraphOptions): OutputFormat {
  const first = infos[0];
  if (!first) throw new Error('no clips to stitch');
  const fps = rateString(opts.fps ?? Math.min(MAX_DEFAULT_FPS, Math.max(...infos.map((i) => i.fps))));
  const fpsValue = rateValue(fps);
  const target = opts.size ?? displaySize(first);
  // Whole frames at the output rate: the fps filter emits round(d * fps) frames, and cutting on
  // frame boundaries keeps the output length exact (Σd − (n−1)·T, no stray extra frame).
  const frames = infos.map((i) => Math.max(1, Math.round(i.durationSeconds * fpsValue)));
  return { width: even(target.width), height: even(target.height), fps, fpsValue, frames };
}

/** Which per-frame conversions a clip needs to match the output; each costs time on every frame. */
export interface ClipNeeds {
  fps: boolean;
  scale: boolean;
  sar: boolean;
  format: boolean;
}

export function clipNeeds(info: MediaInfo, index: number, out: OutputFormat): ClipNeeds {
  const shown = displaySize(info);
  return {
    // A clip already at the output rate keeps its frames as they are, provided its timestamps are
    // regular and its declared frame count (when there is one) is the one its duration implies:
    // the cuts are made on frame times, so they must be where we expect them.
    fps:
      rateString(info.fps) !== out.fps ||
      !info.constantFrameRate ||
      (info.frames !== undefined && info.frames !== out.frames[index]),
    scale: shown.width !== out.width || shown.height !== out.height,
    // concat and xfade refuse inputs whose SAR differs, and 0:1 ("unknown") is not 1:1 to them.
    sar: info.sar !== '1:1',
    format: info.pixFmt !== PIX_FMT,
  };
}

/** The filters that bring a clip to the output format; `all` applies every one (the whole-clip chain). */
export function normalise(needs: ClipNeeds, out: OutputFormat, all = false): string[] {
  const chain = ['setpts=PTS-STARTPTS'];
  if (all || needs.fps) chain.push(`fps=${out.fps}`);
  if (needs.scale) {
    chain.push(
      `scale=${out.width}:${out.height}:force_original_aspect_ratio=decrease:force_divisible_by=2`,
      `pad=${out.width}:${out.height}:(ow-iw)/2:(oh-ih)/2:color=black`,
    );
  }
  // scale+pad keeps the displayed shape by changing the SAR (81:80 and the like): undo it.
  if (all || needs.sar || needs.scale) chain.push('setsar=1');
  if (all || needs.format) chain.push(`format=${PIX_FMT}`);
  return chain;
}

/**
 * A clip's audio as stereo 48 kHz of exactly `samples` samples: its own track padded or cut, or
 * silence for a clip without one, so that audio pieces line up with the video's.
 */
export function audioTrack(info: MediaInfo, index: number, samples: number): string {
  const src = info.hasAudio
    ? `[${index}:a]asetpts=PTS-STARTPTS,aresample=${AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,apad=whole_len=${samples}`
    : `anullsrc=r=${AUDIO_RATE}:cl=stereo`;
  return `${src},atrim=end_sample=${samples},asetpts=PTS-STARTPTS`;
}
