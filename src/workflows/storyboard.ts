/**
 * The storyboard (`storyboard: true`): after the plan is approved, N+1 keyframes are made at once
 * (./keyframe-production: generated on the provider queue, downloaded to the home worker), shown as a contact sheet, and
 * approved or redone one by one before a cent of video is spent. Keyframe K is the boundary where
 * scene K-1 ends and scene K starts, so each scene is generated from keyframe i to keyframe i+1
 * and all scenes still run at once; redoing keyframe K in result review redoes scenes K-1 and K.
 * Runs without a storyboard never reach this module's commands.
 */
import { condition, log } from '@temporalio/workflow';
import { NEUTRAL_LOOK } from '../shared/fallback-plan';
import { describeZodError } from '../shared/define-schemas';
import { schemas } from './validation';
import type { KeyframeState, Look, RedoKeyframeArgs, SceneState } from '../shared/schemas';
import { makeKeyframes } from './keyframe-production';
import { approvalTimeoutMs, refuse, timedOut } from './plan-review';
import type { PipelineRun } from './run-state';

/** Keyframe redos a run takes: each adds an image, a download and a contact sheet to the history. */
export const MAX_KEYFRAME_REDOS = 20;

/** The shared look as the head of every keyframe prompt. */
function lookText(look: Look): string {
  return `${look.character}; ${look.setting}; ${look.light}; ${look.lens}.`;
}

/** Keyframe K's moment: the start of scene K, or, for the last one, the end of scene N. */
function momentOf(run: PipelineRun, k: number): string {
  const scenes = run.status.scenes;
  if (k <= scenes.length) return `Opening frame of: ${scenes[k - 1]!.prompt}`;
  return `Closing frame of: ${scenes[scenes.length - 1]!.prompt}`;
}

function keyframePrompt(run: PipelineRun, k: number, moment?: string): string {
  return `${lookText(run.status.look ?? NEUTRAL_LOOK)} ${moment ?? momentOf(run, k)}`;
}

/**
 * Makes the storyboard and waits in `reviewing_storyboard` until it is approved (keyframe redos
 * are made as they come), or until approvalTimeout, when the run ends `timed_out` before any video
 * is paid for. With autoApprove, it goes straight on.
 */
export async function storyboardUntilApproved(run: PipelineRun): Promise<void> {
  const state = run.status;
  state.keyframes = Array.from({ length: run.keyframeCount }, (_, i) => ({
    index: i + 1,
    prompt: keyframePrompt(run, i + 1),
    status: 'pending' as const,
    attempts: 0,
  }));
  run.setStage('storyboarding');
  await makeKeyframes(run, state.keyframes);
  if (run.input.autoApprove) return;
  for (;;) {
    run.setStage('reviewing_storyboard');
    const decided = await condition(
      () => run.storyboardApproved || run.keyframeRedoQueue.length > 0,
      approvalTimeoutMs(run),
      { summary: 'waiting for the storyboard to be approved' },
    );
    if (!decided) timedOut(run, 'the storyboard was not approved');
    if (run.keyframeRedoQueue.length === 0) {
      log.info('storyboard approved');
      return;
    }
    run.setStage('storyboarding');
    await makeKeyframes(run, takeKeyframeRedos(run));
  }
}

/**
 * In result review: regenerates the queued keyframes and returns the scenes that touch them (K-1
 * and K, those that exist), their clips dropped so they are generated again. None queued: [] and
 * no command, which is what every run without a storyboard sees.
 */
export async function redoQueuedKeyframes(run: PipelineRun): Promise<SceneState[]> {
  if (run.keyframeRedoQueue.length === 0) return [];
  const redone = takeKeyframeRedos(run);
  run.setStage('storyboarding');
  await makeKeyframes(run, redone);
  const touched = new Set(redone.flatMap((k) => scenesTouching(run, k.index)));
  const scenes = run.status.scenes.filter((s) => touched.has(s.index));
  for (const s of scenes) {
    run.clips.delete(s.index);
    run.outputs.delete(s.index); // new frames: a new prediction, not a new download of the old clip
  }
  return scenes;
}

/** The scenes that start or end at keyframe k. */
function scenesTouching(run: PipelineRun, k: number): number[] {
  return [k - 1, k].filter((i) => i >= 1 && i <= run.sceneCount);
}

function takeKeyframeRedos(run: PipelineRun): KeyframeState[] {
  return run.keyframeRedoQueue.splice(0).map((redo) => {
    const kf = run.status.keyframes![redo.index - 1]!;
    if (redo.prompt) kf.prompt = keyframePrompt(run, kf.index, redo.prompt);
    delete kf.path;
    delete kf.url;
    return kf;
  });
}

/** A cancelled run: keyframes not made are cancelled too (status only). */
export function cancelKeyframes(run: PipelineRun): void {
  for (const k of run.status.keyframes ?? []) if (k.status !== 'ready') k.status = 'cancelled';
}

// ---- the redoKeyframe update ------------------------------------------------------------------

/** Queues keyframe K (for the storyboard review, or the result review); the estimate grows at once. */
export function redoKeyframe(
  run: PipelineRun,
  redo: RedoKeyframeArgs,
): { index: number; scenes: number[]; estimatedCostUsd: number } {
  const scenes = run.status.stage === 'reviewing_result' ? scenesTouching(run, redo.index) : [];
  run.keyframeRedos++;
  run.keyframeRedoQueue.push(redo);
  run.status.estimatedCostUsd = run.costWithMore(1, scenes.length);
  run.refreshDetails();
  return { index: redo.index, scenes, estimatedCostUsd: run.status.estimatedCostUsd };
}

export function validateRedoKeyframe(run: PipelineRun, redo: unknown): void {
  const { stage } = run.status;
  const e = schemas().RedoKeyframeSchema.safeParse(redo);
  if (!e.success) refuse(describeZodError(e.error));
  if (!run.input.storyboard) refuse('this run has no storyboard (it was started without --storyboard)');
  if (stage !== 'reviewing_storyboard' && stage !== 'reviewing_result') {
    refuse(`a keyframe can be redone only while the storyboard or the result is under review (stage is ${stage})`);
  }
  const { index, prompt } = e.data;
  if (index > run.keyframeCount) refuse(`there is no keyframe ${index}: the storyboard has ${run.keyframeCount}`);
  if (run.keyframeRedoQueue.some((q) => q.index === index)) refuse(`keyframe ${index} is already queued to be redone`);
  if (prompt && prompt.length > run.model.maxPromptChars) {
    refuse(`prompt is ${prompt.length} characters; ${run.modelId} takes at most ${run.model.maxPromptChars}`);
  }
  if (run.keyframeRedos >= MAX_KEYFRAME_REDOS) {
    refuse(
      `this run has redone ${run.keyframeRedos} keyframes, the most allowed (${MAX_KEYFRAME_REDOS}): approve or cancel it`,
    );
  }
  const scenes = stage === 'reviewing_result' ? scenesTouching(run, index).length : 0;
  const after = run.costWithMore(1, scenes);
  const max = run.input.maxCostUsd;
  if (max !== undefined && after > max) {
    refuse(`redoing keyframe ${index} would bring the estimated cost to ${usd(after)}, above --max-cost ${usd(max)}`);
  }
}

/** Dollars as a person reads them; a keyframe's sub-cent price shows. */
function usd(x: number): string {
  return `$${x.toFixed(Math.abs(Math.round(x * 100) - x * 100) < 1e-6 ? 2 : 3)}`;
}
