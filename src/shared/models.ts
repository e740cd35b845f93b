/**
 * Text-to-video models vidflow knows: Replicate id, the model's real input fields, and its price.
 * One table, so the cost estimate, input validation and the generate activity can never disagree.
 */
export type AspectRatio = '16:9' | '9:16' | '1:1';

export interface ModelInputArgs {
  prompt: string;
  seconds: number;
  aspectRatio: AspectRatio;
  negativePrompt?: string | undefined;
  /** URL of the scene's first frame (a storyboard keyframe); only for a model with `frames.start`. */
  startImage?: string | undefined;
  /** URL of the scene's last frame (the next keyframe); only for a model with `frames.end`. */
  endImage?: string | undefined;
}

export interface ModelSpec {
  /** Replicate's `owner/name` of an official model (POST /v1/models/{owner}/{name}/predictions). */
  replicateModel: string;
  /** US dollars per second of output video. */
  pricePerSecond: number;
  durations: readonly number[];
  aspectRatios: readonly AspectRatio[];
  /** Kling documents 2500 characters for prompt and negative_prompt. */
  maxPromptChars: number;
  /** Which frames the model can be given: storyboard runs need both (scene i runs kf i → kf i+1). */
  frames: { start: boolean; end: boolean };
  buildInput(args: ModelInputArgs): Record<string, unknown>;
}

const kling = (replicateModel: string, pricePerSecond: number): ModelSpec => ({
  replicateModel,
  pricePerSecond,
  durations: [5, 10],
  aspectRatios: ['16:9', '9:16', '1:1'],
  maxPromptChars: 2500,
  frames: { start: true, end: true },
  buildInput: ({ prompt, seconds, aspectRatio, negativePrompt, startImage, endImage }) => ({
    prompt,
    duration: seconds,
    // Kling ignores aspect_ratio when given a start image: the keyframes carry the aspect ratio.
    aspect_ratio: aspectRatio,
    ...(negativePrompt ? { negative_prompt: negativePrompt } : {}),
    ...(startImage ? { start_image: startImage } : {}),
    ...(endImage ? { end_image: endImage } : {}),
  }),
});

export const MODELS = {
  'kling-v2.5-turbo-pro': kling('kwaivgi/kling-v2.5-turbo-pro', 0.07),
} as const satisfies Record<string, ModelSpec>;

export type ModelId = keyof typeof MODELS;
const MODEL_IDS = Object.keys(MODELS) as [ModelId, ...ModelId[]];
export const DEFAULT_MODEL: ModelId = 'kling-v2.5-turbo-pro';

/** Accepts our short id or the Replicate `owner/name` of a known model. */
export function resolveModelId(name: string): ModelId | undefined {
  if (name in MODELS) return name as ModelId;
  return MODEL_IDS.find((id) => MODELS[id].replicateModel === name);
}

export function estimateCostUsd(model: ModelId, scenes: number, seconds: number): number {
  return Math.round(MODELS[model].pricePerSecond * scenes * seconds * 100) / 100;
}

/** The smallest prompt limit of any model: the safe bound when the model is not known. */
export const MIN_PROMPT_CHARS = Math.min(...MODEL_IDS.map((id) => MODELS[id].maxPromptChars));

// ---- storyboard keyframes (image models) -----------------------------------------------------

export interface ImageInputArgs {
  prompt: string;
  aspectRatio: AspectRatio;
  /** URL of a reference image (`--reference`): steers every keyframe toward one character or product. */
  referenceImage?: string | undefined;
  /** The same seed for every keyframe of a run, so they share a look. */
  seed?: number | undefined;
}

export interface ImageModelSpec {
  replicateModel: string;
  /** US dollars per image. */
  pricePerImage: number;
  /** Takes a reference image. */
  reference: boolean;
  buildInput(args: ImageInputArgs): Record<string, unknown>;
}

/**
 * Keyframes are cheap stills a person approves before any video is paid for. FLUX schnell
 * ($0.003 an image, about a second) when there is no reference: the shared look in the prompt and
 * one seed keep the frames alike; FLUX Kontext Pro ($0.04) when there is one, because it edits a
 * given image toward the prompt (the same character or product in every frame). Both take the
 * aspect ratio, which matters because Kling ignores `aspect_ratio` when given a start image.
 * PNG, set explicitly: lossless boundary frames, and schnell's default is WebP.
 */
export const IMAGE_MODELS = {
  'flux-schnell': {
    replicateModel: 'black-forest-labs/flux-schnell',
    pricePerImage: 0.003,
    reference: false,
    buildInput: ({ prompt, aspectRatio, seed }) => ({
      prompt,
      aspect_ratio: aspectRatio,
      num_outputs: 1,
      output_format: 'png',
      ...(seed !== undefined ? { seed } : {}),
    }),
  },
  'flux-kontext-pro': {
    replicateModel: 'black-forest-labs/flux-kontext-pro',
    pricePerImage: 0.04,
    reference: true,
    buildInput: ({ prompt, aspectRatio, referenceImage, seed }) => ({
      prompt,
      aspect_ratio: aspectRatio,
      output_format: 'png',
      ...(referenceImage ? { input_image: referenceImage } : {}),
      ...(seed !== undefined ? { seed } : {}),
    }),
  },
} as const satisfies Record<string, ImageModelSpec>;

export type ImageModelId = keyof typeof IMAGE_MODELS;

/** The image model for a storyboard: one that takes the reference when there is one. */
export function keyframeModelFor(hasReference: boolean): ImageModelId {
  return hasReference ? 'flux-kontext-pro' : 'flux-schnell';
}

// ---- the planner's LLM (OpenAI) ----------------------------------------------------------------

/**
 * The planner's default. `gpt-4o-mini`, the default before, leaves the OpenAI API on 2027-01-14
 * (OpenAI's deprecations page); `gpt-6-luna` is its recommended replacement and reasons by default.
 */
export const DEFAULT_PLANNER_MODEL = 'gpt-6-luna';

/**
 * Whether an OpenAI model reasons (o-series, gpt-5 and later, except their `-chat` variants).
 * Reasoning models answer 400 `unsupported_parameter` to sampling parameters (`temperature`,
 * `top_p`, ...) and take `reasoning_effort` instead; the others refuse `reasoning_effort`. Decided
 * by name because OpenAI's model list does not say, and asking would cost a request per plan.
 */
export function isReasoningModel(model: string): boolean {
  const name = model.replace(/^ft:/, '').toLowerCase();
  if (/(^|-)chat(-|$)/.test(name)) return false;
  return /^(o\d+|gpt-([5-9]|\d{2,}))([.-]|$)/.test(name);
}
