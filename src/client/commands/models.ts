/**
 * `vidflow models [--scenes N] [--seconds S] [--audio] [--json]`: the video models and keyframe
 * image models vidflow knows, with what a video costs at the given settings. Needs no
 * configuration, so it runs without Temporal or the environment.
 */
import { parseArgs } from 'node:util';
import { IMAGE_MODELS, MODELS, estimateCostUsd, type ModelId, type ModelSpec } from '../../shared/models';
import { CliError } from '../errors';
import { out } from './command';

export const usage = `usage: vidflow models [--scenes N] [--seconds S] [--audio] [--json]   models, limits and prices`;

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${flag} must be a positive whole number, got "${v}"`, 2);
  return n;
}

export function run(_config: unknown, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      scenes: { type: 'string' },
      seconds: { type: 'string' },
      audio: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const scenes = values.scenes !== undefined ? positiveInt('scenes', values.scenes) : 3;
  const seconds = values.seconds !== undefined ? positiveInt('seconds', values.seconds) : 5;
  const audio = values.audio === true;
  const video = (Object.keys(MODELS) as ModelId[]).map((id) => {
    const m: ModelSpec = MODELS[id];
    const priced = m.durations.includes(seconds) && (!audio || m.audio.supported);
    return {
      id,
      replicateModel: m.replicateModel,
      durations: m.durations,
      aspectRatios: m.aspectRatios,
      frames: m.frames,
      needsStartImage: m.needsStartImage === true,
      audio: m.audio.supported,
      maxPromptChars: m.maxPromptChars,
      priceUsd: priced ? estimateCostUsd(id, scenes, seconds, { audio }) : null,
    };
  });
  const images = Object.entries(IMAGE_MODELS).map(([id, m]) => ({
    id,
    replicateModel: m.replicateModel,
    reference: m.reference,
    pricePerImageUsd: m.pricePerImage,
  }));
  if (values.json) {
    out(JSON.stringify({ scenes, seconds, audio, video, images }, null, 2));
    return Promise.resolve(0);
  }
  out(`video models (${scenes} × ${seconds} s${audio ? ', with audio' : ''}):`);
  for (const v of video) {
    const frames = [v.frames.start ? 'start' : '', v.frames.end ? 'end' : ''].filter(Boolean).join('+') || 'none';
    out(
      `  ${v.id.padEnd(22)} ${v.replicateModel.padEnd(30)} ${durationsText(v.durations)} s  frames ${frames}${v.needsStartImage ? ' (required)' : ''}  audio ${v.audio ? 'yes' : 'no'}  prompt ≤${v.maxPromptChars}  ${v.priceUsd === null ? '—' : `$${v.priceUsd.toFixed(2)}`}`,
    );
  }
  out('keyframe image models:');
  for (const i of images) out(`  ${i.id.padEnd(22)} ${i.replicateModel.padEnd(36)} $${i.pricePerImageUsd} per image`);
  return Promise.resolve(0);
}

/** `5/10`, or `3–15` for a run of whole seconds. */
function durationsText(ds: readonly number[]): string {
  const first = ds[0];
  const last = ds.at(-1);
  const run = ds.length > 2 && first !== undefined && last !== undefined && last - first === ds.length - 1;
  return run ? `${first}–${last}` : ds.join('/');
}
