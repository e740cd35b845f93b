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
  buildInput(args: ModelInputArgs): Record<string, unknown>;
}

const kling = (replicateModel: string, pricePerSecond: number): ModelSpec => ({
  replicateModel,
  pricePerSecond,
  durations: [5, 10],
  aspectRatios: ['16:9', '9:16', '1:1'],
  maxPromptChars: 2500,
  buildInput: ({ prompt, seconds, aspectRatio, negativePrompt }) => ({
    prompt,
    duration: seconds,
    aspect_ratio: aspectRatio,
    ...(negativePrompt ? { negative_prompt: negativePrompt } : {}),
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
