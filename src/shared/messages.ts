/**
 * Signals, queries and updates of `videoPipeline`, as typed definitions. Clients use these
 * objects, never string names; the names themselves are what the Temporal CLI and Web UI use
 * (`temporal workflow signal --name approve`). Updates carry zod-validated arguments and are
 * refused at once, with a reason, when they do not fit the run's stage.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  EditSceneArgs,
  PipelineStatus,
  RedoKeyframeArgs,
  RedoSceneArgs,
  RejectPlanArgs,
  SceneState,
} from './schemas';

/**
 * Approve the plan (stage `awaiting_approval`), the storyboard (`reviewing_storyboard`) or the
 * finished video (stage `reviewing_result`).
 * Takes no payload; an empty object `{}` from the Temporal CLI is accepted.
 */
/** What an approval approved. */
export type Approved = 'plan' | 'storyboard' | 'result' | 'nothing';

export const approveSignal = defineSignal<[unknown?]>('approve');
/**
 * The same approval as an update: refused, with the reason, when nothing awaits approval (the plan
 * is still being made, the run is generating, a redo is queued), so a client can say so and exit
 * non-zero instead of reporting an approval the run never takes. Takes no payload (an `{}` from the
 * Temporal CLI is ignored).
 */
export const approveUpdate = defineUpdate<{ approved: Approved }, []>('approveRun');
export const statusQuery = defineQuery<PipelineStatus>('status');

/** Change one scene's prompt while the plan or the result is under review. */
export const editSceneUpdate = defineUpdate<SceneState, [EditSceneArgs]>('editScene');
/** Reject the plan with feedback: the LLM plans again, given the old plan and the feedback. */
export const rejectPlanUpdate = defineUpdate<{ planRound: number }, [RejectPlanArgs]>('rejectPlan');
/** Regenerate one scene (optionally with a new prompt) and stitch again, in `reviewing_result`. */
export const redoSceneUpdate = defineUpdate<{ index: number; estimatedCostUsd: number }, [RedoSceneArgs]>('redoScene');
/**
 * Regenerate one keyframe (optionally with a new moment; the shared look is kept) of a storyboard
 * run: in `reviewing_storyboard` only the image; in `reviewing_result` the image and then exactly
 * the scenes that touch it (index-1 and index, those that exist), stitched again.
 */
export const redoKeyframeUpdate = defineUpdate<
  { index: number; scenes: number[]; estimatedCostUsd: number },
  [RedoKeyframeArgs]
>('redoKeyframe');
