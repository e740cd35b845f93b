/**
 * The stitch filtergraph: cross-fades only the transition windows and joins everything else with
 * `concat`, so the costly work (xfade, and the yuv444p round trip xfade needs in ffmpeg 5.1) runs on
 * (n−1)·(K+1) frames instead of every frame, and a clip that already matches the output passes
 * through untouched (no fps, scale or format filter on its frames).
 *
 * With K = round(fade × rate) frames per transition and N_i frames in clip i, each clip is `split`
 * into up to three pieces, cut on frame numbers:
 *   head_i = frames [0, K]        (i > 0)     the fade-in, plus the frame where it lands (progress 0)
 *   body_i = frames [K+1, N_i−K)  (i > 0; from 0 for the first clip, to N_i for the last)
 *   tail_i = frames [N_i−K, N_i)  (i < n−1)   the fade-out
 * and the output is body_0, xfade(tail_0, head_1), body_1, …, body_{n−1}: the same frames as the
 * whole-clip chain (stitch-chain.ts), K+1 blended frames per transition with progress 1 … 0, and
 * Σ N_i − (n−1)·K frames in all. Audio is cut at the same frame times (in samples) and joined the
 * same way, with acrossfade on the windows.
 *
 * When windows would overlap (a middle clip shorter than 2K+1 frames, or an end clip shorter than
 * K+1), there is no body to cut: the whole-clip chain is used instead.
 */
import type { MediaInfo } from './ffmpeg';
import { planChainStitch } from './stitch-chain';
import {
  AUDIO_RATE,
  DEFAULT_FADE_SECONDS,
  PIX_FMT,
  audioTrack,
  clipNeeds,
  normalise,
  outputFormat,
  sec,
} from './stitch-format';
import type { GraphOptions, StitchPlan } from './stitch-format';

interface Cut {
  head: boolean;
  bodyStart: number;
  bodyEnd: number;
  tail: boolean;
}

function cutsOf(frames: number[], k: number): Cut[] {
  const n = frames.length;
  return frames.map((count, i) => {
    const head = i > 0 && k > 0;
    const tail = i < n - 1 && k > 0;
    return { head, bodyStart: head ? k + 1 : 0, bodyEnd: tail ? count - k : count, tail };
  });
}

