/**
 * zod schemas of everything that crosses a boundary: the workflow's input and result, the plan,
 * the status query, and the activities' inputs and results. Types are inferred from them, so a
 * shape is written once. The client validates input before starting a run and the workflow
 * validates it again, because the Temporal CLI and Web UI can start runs without our client.
 */
import { z } from 'zod';
import { DEFAULT_MODEL, MODELS, resolveModelId } from './models';

export const MAX_PROMPT_CHARS = 4000;
export const MAX_SCENES = 6;
export const ASPECT_RATIOS = ['16:9', '9:16', '1:1'] as const;

export const AspectRatioSchema = z.enum(ASPECT_RATIOS);

const promptText = (what: string, max: number) =>
  z
    .string({ error: `${what} must be a string` })
    .refine((s) => s.trim().length > 0, `${what} must not be blank`)
    .refine((s) => s.length <= max, `${what} is longer than ${max} characters`);

export const ModelIdSchema = z
  .string()
  .transform((name, ctx) => {
    const id = resolveModelId(name);
    if (!id) {
      ctx.addIssue({ code: 'custom', message: `unknown model "${name}"; known: ${Object.keys(MODELS).join(', ')}` });
      return z.NEVER;
    }
    return id;
  })
  .default(DEFAULT_MODEL);

export const PipelineInputSchema = z
  .object({
    prompt: promptText('prompt', MAX_PROMPT_CHARS),
    scenes: z.number().int().min(1).max(MAX_SCENES).default(3),
    sceneSeconds: z.union([z.literal(5), z.literal(10)]).default(5),
    aspectRatio: AspectRatioSchema.default('16:9'),
    model: ModelIdSchema,
    transitionSeconds: z.number().min(0).max(2).default(0.5),
    autoApprove: z.boolean().default(false),
  })
  .strict()
  .refine((i) => i.transitionSeconds < i.sceneSeconds, {
    message: 'transitionSeconds must be shorter than a scene',
    path: ['transitionSeconds'],
  });

/** What callers may send (defaults optional). */
export type PipelineInputArgs = z.input<typeof PipelineInputSchema>;
/** What the workflow works with (defaults filled in). */
export type PipelineInput = z.output<typeof PipelineInputSchema>;

/** Formats a zod error as one readable line per problem: `scenes: Too big: expected number to be <=6`. */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

// ---- plan -------------------------------------------------------------------------------------

export const PlannerSchema = z.enum(['openai', 'fallback']);
export type Planner = z.infer<typeof PlannerSchema>;

export const PlanSchema = z.object({
  planner: PlannerSchema,
  /** Why the fallback was used, shown to the reviewer. */
  note: z.string().optional(),
  scenes: z.array(z.string().min(1)).min(1).max(MAX_SCENES),
});
export type Plan = z.infer<typeof PlanSchema>;

export const PlanInputSchema = z.object({
  prompt: z.string(),
  scenes: z.number().int().min(1).max(MAX_SCENES),
  sceneSeconds: z.number(),
  /** Per-scene prompt limit of the chosen model. */
  maxScenePromptChars: z.number().int().positive(),
});
export type PlanInput = z.infer<typeof PlanInputSchema>;

// ---- scenes, status ---------------------------------------------------------------------------

export const STAGES = [
  'planning',
  'awaiting_approval',
  'generating',
  'stitching',
  'completed',
  'failed',
  'cancelled',
] as const;
export type Stage = (typeof STAGES)[number];

export const SCENE_STATUSES = ['pending', 'generating', 'downloading', 'ready', 'failed', 'cancelled'] as const;
export type SceneStatus = (typeof SCENE_STATUSES)[number];

export interface SceneState {
  /** 1-based, as everywhere a person sees it. */
  index: number;
  prompt: string;
  status: SceneStatus;
  predictionId?: string;
  /** Predictions made for this scene (a regeneration after an expired URL adds one). */
  attempts: number;
  error?: string;
}

export interface OutputInfo {
  path: string;
  durationSeconds: number;
  sizeBytes: number;
}

export interface PipelineStatus {
  stage: Stage;
  planner?: Planner;
  plannerNote?: string;
  scenes: SceneState[];
  output?: OutputInfo;
  error?: string;
}

export interface PipelineResult extends OutputInfo {
  workflowId: string;
  scenes: { index: number; prompt: string; predictionId: string }[];
}

// ---- activities -------------------------------------------------------------------------------

export interface GenerateClipInput {
  workflowId: string;
  /** 1-based. */
  sceneIndex: number;
  sceneCount: number;
  prompt: string;
  model: string;
  seconds: number;
  aspectRatio: z.infer<typeof AspectRatioSchema>;
  negativePrompt?: string;
}

export interface GenerateClipResult {
  predictionId: string;
  outputUrl: string;
}

export interface DownloadClipInput {
  workflowId: string;
  sceneIndex: number;
  sceneCount: number;
  url: string;
}

export interface ClipFile {
  path: string;
  sizeBytes: number;
  durationSeconds: number;
  width: number;
  height: number;
  fps: number;
  hasAudio: boolean;
}

export interface StitchClipsInput {
  workflowId: string;
  /** Paths in scene order. */
  clips: string[];
  transitionSeconds: number;
}

/** Heartbeat details of the generate activity: what a retry needs to resume instead of paying again. */
export interface GenerateHeartbeat {
  predictionId: string;
  status?: string;
}

export interface DownloadHeartbeat {
  receivedBytes: number;
  totalBytes?: number;
  percent?: number;
}

export { MODELS };
