/**
 * The person in the loop: the plan is made (by the LLM, or a plain split when it cannot), shown
 * for approval, edited or rejected and made again; with `reviewResult`, the finished video waits
 * for approval while single scenes are redone. The waits end at approvalTimeout, so a forgotten
 * run ends (`timed_out`) instead of waiting forever. The update validators refuse, with a reason,
 * what does not fit the run's stage, before anything changes.
 */
import { condition, isCancellation, log, patched } from '@temporalio/workflow';
import { failure } from '../shared/failures';
import { fallbackScenes, NEUTRAL_LOOK } from '../shared/fallback-plan';
import type { Approved } from '../shared/messages';
import { describeZodError, parseDurationMs } from '../shared/define-schemas';
import type { EditSceneArgs, Plan, RedoSceneArgs, RejectPlanArgs, SceneState } from '../shared/schemas';
import { messageOf } from './activity-failures';
import { planScenes } from './activity-options';
import { PATCH_APPROVAL_TIMEOUT } from './patches';
import { schemas } from './validation';
import type { PipelineRun } from './run-state';

/** Plans made in all (the first plus re-plans after rejections): each costs an LLM call and a person's time. */
export const MAX_PLAN_ROUNDS = 5;
/**
 * Edits and redos a run takes. Each adds events (a redo: a generation, a download, a stitch) and
 * its arguments to the history; these bounds keep a looping client's run far below the server's
 * limits (50 K events, 50 MB), where it would be terminated with its paid result.
 */
export const MAX_EDITS = 50;
export const MAX_REDOS = 20;

/** Plans, shows the plan for approval, and plans again with the feedback of each rejection. */
export async function planUntilApproved(run: PipelineRun): Promise<void> {
  const state = run.status;
  let feedback: string | undefined;
  for (;;) {
    const previous = state.scenes.map((s) => s.prompt);
    const plan = await makePlan(run, feedback === undefined ? undefined : { previousScenes: previous, feedback });
    state.planRound++;
    state.planner = plan.planner;
    if (plan.look) state.look = plan.look;
    if (plan.note) state.plannerNote = plan.note;
    else delete state.plannerNote;
    state.scenes = plan.scenes.map((prompt, i) => ({ index: i + 1, prompt, status: 'pending', attempts: 0 }));
    if (run.input.autoApprove) return;

    run.setStage('awaiting_approval');
    run.rejection = undefined;
    if (patched(PATCH_APPROVAL_TIMEOUT)) {
      const decided = await condition(() => run.planApproved || run.rejection !== undefined, approvalTimeoutMs(run), {
        summary: 'waiting for the plan to be approved',
      });
      if (!decided) timedOut(run, 'the plan was not approved');
    } else {
      await condition(() => run.planApproved);
    }
    if (run.planApproved) {
      log.info('plan approved');
      return;
    }
    feedback = run.rejection;
    log.info(`plan rejected (round ${state.planRound}): ${feedback}`);
    run.setStage('planning');
  }
}

