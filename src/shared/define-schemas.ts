/**
 * How the zod schemas are made: every schema of ./schemas is built by `defineSchemas()`, and this
 * module builds none at its top level. ./schemas builds them once for the client, the activities and
 * the bot; the workflow takes them from ../workflows/validation.ts, which builds them once per
 * workflow thread instead of once per run (why: that file). The constants and the plain functions
 * are here so the workflow can import them without building a schema.
 */
import { z } from 'zod';
import { DEFAULT_MODEL, MODELS, resolveModelId } from './models';
import type { ModelId, ModelSpec } from './models';

export const MAX_PROMPT_CHARS = 4000;
export const MAX_SCENES = 6;
export const ASPECT_RATIOS = ['16:9', '9:16', '1:1'] as const;
export const MAX_FEEDBACK_CHARS = 2000;

/** Durations such as `5s`, `15m`, `24h`, `2d` (whole or decimal numbers). */
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `15m` into milliseconds; undefined when it is not a duration. Deterministic (used in workflows). */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

function takesBothFrames(model: ModelId): boolean {
  const { frames } = MODELS[model];
  return frames.start && frames.end;
}

/** Formats a zod error as one readable line per problem: `scenes: Too big: expected number to be <=6`. */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

function promptText(what: string, max: number) {
  return z
    .string({ error: `${what} must be a string` })
    .refine((s) => s.trim().length > 0, `${what} must not be blank`)
    .refine((s) => s.length <= max, `${what} is longer than ${max} characters`);
}

