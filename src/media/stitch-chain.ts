/**
 * The whole-clip xfade chain: every clip normalised (fps, scale, SAR, format, timebase) and each
 * joined to the running result with one xfade over its whole length. xfade handles every frame of
 * both of its inputs (and converts them to yuv444p and back, as it has no yuv420p), so this costs
 * far more than the windowed graph of stitch-graph.ts, which shows the same frames.
 *
 * Still used by the stitcher when windows would overlap (a middle clip shorter than two fades plus
 * a frame, where the windowed graph has no body to cut), and by bench/stitch.ts as the reference the
 * windowed graph is measured against (it was vidflow's only graph until issue #17).
 */
import type { MediaInfo } from './ffmpeg';
import { AUDIO_RATE, DEFAULT_FADE_SECONDS, clipNeeds, normalise, outputFormat, sec } from './stitch-format';
import type { GraphOptions, StitchPlan } from './stitch-format';

export function planChainStitch(infos: MediaInfo[], opts: GraphOptions = {}): StitchPlan {
  const out = outputFormat(infos, opts);
  const transition = opts.transition ?? 'fade';
  const fade = opts.fadeSeconds ?? DEFAULT_FADE_SECONDS;
  const { fps, fpsValue } = out;
  const durations = out.frames.map((f) => f / fpsValue);
  const n = infos.length;
  const hasAudio = infos.some((i) => i.hasAudio);

  const parts: string[] = [];
  infos.forEach((info, i) => {
    const chain = [...normalise(clipNeeds(info, i, out), out, true), 'settb=AVTB'];
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
  let shape: StitchPlan['shape'] = 'chain';
  if (n === 1) {
    shape = 'single';
    parts.push(`[v0]null[vout]`);
    if (hasAudio) parts.push(`[a0]anull[aout]`);
    outputDurationSeconds = durations[0]!;
  } else if (fade === 0) {
    shape = 'cuts';
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
    shape,
    filterComplex: parts.join(';'),
    maps: ['-map', '[vout]', ...(hasAudio ? ['-map', '[aout]'] : [])],
    hasAudio,
    width: out.width,
    height: out.height,
    fps,
    fpsValue,
    durations,
    offsets,
    fadeSeconds: n > 1 ? fade : 0,
    outputDurationSeconds,
  };
}
