/**
 * What vidflow reads from ffprobe's answer (`-show_streams -show_format`, as fluent-ffmpeg parses
 * it): the first real video stream's size, duration, rates and format, and whether audio is there.
 * Pure, so ./ffmpeg.ts keeps only the running of ffprobe.
 */
import { ProbeError } from './ffmpeg-types';
import type { MediaInfo } from './ffmpeg-types';

/** The fields read here; ffprobe gives many more (fluent-ffmpeg's FfprobeData fits this shape). */
export interface ProbeStream {
  codec_type?: string | undefined;
  codec_name?: string | undefined;
  width?: number | undefined;
  height?: number | undefined;
  duration?: unknown;
  avg_frame_rate?: string | undefined;
  r_frame_rate?: string | undefined;
  time_base?: string | undefined;
  nb_frames?: unknown;
  pix_fmt?: string | undefined;
  sample_aspect_ratio?: string | undefined;
  rotation?: unknown;
  tags?: unknown;
  disposition?: { attached_pic?: number | undefined } | undefined;
}
export interface ProbeAnswer {
  streams: ProbeStream[];
  format: { duration?: unknown };
}

function parseRate(rate: unknown): number {
  if (typeof rate === 'number') return rate;
  if (typeof rate !== 'string') return 0;
  const [num, den] = rate.split('/').map(Number);
  if (num === undefined || !Number.isFinite(num)) return 0;
  if (den === undefined) return num;
  return den > 0 && Number.isFinite(den) ? num / den : 0;
}

function positive(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function rotationOf(stream: ProbeStream): number {
  // fluent-ffmpeg's parser flattens ffprobe's [SIDE_DATA] block into the stream, so the display
  // matrix's `rotation` lands on the stream itself; older files carry a `rotate` tag instead.
  const tags = stream.tags as Record<string, unknown> | undefined;
  const raw = Number(stream.rotation ?? tags?.rotate ?? 0);
  if (!Number.isFinite(raw)) return 0;
  return (((Math.round(raw / 90) * 90) % 360) + 360) % 360;
}

/** The clip's video facts; ProbeError (code NOVIDEO) when it has no usable video stream. */
export function mediaInfoFrom(path: string, data: ProbeAnswer, sizeBytes: number): MediaInfo {
  const video = data.streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video) throw new ProbeError(`${path} has no video stream`, path, 'NOVIDEO');
  const width = positive(video.width);
  const height = positive(video.height);
  const durationSeconds = positive(video.duration) ?? positive(data.format.duration);
  const avgRate = parseRate(video.avg_frame_rate);
  const baseRate = parseRate(video.r_frame_rate);
  const fps = avgRate || baseRate;
  if (!width || !height || !durationSeconds || !(fps > 0)) {
    throw new ProbeError(
      `${path} has no usable video (size ${video.width}x${video.height}, duration ${durationSeconds}, fps ${fps})`,
      path,
      'NOVIDEO',
    );
  }
  return {
    durationSeconds,
    width,
    height,
    fps,
    constantFrameRate: avgRate > 0 && baseRate > 0 && Math.abs(avgRate - baseRate) < 1e-3,
    declaredRate: String(video.r_frame_rate ?? 'unknown'),
    timeBase: String(video.time_base ?? 'unknown'),
    ...(positive(video.nb_frames) ? { frames: Math.round(positive(video.nb_frames)!) } : {}),
    pixFmt: String(video.pix_fmt ?? 'unknown'),
    sar: String(video.sample_aspect_ratio ?? 'unknown'),
    hasAudio: data.streams.some((s) => s.codec_type === 'audio'),
    rotation: rotationOf(video),
    sizeBytes,
    videoCodec: String(video.codec_name ?? 'unknown'),
  };
}