/** Plans with the LLM; if the activity fails for good (bad key, outage), falls back to a plain split. */
async function makePlan(run: PipelineRun, again?: { previousScenes: string[]; feedback?: string }): Promise<Plan> {
  const i = run.input;
  try {
    return await planScenes({
      prompt: i.prompt,
      scenes: i.scenes,
      sceneSeconds: i.sceneSeconds,
      maxScenePromptChars: run.model.maxPromptChars,
      // Only storyboard runs ask for a look: other runs send the plan request they always sent.
      ...(i.storyboard ? { look: true } : {}),
      ...(again ?? {}),
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    const note = `LLM planning failed: ${messageOf(err)}`;
    log.warn(`${note}; using a plain split of the prompt`);
    return { planner: 'fallback', note, look: NEUTRAL_LOOK, scenes: fallbackScenes(i.prompt, i.scenes) };
  }
}

/**
 * Waits in `reviewing_result` for approval or redos, and returns the scenes to produce again
 * (none: approved, or no decision in time on a video that exists, which is kept).
 */
export async function awaitResultReview(run: PipelineRun): Promise<SceneState[]> {
  run.setStage('reviewing_result');
  run.resultApproved = false;
  const decided = await condition(
    () => (run.resultApproved && run.hasAllClips()) || run.redoQueue.length > 0 || run.keyframeRedoQueue.length > 0,
    approvalTimeoutMs(run),
    {
      summary: 'waiting for the result to be approved',
    },
  );
  if (!decided) {
    if (!run.status.output) return timedOut(run, 'no decision on the result');
    log.info('no decision on the result in time: keeping the current video');
    return [];
  }
  const batch = run.redoQueue.splice(0);
  return batch.map((redo) => {
    const scene = run.status.scenes[redo.index - 1]!;
    if (redo.prompt) scene.prompt = redo.prompt;
    run.clips.delete(scene.index);
    run.outputs.delete(scene.index); // a redo is a new prediction, not a new download of the old one
    return scene;
  });
}

export function approvalTimeoutMs(run: PipelineRun): number {
  return parseDurationMs(run.input.approvalTimeout)!;
}

/** Nobody decided in time: the run ends as `timed_out` before it spends anything more. */
export function timedOut(run: PipelineRun, what: string): never {
  run.status.error = `${what} within ${run.input.approvalTimeout}; nothing more was generated`;
  run.setStage('timed_out');
  throw failure('ApprovalTimedOut', run.status.error);
}

// ---- message handlers and their validators ----------------------------------------------------

/**
 * Approves whatever is under review: the `approve` signal (a signal cannot be refused, so one that
 * comes at the wrong time is logged and dropped) and the `approveRun` update (refused first, with
 * the reason, by validateApprove).
 */
export function approve(run: PipelineRun): { approved: Approved } {
  const stage = run.status.stage;
  if (stage === 'awaiting_approval') run.planApproved = true;
  else if (stage === 'reviewing_storyboard') run.storyboardApproved = true;
  else if (stage === 'reviewing_result') run.resultApproved = true;
  else log.warn(`approve ignored: nothing awaits approval in stage ${stage}`);
  return { approved: APPROVES[stage] ?? 'nothing' };
}

const APPROVES: Partial<Record<string, Approved>> = {
  awaiting_approval: 'plan',
  reviewing_storyboard: 'storyboard',
  reviewing_result: 'result',
};

/** What each stage is doing, for an approve that comes when nothing can take it. */
const NOT_NOW: Partial<Record<string, string>> = {
  planning: 'the plan is still being made; approve it once it is shown (stage awaiting_approval)',
  storyboarding: 'the keyframes are being made; approve the storyboard once it is shown (stage reviewing_storyboard)',
  generating: 'the plan is approved and its clips are being made',
  stitching: 'the clips are being stitched; with --review-result, approve the video once it is shown',
};

/** Refuses an approve the run cannot take now, so it is never acknowledged and lost. */
export function validateApprove(run: PipelineRun): void {
  const { stage } = run.status;
  if (stage === 'awaiting_approval') {
    if (run.planApproved) refuse('the plan is already approved');
    if (run.rejection !== undefined) refuse('the plan was rejected and is being made again: approve the new one');
    return;
  }
  const keyframesQueued = run.keyframeRedoQueue.map((r) => r.index);
  if (stage === 'reviewing_storyboard') {
    if (run.storyboardApproved) refuse('the storyboard is already approved');
    if (keyframesQueued.length) {
      refuse(`keyframe ${keyframesQueued.join(', ')} is queued to be redone: approve the storyboard made after it`);
    }
    return;
  }
  if (stage === 'reviewing_result') {
    if (run.resultApproved) refuse('the video is already approved');
    if (keyframesQueued.length) {
      refuse(`keyframe ${keyframesQueued.join(', ')} is queued to be redone: approve the video stitched after it`);
    }
    const queued = run.redoQueue.map((r) => r.index);
    if (queued.length) refuse(`scene ${queued.join(', ')} is queued to be redone: approve the video stitched after it`);
    const missing = run
      .clipScenes()
      .filter((s) => !run.clips.has(s.index))
      .map((s) => s.index);
    if (missing.length) refuse(`scene ${missing.join(', ')} has no clip (flagged?): edit and redo it, or cancel`);
    return;
  }
  refuse(`nothing awaits approval (stage is ${stage}): ${NOT_NOW[stage] ?? 'the run is over'}`);
}

export function editScene(run: PipelineRun, { index, prompt }: EditSceneArgs): SceneState {
  run.edits++;
  const scene = run.status.scenes[index - 1]!;
  scene.prompt = prompt;
  log.info(`scene ${index}/${run.sceneCount}: prompt edited`);
  run.refreshDetails();
  return scene;
}

export function validateEditScene(run: PipelineRun, edit: unknown): void {
  const state = run.status;
  const e = schemas().EditSceneSchema.safeParse(edit);
  if (!e.success) refuse(describeZodError(e.error));
  if (state.stage !== 'awaiting_approval' && state.stage !== 'reviewing_result') {
    refuse(`scenes can be edited only while the plan or the result is under review (stage is ${state.stage})`);
  }
  if (e.data.index > state.scenes.length)
    refuse(`there is no scene ${e.data.index}: the plan has ${state.scenes.length}`);
  refuseLongPrompt(run, e.data.prompt);
  if (run.edits >= MAX_EDITS) {
    refuse(`this run has taken ${run.edits} edits, the most allowed (${MAX_EDITS}): approve, reject or cancel it`);
  }
}

export function rejectPlan(run: PipelineRun, { feedback }: RejectPlanArgs): { planRound: number } {
  run.rejection = feedback;
  return { planRound: run.status.planRound + 1 };
}

export function validateRejectPlan(run: PipelineRun, r: unknown): void {
  const state = run.status;
  const e = schemas().RejectPlanSchema.safeParse(r);
  if (!e.success) refuse(describeZodError(e.error));
  if (state.stage !== 'awaiting_approval')
    refuse(`only a plan awaiting approval can be rejected (stage is ${state.stage})`);
  if (run.rejection !== undefined) refuse('the plan is already being made again');
  if (state.planRound >= MAX_PLAN_ROUNDS) {
    refuse(`the plan has been made ${state.planRound} times, the most allowed: edit scenes, approve or cancel`);
  }
}

/** Queues the scene for awaitResultReview; the estimate grows at once, so the next redo is checked against it. */
export function redoScene(run: PipelineRun, redo: RedoSceneArgs): { index: number; estimatedCostUsd: number } {
  run.redos++;
  run.redoQueue.push(redo);
  run.status.estimatedCostUsd = run.costWithOneMoreScene();
  run.refreshDetails();
  return { index: redo.index, estimatedCostUsd: run.status.estimatedCostUsd };
}

export function validateRedoScene(run: PipelineRun, redo: unknown): void {
  const state = run.status;
  const e = schemas().RedoSceneSchema.safeParse(redo);
  if (!e.success) refuse(describeZodError(e.error));
  if (run.input.multiShot) {
    refuse('a multi-shot run renders every scene as one clip: a single scene cannot be redone (start a new run)');
  }
  if (state.stage !== 'reviewing_result') {
    refuse(`a scene can be redone only while the result is under review (stage is ${state.stage})`);
  }
  if (e.data.index > state.scenes.length)
    refuse(`there is no scene ${e.data.index}: the plan has ${state.scenes.length}`);
  if (run.redoQueue.some((q) => q.index === e.data.index))
    refuse(`scene ${e.data.index} is already queued to be redone`);
  if (e.data.prompt) refuseLongPrompt(run, e.data.prompt);
  if (run.redos >= MAX_REDOS) {
    refuse(`this run has redone ${run.redos} scenes, the most allowed (${MAX_REDOS}): approve the video or cancel it`);
  }
  const after = run.costWithOneMoreScene();
  const max = run.input.maxCostUsd;
  if (max !== undefined && after > max) {
    refuse(
      `redoing scene ${e.data.index} would bring the estimated cost to $${after.toFixed(2)}, above --max-cost $${max.toFixed(2)}`,
    );
  }
}

function refuseLongPrompt(run: PipelineRun, prompt: string): void {
  const max = run.model.maxPromptChars;
  if (prompt.length > max) refuse(`prompt is ${prompt.length} characters; ${run.modelId} takes at most ${max}`);
}

/**
 * Refuses an update from its validator: the caller sees the reason as the refusal, and nothing is
 * written to the history. (Not a catalogue failure: the run goes on; only the update is refused.)
 */
export function refuse(reason: string): never {
  throw new Error(reason);
}
