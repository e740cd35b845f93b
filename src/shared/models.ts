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
  /** The run asked for an audio track; only for a model with `audio.supported`. */
  audio?: boolean | undefined;
  /** Multi-shot mode: every scene as one shot of a single clip (`seconds` is their sum). */
  shots?: { prompt: string; seconds: number }[] | undefined;
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
  /** Image-to-video only: a run without storyboard keyframes has no first frame to give it. */
  needsStartImage?: boolean;
  /** Price-changing audio: buildInput always sets the model's audio flag explicitly. */
  audio: { supported: boolean; pricePerSecondWithAudio?: number };
  /** Renders several shots as one clip (Kling v3's `multi_prompt`): no stitch, no single-scene redo. */
  multiShot?: { maxShots: number };
  buildInput(args: ModelInputArgs): Record<string, unknown>;
}

const ALL_RATIOS: readonly AspectRatio[] = ['16:9', '9:16', '1:1'];
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const opt = (key: string, value: string | undefined): Record<string, string> => (value ? { [key]: value } : {});

const kling = (replicateModel: string, pricePerSecond: number): ModelSpec => ({
  replicateModel,
  pricePerSecond,
  durations: [5, 10],
  aspectRatios: ALL_RATIOS,
  maxPromptChars: 2500,
  frames: { start: true, end: true },
  audio: { supported: false },
  buildInput: ({ prompt, seconds, aspectRatio, negativePrompt, startImage, endImage }) => ({
    prompt,
    duration: seconds,
    // Kling ignores aspect_ratio when given a start image: the keyframes carry the aspect ratio.
    aspect_ratio: aspectRatio,
    ...opt('negative_prompt', negativePrompt),
    ...opt('start_image', startImage),
    ...opt('end_image', endImage),
  }),
});

export const MODELS = {
  'kling-v2.5-turbo-pro': kling('kwaivgi/kling-v2.5-turbo-pro', 0.07),
  // generate_audio defaults to TRUE at Replicate and doubles the price: always sent.
  'kling-v2.6': {
    replicateModel: 'kwaivgi/kling-v2.6',
    pricePerSecond: 0.07,
    durations: [5, 10],
    aspectRatios: ALL_RATIOS,
    maxPromptChars: 2500,
    frames: { start: true, end: false },
    audio: { supported: true, pricePerSecondWithAudio: 0.14 },
    buildInput: ({ prompt, seconds, aspectRatio, negativePrompt, startImage, audio }) => ({
      prompt,
      duration: seconds,
      aspect_ratio: aspectRatio,
      generate_audio: audio === true,
      ...opt('negative_prompt', negativePrompt),
      ...opt('start_image', startImage),
    }),
  },
  // mode set explicitly: pro (1080p) costs $0.224/s against standard's $0.168/s.
  'kling-v3': {
    replicateModel: 'kwaivgi/kling-v3-video',
    pricePerSecond: 0.168,
    durations: range(3, 15),
    aspectRatios: ALL_RATIOS,
    maxPromptChars: 2500,
    frames: { start: true, end: true },
    audio: { supported: true, pricePerSecondWithAudio: 0.168 },
    multiShot: { maxShots: 6 },
    buildInput: (a) => ({
      prompt: a.prompt,
      duration: a.seconds,
      aspect_ratio: a.aspectRatio,
      mode: 'standard',
      generate_audio: a.audio === true,
      // A JSON array of {prompt, duration}; the durations sum to `duration`.
      ...(a.shots
        ? { multi_prompt: JSON.stringify(a.shots.map((s) => ({ prompt: s.prompt, duration: s.seconds }))) }
        : {}),
      ...opt('negative_prompt', a.negativePrompt),
      ...opt('start_image', a.startImage),
      ...opt('end_image', a.endImage),
    }),
  },
  // Prices from a third-party audit (2026-10), unconfirmed. generate_audio defaults to true.
  'veo-3.1-fast': {
    replicateModel: 'google/veo-3.1-fast',
    pricePerSecond: 0.1,
    durations: [4, 6, 8],
    aspectRatios: ['16:9', '9:16'],
    maxPromptChars: 2500,
    frames: { start: true, end: true },
    audio: { supported: true, pricePerSecondWithAudio: 0.15 },
    buildInput: (a) => ({
      prompt: a.prompt,
      duration: a.seconds,
      aspect_ratio: a.aspectRatio,
      generate_audio: a.audio === true,
      ...opt('negative_prompt', a.negativePrompt),
      ...opt('image', a.startImage),
      ...opt('last_frame', a.endImage),
    }),
  },
  // Durations 4..15 s assumed ("up to 15 s"); $0.12/s unconfirmed. Audio defaults to true.
  'seedance-2.0': {
    replicateModel: 'bytedance/seedance-2.0',
    pricePerSecond: 0.12,
    durations: range(4, 15),
    aspectRatios: ALL_RATIOS,
    maxPromptChars: 2500,
    frames: { start: true, end: true },
    audio: { supported: true, pricePerSecondWithAudio: 0.12 },
    buildInput: (a) => ({
      prompt: a.prompt,
      duration: a.seconds,
      aspect_ratio: a.aspectRatio,
      generate_audio: a.audio === true,
      ...opt('image', a.startImage),
      ...opt('last_frame_image', a.endImage),
    }),
  },
  // $0.045/s unconfirmed; no audio.
  'hailuo-2.3': {
    replicateModel: 'minimax/hailuo-2.3',
    pricePerSecond: 0.045,
    durations: [6, 10],
    aspectRatios: ['16:9'],
    maxPromptChars: 2000,
    frames: { start: true, end: false },
    audio: { supported: false },
    buildInput: (a) => ({
      prompt: a.prompt,
      duration: a.seconds,
      ...opt('first_frame_image', a.startImage),
    }),
  },
  // Image-to-video: only storyboard runs have a first frame. $0.10/s unconfirmed.
  'wan-2.7': {
    replicateModel: 'wan-video/wan-2.7-i2v',
    pricePerSecond: 0.1,
    durations: range(2, 15),
    aspectRatios: ALL_RATIOS,
    maxPromptChars: 2000,
    frames: { start: true, end: true },
    needsStartImage: true,
    audio: { supported: false },
    buildInput: (a) => ({
      prompt: a.prompt,
      duration: a.seconds,
      ...opt('negative_prompt', a.negativePrompt),
      ...opt('first_frame', a.startImage),
      ...opt('last_frame', a.endImage),
    }),
  },
} as const satisfies Record<string, ModelSpec>;

export type ModelId = keyof typeof MODELS;
const MODEL_IDS = Object.keys(MODELS) as [ModelId, ...ModelId[]];
export const DEFAULT_MODEL: ModelId = 'kling-v2.5-turbo-pro';

/** Accepts our short id or the Replicate `owner/name` of a known model. */
export function resolveModelId(name: string): ModelId | undefined {
  if (name in MODELS) return name as ModelId;
  return MODEL_IDS.find((id) => MODELS[id].replicateModel === name);
}

export function estimateCostUsd(
  model: ModelId,
  scenes: number,
  seconds: number,
  options: { audio?: boolean } = {},
): number {
  const spec: ModelSpec = MODELS[model];
  const perSecond =
    options.audio === true ? (spec.audio.pricePerSecondWithAudio ?? spec.pricePerSecond) : spec.pricePerSecond;
  return Math.round(perSecond * scenes * seconds * 100) / 100;
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