/** Builds the filtergraph; pure, so the bench can re-encode the very same graph with other settings. */
export function planStitch(infos: MediaInfo[], opts: GraphOptions = {}): StitchPlan {
  const out = outputFormat(infos, opts);
  const n = infos.length;
  const transition = opts.transition ?? 'fade';
  const fade = opts.fadeSeconds ?? DEFAULT_FADE_SECONDS;
  const { fps, fpsValue: F, frames } = out;
  // Transitions last whole frames; a fade shorter than half a frame is a cut.
  const k = n > 1 ? Math.round(fade * F) : 0;
  const cuts = cutsOf(frames, k);
  if (cuts.some((c) => c.bodyEnd < c.bodyStart)) return planChainStitch(infos, opts);

  const hasAudio = infos.some((i) => i.hasAudio);
  /** The audio sample where frame f starts. */
  const sample = (f: number) => Math.round((f * AUDIO_RATE) / F);
  const needs = infos.map((info, i) => clipNeeds(info, i, out));
  // xfade refuses inputs whose timebase or declared frame rate differ. Clips that keep their own
  // timing (no fps filter) and agree on it need nothing; otherwise both pieces of the window go
  // through `fps` (a no-op on frames already at the rate). Only there: fps holds on to a frame,
  // and the memory adds up at 1080p.
  const timing = (i: number) => (needs[i]!.fps ? `fps ${fps}` : `${infos[i]!.declaredRate} ${infos[i]!.timeBase}`);
  const sameTiming = (i: number) => timing(i - 1) === timing(i);
  // Cuts count frames, not timestamps: trim's times are rounded to the link's timebase, which at
  // 1/F puts a "half a frame early" cut on either frame. `format` makes the conversion to xfade's
  // yuv444p (it has no yuv420p) happen here, on the window's frames only.
  const windowPiece = (range: string, retime: boolean) =>
    `trim=${range},setpts=PTS-STARTPTS,${retime ? `fps=${fps},` : ''}format=${PIX_FMT}`;

  const parts: string[] = [];
  const video: string[] = [];
  const audio: string[] = [];
  infos.forEach((info, i) => {
    const cut = cuts[i]!;
    const count = frames[i]!;
    const hasBody = cut.bodyEnd > cut.bodyStart;
    const pieces = [cut.head && 'h', hasBody && 'b', cut.tail && 't'].filter((p): p is string => !!p);
    const fan = (src: string, filter: string, prefix: string) =>
      pieces.length === 1
        ? `${src}[${prefix}${pieces[0]}${i}]`
        : `${src},${filter}=${pieces.length}${pieces.map((p) => `[${prefix}${p}${i}]`).join('')}`;

    parts.push(fan(`[${i}:v]${normalise(needs[i]!, out).join(',')}`, 'split', 'p'));
    // xfade 5.1 waits forever for its second input when that one ends first in mid-transition:
    // the head is made exactly K+1 frames (cloning its last should the clip have fewer than its
    // header said), the tail at most K. The fade then ends on the tail's EOF and xfade passes
    // the head's last frame through: the K+1 frames of progress 1 … 0 of the whole-clip chain.
    if (cut.head) {
      const piece = windowPiece(`end_frame=${k + 1}`, !sameTiming(i));
      parts.push(`[ph${i}]${piece},tpad=stop_mode=clone:stop=${k + 1},trim=end_frame=${k + 1}[vh${i}]`);
    }
    if (hasBody) {
      const start = cut.bodyStart > 0 ? `start_frame=${cut.bodyStart}:` : '';
      parts.push(`[pb${i}]trim=${start}end_frame=${cut.bodyEnd},setpts=PTS-STARTPTS[vb${i}]`);
    }
    if (cut.tail) {
      const piece = windowPiece(`start_frame=${count - k}:end_frame=${count}`, !sameTiming(i + 1));
      parts.push(`[pt${i}]${piece},trim=end_frame=${k}[vt${i}]`);
    }

    if (hasAudio) {
      parts.push(fan(audioTrack(info, i, sample(count)), 'asplit', 'q'));
      if (cut.head) parts.push(`[qh${i}]atrim=end_sample=${sample(k + 1)},asetpts=PTS-STARTPTS[ah${i}]`);
      if (hasBody) {
        const start = cut.bodyStart > 0 ? `start_sample=${sample(cut.bodyStart)}:` : '';
        parts.push(`[qb${i}]atrim=${start}end_sample=${sample(cut.bodyEnd)},asetpts=PTS-STARTPTS[ab${i}]`);
      }
      if (cut.tail) parts.push(`[qt${i}]atrim=start_sample=${sample(count - k)},asetpts=PTS-STARTPTS[at${i}]`);
    }

    if (i > 0 && k > 0) {
      // The window between clip i−1 and clip i.
      parts.push(
        `[vt${i - 1}][vh${i}]xfade=transition=${transition}:duration=${sec(k / F)}:offset=0,format=${PIX_FMT}[vw${i}]`,
      );
      video.push(`[vw${i}]`);
      if (hasAudio) {
        const overlap = sample(frames[i - 1]!) - sample(frames[i - 1]! - k);
        parts.push(`[at${i - 1}][ah${i}]acrossfade=ns=${overlap}[aw${i}]`);
        audio.push(`[aw${i}]`);
      }
    }
    if (hasBody) {
      video.push(`[vb${i}]`);
      if (hasAudio) audio.push(`[ab${i}]`);
    }
  });

  // Output timestamps are the frame numbers, whatever concat made of the pieces' (it dates a
  // one-frame piece as lasting no time at all).
  const [num, den] = fps.includes('/') ? fps.split('/') : [fps, '1'];
  const renumber = `settb=${den}/${num},setpts=N`;
  parts.push(
    video.length === 1
      ? `${video[0]}${renumber}[vout]`
      : `${video.join('')}concat=n=${video.length}:v=1:a=0,${renumber}[vout]`,
  );
  if (hasAudio) {
    parts.push(
      audio.length === 1 ? `${audio[0]}anull[aout]` : `${audio.join('')}concat=n=${audio.length}:v=0:a=1[aout]`,
    );
  }

  const offsets = [0];
  let start = 0;
  for (let i = 1; i < n; i++) offsets.push((start += frames[i - 1]! - k) / F);
  const total = frames.reduce((a, b) => a + b, 0) - (n - 1) * k;
  return {
    shape: n === 1 ? 'single' : k > 0 ? 'windows' : 'cuts',
    filterComplex: parts.join(';'),
    maps: ['-map', '[vout]', ...(hasAudio ? ['-map', '[aout]'] : [])],
    hasAudio,
    width: out.width,
    height: out.height,
    fps,
    fpsValue: F,
    durations: frames.map((f) => f / F),
    offsets,
    fadeSeconds: k / F,
    outputDurationSeconds: total / F,
  };
}
