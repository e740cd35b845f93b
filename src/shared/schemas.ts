/**
 * zod schemas of everything that crosses a boundary: the workflow's input and result, the plan,
 * the status query, and the activities' inputs and results. Types are inferred from them, so a
 * shape is written once. The client validates input before starting a run and the workflow
 * validates it again, because the Temporal CLI and Web UI can start runs without our client.
 *
 * The schemas are written in ./define-schemas and built here once for the client, the activities
 * and the bot. Workflow code must not import a value from this module (only types): that would
 * build every schema again for each run in the worker's cache; it uses ../workflows/validation.ts
 * (enforced by the lint configuration).
 */
import type { z } from 'zod';
import { defineSchemas } from './define-schemas';
import { MODELS } from './models';

export {
  ASPECT_RATIOS,
  describeZodError,
  MAX_FEEDBACK_CHARS,
  MAX_PROMPT_CHARS,
  MAX_SCENES,
  parseDurationMs,
} from './define-schemas';

export const {
  PipelineInputSchema,
  PlannerSchema,
  LookSchema,
  PlanSchema,
  PlanInputSchema,
  EditSceneSchema,
  RejectPlanSchema,
  RedoSceneSchema,
  RedoKeyframeSchema,
} = defineSchemas();

/** What callers may send (defaults optional). */
export type PipelineInputArgs = z.input<typeof PipelineInputSchema>;
/** What the workflow works with (defaults filled in). */
export type PipelineInput = z.output<typeof PipelineInputSchema>;

// ---- plan -------------------------------------------------------------------------------------

export type Planner = z.infer<typeof PlannerSchema>;
export type Look = z.infer<typeof LookSchema>;
export type Plan = z.infer<typeof PlanSchema>;
export type PlanInput = z.infer<typeof PlanInputSchema>;

// ---- scenes, status: ./run-status ------------------------------------------------------------

export * from './run-status';

// ---- messages ---------------------------------------------------------------------------------

export type EditSceneArgs = z.infer<typeof EditSceneSchema>;
export type RejectPlanArgs = z.infer<typeof RejectPlanSchema>;
export type RedoSceneArgs = z.infer<typeof RedoSceneSchema>;
export type RedoKeyframeArgs = z.infer<typeof RedoKeyframeSchema>;

// ---- activities: ./activity-io ---------------------------------------------------------------

export type {
  GenerateClipInput,
  GenerateClipResult,
  DownloadClipInput,
  ClipFile,
  StitchClipsInput,
  GenerateHeartbeat,
  GenerateCreatingHeartbeat,
  CancelPredictionsInput,
  CancelPredictionsResult,
  DownloadHeartbeat,
} from './activity-io';

export { MODELS };
