/**
 * Steering a run from the CLI: edit a scene, reject the plan with feedback, redo a scene. Each is
 * a Temporal update, so a refusal (wrong stage, bad index, prompt too long, over --max-cost) comes
 * back at once with the workflow's reason, and the CLI exits non-zero with it.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { editSceneUpdate, redoKeyframeUpdate, redoSceneUpdate, rejectPlanUpdate } from '../shared/messages';
import {
  describeZodError,
  EditSceneSchema,
  RedoKeyframeSchema,
  RedoSceneSchema,
  RejectPlanSchema,
} from '../shared/schemas';
import type { EditSceneArgs, RedoKeyframeArgs, RedoSceneArgs, RejectPlanArgs, SceneState } from '../shared/schemas';
import type { videoPipeline } from '../workflows';
import { CliError } from './errors';

type Handle = WorkflowHandle<typeof videoPipeline>;

async function refusedAsCliError<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      throw new CliError(`${what} refused: ${err.cause?.message ?? err.message}`, 1);
    }
    throw err;
  }
}

function sceneNumber(text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n)) throw new CliError('--scene must be a scene number (from 1)', 2);
  return n;
}

/**
 * The checks the workflow's validators make on the arguments alone, made here first: a bad scene
 * number or text is refused (exit 2) before the run is even looked up.
 */
export function editArgs(scene: string | undefined, prompt: string | undefined): EditSceneArgs {
  const args = EditSceneSchema.safeParse({ index: sceneNumber(scene), prompt });
  if (!args.success) throw new CliError(`edit refused: ${describeZodError(args.error)}`, 2);
  return args.data;
}

export function rejectArgs(feedback: string | undefined): RejectPlanArgs {
  const args = RejectPlanSchema.safeParse({ feedback });
  if (!args.success) throw new CliError(`reject refused: ${describeZodError(args.error)}`, 2);
  return args.data;
}

export function redoArgs(scene: string | undefined, prompt: string | undefined): RedoSceneArgs {
  const args = RedoSceneSchema.safeParse({ index: sceneNumber(scene), ...(prompt !== undefined ? { prompt } : {}) });
  if (!args.success) throw new CliError(`redo refused: ${describeZodError(args.error)}`, 2);
  return args.data;
}

export function redoKeyframeArgs(keyframe: string | undefined, prompt: string | undefined): RedoKeyframeArgs {
  const n = Number(keyframe);
  if (keyframe === undefined || !Number.isInteger(n)) {
    throw new CliError('--keyframe must be a keyframe number (from 1; keyframe K starts scene K)', 2);
  }
  const args = RedoKeyframeSchema.safeParse({ index: n, ...(prompt !== undefined ? { prompt } : {}) });
  if (!args.success) throw new CliError(`redo refused: ${describeZodError(args.error)}`, 2);
  return args.data;
}

export async function redoKeyframe(handle: Handle, keyframe: string | undefined, prompt: string | undefined) {
  const args = redoKeyframeArgs(keyframe, prompt);
  return refusedAsCliError('redo', () => handle.executeUpdate(redoKeyframeUpdate, { args: [args] }));
}

export async function editScene(
  handle: Handle,
  scene: string | undefined,
  prompt: string | undefined,
): Promise<SceneState> {
  const args = editArgs(scene, prompt);
  return refusedAsCliError('edit', () => handle.executeUpdate(editSceneUpdate, { args: [args] }));
}

export async function rejectPlan(handle: Handle, feedback: string | undefined): Promise<number> {
  const args = rejectArgs(feedback);
  const r = await refusedAsCliError('reject', () => handle.executeUpdate(rejectPlanUpdate, { args: [args] }));
  return r.planRound;
}

export async function redoScene(handle: Handle, scene: string | undefined, prompt: string | undefined) {
  const args = redoArgs(scene, prompt);
  return refusedAsCliError('redo', () => handle.executeUpdate(redoSceneUpdate, { args: [args] }));
}

/** What a rejection discards: the person's edits to the rejected plan (the planner starts again). */
export function discardedEditsNote(edited: number[]): string {
  const many = edited.length > 1;
  return `note: your edit${many ? 's' : ''} to scene${many ? 's' : ''} ${edited.join(', ')} ${many ? 'do' : 'does'} not carry over: the new plan is made from the prompt and your feedback`;
}
