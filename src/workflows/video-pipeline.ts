/**
 * `videoPipeline`: prompt → plan → human approval → all scenes at once (generate → download
 * each) → stitch. Every step is an activity in this one history, so the Web UI tells the whole
 * story, and a crash anywhere resumes from the last completed step without paying twice.
 *
 * This file is the run's outline: its messages and its phases in order. The state lives in one
 * PipelineRun (./run-state); each phase has its module:
 *   ./plan-review        plan, approve / edit / reject, result review and redos (+ validators)
 *   ./storyboard         storyboard runs: keyframes, their review and redos, each scene's frames
 *   ./scene-production   generate → download per scene, regeneration
 *   ./home-worker        the worker holding the clips: claim, move, cleanup
 *   ./stitch-and-publish stitch and publish on that worker
 *   ./activity-options   every activity's timeouts and retries
 *
 * Deterministic code only: no clock, randomness, I/O or Node built-ins here. Changes that alter
 * the commands this issues need patched() (./patches) and must keep test/replay.test.ts passing.
 */
import { ApplicationFailure, CancellationScope, isCancellation, setHandler } from '@temporalio/workflow';
import { failure } from '../shared/failures';
import {
  approveSignal,
  approveUpdate,
  editSceneUpdate,
  redoKeyframeUpdate,
  redoSceneUpdate,
  rejectPlanUpdate,
  statusQuery,
} from '../shared/messages';
import { describeZodError } from '../shared/define-schemas';
import { schemas } from './validation';
import type { PipelineInputArgs, PipelineResult } from '../shared/schemas';
import { failureTypeOf, messageOf } from './activity-failures';
import { removeWorkFiles, removeWorkFilesOfCancelledRun, removeWorkFilesOfFailedRun } from './home-worker';
import {
  approve,
  awaitResultReview,
  editScene,
  planUntilApproved,
  redoScene,
  rejectPlan,
  validateApprove,
  validateEditScene,
  validateRedoScene,
  validateRejectPlan,
} from './plan-review';
import { PipelineRun } from './run-state';
import { cancelUnfinishedPredictions, produceScenes } from './scene-production';
import { stitchAtHome } from './stitch-and-publish';
import {
  cancelKeyframes,
  redoKeyframe,
  redoQueuedKeyframes,
  storyboardUntilApproved,
  validateRedoKeyframe,
} from './storyboard';

// The run's limits, where readers of the workflow (and its tests) look for them.
export { MAX_WORKER_MOVES } from './home-worker';
export { MAX_EDITS, MAX_PLAN_ROUNDS, MAX_REDOS } from './plan-review';
export { MAX_REGENERATIONS_PER_CAUSE } from './regeneration';
export { MAX_KEYFRAME_REDOS } from './storyboard';

export async function videoPipeline(args: PipelineInputArgs): Promise<PipelineResult> {
  // Validated again here: the Temporal CLI and Web UI start runs without our client's checks.
  const parsed = schemas().PipelineInputSchema.safeParse(args);
  if (!parsed.success) {
    throw failure('InvalidInput', `invalid input: ${describeZodError(parsed.error)}`);
  }
  const run = new PipelineRun(parsed.data);
  const { input, status: state, workflowId } = run;

  setHandler(statusQuery, () => state);
  setHandler(approveSignal, () => void approve(run));
  setHandler(approveUpdate, () => approve(run), { validator: () => validateApprove(run) });
  setHandler(editSceneUpdate, (edit) => editScene(run, edit), { validator: (edit) => validateEditScene(run, edit) });
  setHandler(rejectPlanUpdate, (r) => rejectPlan(run, r), { validator: (r) => validateRejectPlan(run, r) });
  setHandler(redoSceneUpdate, (redo) => redoScene(run, redo), { validator: (redo) => validateRedoScene(run, redo) });
  setHandler(redoKeyframeUpdate, (r) => redoKeyframe(run, r), { validator: (r) => validateRedoKeyframe(run, r) });

  try {
    if (input.maxCostUsd !== undefined && state.estimatedCostUsd > input.maxCostUsd) {
      throw failure(
        'CostLimitExceeded',
        `the plan's estimated cost $${state.estimatedCostUsd.toFixed(2)} is above --max-cost $${input.maxCostUsd.toFixed(2)}`,
      );
    }
    run.setStage('planning');
    await planUntilApproved(run);
    if (input.storyboard) await storyboardUntilApproved(run);

    run.setStage('generating');
    await produceScenes(run, run.clipScenes());

    // Stitch; then, when the run asked for it, let a person redo single scenes until they approve.
    for (;;) {
      if (run.hasAllClips()) {
        run.setStage('stitching');
        await stitchAtHome(run);
        if (run.hasAllClips()) delete state.error; // else a re-fetched scene was flagged: keep why
      }
      if (!input.reviewResult) break;
      const redo = await awaitResultReview(run);
      // Storyboard runs: a redone keyframe brings the scenes on either side of it.
      for (const s of await redoQueuedKeyframes(run)) if (!redo.includes(s)) redo.push(s);
      if (redo.length === 0) break;
      run.setStage('generating');
      await produceScenes(run, redo);
    }

    await removeWorkFiles(run);
    run.setStage('completed');
    const output = state.output!;
    return {
      workflowId,
      ...output,
      ...(state.worker ? { worker: state.worker } : {}),
      ...(state.artifactUri ? { artifactUri: state.artifactUri } : {}),
      scenes: state.scenes.map((s) => ({ index: s.index, prompt: s.prompt, predictionId: s.predictionId ?? '' })),
    };
  } catch (err) {
    if (isCancellation(err)) {
      for (const s of state.scenes) if (s.status !== 'ready') s.status = 'cancelled';
      cancelKeyframes(run);
      // The run is cancelled, but tidying up must still happen: outside the cancelled scope.
      await CancellationScope.nonCancellable(async () => {
        run.setStage('cancelled');
        await cancelUnfinishedPredictions(run);
        await removeWorkFilesOfCancelledRun(run);
      });
      throw err;
    }
    state.error ??= messageOf(err);
    if (state.stage !== 'timed_out') run.setStage('failed');
    // A failed scene cancelled its siblings, and one in its retry backoff cancelled nothing.
    await cancelUnfinishedPredictions(run);
    await removeWorkFilesOfFailedRun(run);
    if (err instanceof ApplicationFailure) throw err;
    // Re-thrown as a catalogue failure so the run fails (instead of retrying its workflow task),
    // with the cause's type when it has one of ours, else PipelineFailed; the cause stays attached.
    throw failure(failureTypeOf(err) ?? 'PipelineFailed', state.error, { cause: err as Error, nonRetryable: true });
  }
}
