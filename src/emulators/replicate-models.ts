/**
 * Input schemas of the video models beyond Kling v2.5 Turbo Pro, as the emulated Replicate checks
 * them (a 422 naming each bad field, like the real API). Written from the models' API pages
 * (docs/provider-facts.md), not from vidflow's model table, so a wrong input in the table is caught
 * here as it would be at Replicate. Where a page was not confirmed, the schema is the narrow one.
 */
import { createHash } from 'node:crypto';
import type { ReplicateInputField, ReplicateModelSpec } from './replicate';

const uri: ReplicateInputField = { type: 'uri' };
const prompt = (maxLength: number): ReplicateInputField => ({ type: 'string', required: true, maxLength });
const durations = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const spec = (model: string, inputs: Record<string, ReplicateInputField>): ReplicateModelSpec => ({
  version: createHash('sha256').update(model).digest('hex'),
  inputs,
});

export const VIDEO_MODEL_SPECS: Record<string, ReplicateModelSpec> = {
  'kwaivgi/kling-v2.6': spec('kwaivgi/kling-v2.6', {
    prompt: prompt(2500),
    negative_prompt: { type: 'string', maxLength: 2500 },
    start_image: uri,
    aspect_ratio: { type: 'string', enum: ['16:9', '9:16', '1:1'], default: '16:9' },
    duration: { type: 'integer', enum: [5, 10], default: 5 },
    generate_audio: { type: 'boolean', default: true },
  }),
  'kwaivgi/kling-v3-video': spec('kwaivgi/kling-v3-video', {
    prompt: prompt(2500),
    negative_prompt: { type: 'string', maxLength: 2500 },
    multi_prompt: { type: 'string' },
    start_image: uri,
    end_image: uri,
    aspect_ratio: { type: 'string', enum: ['16:9', '9:16', '1:1'], default: '16:9' },
    duration: { type: 'integer', enum: durations(3, 15), default: 5 },
    mode: { type: 'string', enum: ['standard', 'pro'], default: 'pro' },
    generate_audio: { type: 'boolean', default: false },
  }),
  'google/veo-3.1-fast': spec('google/veo-3.1-fast', {
    prompt: prompt(2500),
    negative_prompt: { type: 'string' },
    image: uri,
    last_frame: uri,
    aspect_ratio: { type: 'string', enum: ['16:9', '9:16'], default: '16:9' },
    duration: { type: 'integer', enum: [4, 6, 8], default: 8 },
    generate_audio: { type: 'boolean', default: true },
    seed: { type: 'integer' },
  }),
  'bytedance/seedance-2.0': spec('bytedance/seedance-2.0', {
    prompt: prompt(2500),
    image: uri,
    last_frame_image: uri,
    aspect_ratio: { type: 'string', enum: ['16:9', '9:16', '1:1', '4:3', '3:4', '21:9'], default: '16:9' },
    duration: { type: 'integer', enum: durations(4, 15), default: 5 },
    generate_audio: { type: 'boolean', default: true },
    seed: { type: 'integer' },
  }),
  'minimax/hailuo-2.3': spec('minimax/hailuo-2.3', {
    prompt: prompt(2000),
    first_frame_image: uri,
    duration: { type: 'integer', enum: [6, 10], default: 6 },
    prompt_optimizer: { type: 'boolean', default: true },
  }),
  'wan-video/wan-2.7-i2v': spec('wan-video/wan-2.7-i2v', {
    prompt: prompt(2000),
    negative_prompt: { type: 'string' },
    first_frame: { type: 'uri', required: true },
    last_frame: uri,
    duration: { type: 'integer', enum: durations(2, 15), default: 5 },
    seed: { type: 'integer' },
  }),
};

/** A video model's first and last frame inputs, whatever each model calls them. */
export function frameInputs(input: Record<string, unknown>): { start?: string; end?: string } {
  const pick = (...names: string[]) => {
    for (const n of names) if (typeof input[n] === 'string') return input[n];
    return undefined;
  };
  const start = pick('start_image', 'image', 'first_frame_image', 'first_frame');
  const end = pick('end_image', 'last_frame', 'last_frame_image');
  return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
}