/** Builds every schema anew: call it once per place that keeps them (see the header). */
export function defineSchemas() {
  const AspectRatioSchema = z.enum(ASPECT_RATIOS);

  const ModelIdSchema = z
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

  const ApprovalTimeoutSchema = z
    .string()
    .refine((s) => parseDurationMs(s) !== undefined, 'approvalTimeout must be a duration such as 5s, 15m or 24h')
    .refine((s) => (parseDurationMs(s) ?? 0) >= 1000, 'approvalTimeout must be at least 1s');

  /**
   * How long a disk-bound step (download, stitch, publish) waits to be picked up by the worker
   * holding the run's clips before the run moves to another worker and fetches its clips again.
   */
  const WorkerTimeoutSchema = z
    .string()
    .refine((s) => parseDurationMs(s) !== undefined, 'workerTimeout must be a duration such as 30s or 2m')
    .refine((s) => (parseDurationMs(s) ?? 0) >= 1000, 'workerTimeout must be at least 1s');

  const PipelineInputSchema = z
    .object({
      prompt: promptText('prompt', MAX_PROMPT_CHARS),
      scenes: z.number().int().min(1).max(MAX_SCENES).default(3),
      sceneSeconds: z.number().int().positive().default(5),
      aspectRatio: AspectRatioSchema.default('16:9'),
      model: ModelIdSchema,
      /** Default 0.5 s; 0 (a hard cut) for storyboard runs, whose scenes share their boundary frame. */
      transitionSeconds: z.number().min(0).max(2).optional(),
      autoApprove: z.boolean().default(false),
      /** How long the plan waits for a person; then the run ends with stage `timed_out`. */
      approvalTimeout: ApprovalTimeoutSchema.default('24h'),
      /** Refuse a plan (or a redo) whose estimated cost is above this, in US dollars. */
      maxCostUsd: z.number().positive().optional(),
      /** Wait in `reviewing_result` after stitching, so single scenes can be redone. */
      reviewResult: z.boolean().default(false),
      workerTimeout: WorkerTimeoutSchema.default('1m'),
      /** Approve N+1 keyframes first; scene i is then generated from keyframe i to keyframe i+1. */
      storyboard: z.boolean().default(false),
      /** URL of an image every keyframe is steered toward (one character or product); storyboard runs only. */
      reference: z.url({ protocol: /^https?$/, error: 'reference must be an http(s) URL' }).optional(),
      /**
       * Every scene as one shot of a single clip (a model with multi-shot, Kling v3): the model keeps
       * the character and light across the cuts itself. No stitch, and no single-scene redo.
       */
      multiShot: z.boolean().default(false),
      /** An audio track; refused on a model without one (it changes the price where offered). */
      audio: z.boolean().default(false),
    })
    .strict()
    .transform((i) => ({ ...i, transitionSeconds: i.transitionSeconds ?? (i.storyboard ? 0 : 0.5) }))
    .refine((i) => i.transitionSeconds < i.sceneSeconds, {
      message: 'transitionSeconds must be shorter than a scene',
      path: ['transitionSeconds'],
    })
    .refine((i) => !i.storyboard || takesBothFrames(i.model), {
      message: 'a storyboard run needs a model that takes a start and an end image',
      path: ['model'],
    })
    .refine((i) => i.storyboard || i.reference === undefined, {
      message: 'reference steers storyboard keyframes: use it with storyboard',
      path: ['reference'],
    })
    .superRefine((i, ctx) => {
      const spec: ModelSpec = MODELS[i.model];
      const list = (xs: readonly (string | number)[]): string =>
        xs.length > 1 ? `${xs.slice(0, -1).join(', ')} or ${String(xs[xs.length - 1])}` : String(xs[0]);
      if (!spec.durations.includes(i.sceneSeconds))
        ctx.addIssue({
          code: 'custom',
          path: ['sceneSeconds'],
          message: `${i.model} takes ${list(spec.durations)} seconds per scene`,
        });
      if (!spec.aspectRatios.includes(i.aspectRatio))
        ctx.addIssue({
          code: 'custom',
          path: ['aspectRatio'],
          message: `${i.model} takes aspect ratio ${list(spec.aspectRatios)}`,
        });
      if (i.audio && !spec.audio.supported)
        ctx.addIssue({ code: 'custom', path: ['audio'], message: `${i.model} makes no audio` });
      if (i.multiShot) {
        const total = i.scenes * i.sceneSeconds;
        const refuse = (message: string) => ctx.addIssue({ code: 'custom', path: ['multiShot'], message });
        if (!spec.multiShot) refuse(`${i.model} renders one shot per clip; multi-shot needs kling-v3`);
        else if (i.scenes > spec.multiShot.maxShots)
          refuse(`${i.model} takes at most ${spec.multiShot.maxShots} shots`);
        else if (!spec.durations.includes(total))
          refuse(
            `${i.scenes} × ${i.sceneSeconds} s = ${total} s is not a clip length of ${i.model} (${list(spec.durations)} s)`,
          );
        if (i.storyboard)
          refuse('multi-shot renders all scenes as one clip: it cannot start from storyboard keyframes');
      }
      if (spec.needsStartImage && !i.storyboard)
        ctx.addIssue({
          code: 'custom',
          path: ['model'],
          message: `${i.model} is image-to-video: it needs a storyboard run (a first frame per scene)`,
        });
    });

  /**
   * Who made the plan: OpenAI, the plain split (`fallback`), or the bundled emulator of OpenAI in
   * offline mode (`emulated`: no model was asked, and the reviewer is told so).
   */
  const PlannerSchema = z.enum(['openai', 'fallback', 'emulated']);

  /**
   * The look every keyframe of a storyboard shares, written once by the planner: the same character,
   * setting, light and lens in every frame is what makes the scenes join up. Optional: plans made
   * before it (and recorded histories) have none.
   */
  const LookSchema = z.object({
    character: z.string(),
    setting: z.string(),
    light: z.string(),
    lens: z.string(),
  });

  const PlanSchema = z.object({
    planner: PlannerSchema,
    look: LookSchema.optional(),
    /** Why the fallback was used, shown to the reviewer. */
    note: z.string().optional(),
    scenes: z.array(z.string().min(1)).min(1).max(MAX_SCENES),
  });

  const PlanInputSchema = z.object({
    prompt: z.string(),
    /** When re-planning after a rejection: the plan that was rejected and why. */
    previousScenes: z.array(z.string()).optional(),
    feedback: z.string().optional(),
    scenes: z.number().int().min(1).max(MAX_SCENES),
    sceneSeconds: z.number(),
    /** Per-scene prompt limit of the chosen model. */
    maxScenePromptChars: z.number().int().positive(),
    /** Storyboard runs: also write the shared look (character, setting, light, lens) of the keyframes. */
    look: z.boolean().optional(),
  });

  const EditSceneSchema = z
    .object({
      index: z
        .number({ error: 'index must be a scene number' })
        .int('index must be a whole number')
        .min(1, 'scenes are numbered from 1'),
      prompt: promptText('prompt', 2500),
    })
    .strict();

  const RejectPlanSchema = z.object({ feedback: promptText('feedback', MAX_FEEDBACK_CHARS) }).strict();

  const RedoSceneSchema = z
    .object({
      index: z
        .number({ error: 'index must be a scene number' })
        .int('index must be a whole number')
        .min(1, 'scenes are numbered from 1'),
      prompt: promptText('prompt', 2500).optional(),
    })
    .strict();

  const RedoKeyframeSchema = z
    .object({
      index: z
        .number({ error: 'index must be a keyframe number' })
        .int('index must be a whole number')
        .min(1, 'keyframes are numbered from 1'),
      prompt: promptText('prompt', 2500).optional(),
    })
    .strict();

  return {
    PipelineInputSchema,
    PlannerSchema,
    LookSchema,
    PlanSchema,
    PlanInputSchema,
    EditSceneSchema,
    RejectPlanSchema,
    RedoSceneSchema,
    RedoKeyframeSchema,
  };
}

/** The schemas `defineSchemas()` returns. */
export type Schemas = ReturnType<typeof defineSchemas>;
