/**
 * `videoPipeline`: prompt → plan → human approval → all scenes at once (generate → download
 * each) → stitch. Every step is an activity in this one history, so the Web UI tells the whole
 * story, and a crash anywhere resumes from the last completed step without paying twice.
 *
 * Deterministic code only: no clock, randomness, I/O or Node built-ins here.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PlanActivities } from '../activities/plan';
import type { GenerateActivities } from '../activities/generate';
import type { DownloadActivities } from '../activities/download';
import type { StitchActivities } from '../activities/stitch';
import type { CleanupActivities } from '../activities/cleanup';
import { failure, NON_RETRYABLE_TYPES } from '../shared/failures';
import type { FailureType } from '../shared/failures';
import { fallbackScenes } from '../shared/fallback-plan';
import { approveSignal, statusQuery } from '../shared/messages';
import { MODELS } from '../shared/models';
import { VIDEO_STAGE } from '../shared/names';
import { describeZodError, PipelineInputSchema } from '../shared/schemas';
import type {
  ClipFile,
  PipelineInput,
  PipelineInputArgs,
  PipelineResult,
  PipelineStatus,
  Plan,
  SceneState,
  Stage,
} from '../shared/schemas';

// One proxy per kind of activity, each with the timeouts and retries that fit its work.

/** Planning is one LLM call: short, and a few retries for transient errors; after that we fall back. */
const { planScenes } = proxyActivities<PlanActivities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumAttempts: 3,
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
});

/**
 * A Kling clip takes 1–5 minutes plus queueing, and Replicate stops a prediction after 30 min.
 * The heartbeat timeout is what notices a dead worker: 30 s later another worker resumes polling
 * the same prediction (its id is in the heartbeat), so a crash costs seconds, not a second clip.
 * Failed predictions are retried with a new one a bounded number of times.
 */
const { generateClip } = proxyActivities<GenerateActivities>({
  startToCloseTimeout: '35 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 4,
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
});

/** Downloads stream a few MB; the heartbeat timeout catches a stalled connection well before the URL expires. */
const { downloadClip } = proxyActivities<DownloadActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
});

/** Stitching is CPU-bound ffmpeg work of seconds to minutes; ffmpeg errors on the inputs are not retried. */
const { stitchClips } = proxyActivities<StitchActivities>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '60 seconds',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumAttempts: 3,
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
});

/** Housekeeping: must never fail a finished run, so a short timeout and a few tries. */
const { removeWorkFiles } = proxyActivities<CleanupActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

/** A clip whose URL expired, or that came back unplayable, is generated again at most this often. */
export const MAX_REGENERATIONS = 2;

/** Failure types after which a scene is generated again instead of failing the run. */
const REGENERATE_ON: FailureType[] = ['OutputExpired', 'InvalidClip'];

function failureTypeOf(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

function messageOf(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

export async function videoPipeline(args: PipelineInputArgs): Promise<PipelineResult> {
  const parsed = PipelineInputSchema.safeParse(args);
  if (!parsed.success) {
    throw failure('InvalidInput', `invalid input: ${describeZodError(parsed.error)}`);
  }
  const input: PipelineInput = parsed.data;
  const { workflowId } = workflowInfo();
  const n = input.scenes;

  const state: PipelineStatus = { stage: 'planning', scenes: [] };
  let approved = false;

  setHandler(statusQuery, () => state);
  setHandler(approveSignal, () => {
    approved = true;
  });

  const setStage = (stage: Stage): void => {
    state.stage = stage;
    upsertSearchAttributes([{ key: VIDEO_STAGE, value: stage }]);
    refreshDetails();
    log.info(`stage: ${stage}`);
  };

  const refreshDetails = (): void => {
    const lines = [`**${state.stage}**`];
    if (state.planner === 'fallback') lines.push(`plan: fallback (${state.plannerNote ?? 'no reason'})`);
    for (const s of state.scenes) {
      lines.push(`- scene ${s.index}/${n}: ${s.status}${s.attempts > 1 ? ` (attempt ${s.attempts})` : ''}`);
    }
    if (state.output) lines.push(`output: ${state.output.path} (${state.output.durationSeconds.toFixed(1)} s)`);
    if (state.error) lines.push(`error: ${state.error}`);
    setCurrentDetails(lines.join('\n'));
  };

  try {
    setStage('planning');
    const plan = await makePlan(input);
    state.planner = plan.planner;
    if (plan.note) state.plannerNote = plan.note;
    state.scenes = plan.scenes.map((prompt, i) => ({ index: i + 1, prompt, status: 'pending', attempts: 0 }));

    if (!input.autoApprove) {
      setStage('awaiting_approval');
      await condition(() => approved);
      log.info('plan approved');
    }

    setStage('generating');
    const clips = await produceAllScenes();

    setStage('stitching');
    const output = await stitchClips({
      workflowId,
      clips: clips.map((c) => c.path),
      transitionSeconds: input.transitionSeconds,
    });
    state.output = output;
    await removeWorkFiles({ workflowId }).catch((err: unknown) => log.warn(`cleanup failed: ${messageOf(err)}`));
    setStage('completed');
    return {
      workflowId,
      ...output,
      scenes: state.scenes.map((s) => ({ index: s.index, prompt: s.prompt, predictionId: s.predictionId ?? '' })),
    };
  } catch (err) {
    if (isCancellation(err)) {
      for (const s of state.scenes) if (s.status !== 'ready') s.status = 'cancelled';
      // The run is cancelled, but tidying up must still happen: outside the cancelled scope.
      await CancellationScope.nonCancellable(async () => {
        setStage('cancelled');
        await removeWorkFiles({ workflowId }).catch(() => undefined);
      });
      throw err;
    }
    state.error = messageOf(err);
    setStage('failed');
    if (err instanceof ApplicationFailure) throw err;
    const type = failureTypeOf(err);
    // Re-throw as an ApplicationFailure so the run fails (instead of retrying its workflow task) with the cause's type.
    throw ApplicationFailure.create({
      type: type ?? 'PipelineFailed',
      message: state.error,
      nonRetryable: true,
      cause: err as Error,
    });
  }

  /** Plans with the LLM; if the activity fails for good (bad key, outage), falls back to a plain split. */
  async function makePlan(i: PipelineInput): Promise<Plan> {
    try {
      return await planScenes({
        prompt: i.prompt,
        scenes: i.scenes,
        sceneSeconds: i.sceneSeconds,
        maxScenePromptChars: MODELS[i.model].maxPromptChars,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      const note = `LLM planning failed: ${messageOf(err)}`;
      log.warn(`${note}; using a plain split of the prompt`);
      return { planner: 'fallback', note, scenes: fallbackScenes(i.prompt, i.scenes) };
    }
  }

  /**
   * All scenes at once; each chains generate → download so a clip is fetched the moment it is
   * ready. When one scene fails for good the others are cancelled (which cancels their predictions
   * at Replicate) and awaited, so a failed run stops spending before it reports the failure.
   */
  async function produceAllScenes(): Promise<ClipFile[]> {
    const scope = new CancellationScope();
    let firstFailure: unknown;
    const settled = await scope.run(() =>
      Promise.allSettled(
        state.scenes.map(async (scene) => {
          try {
            return await produceScene(scene);
          } catch (err) {
            if (isCancellation(err)) {
              scene.status = 'cancelled';
            } else if (firstFailure === undefined) {
              firstFailure = err;
              scope.cancel();
            }
            throw err;
          }
        }),
      ),
    );
    if (firstFailure !== undefined) throw firstFailure as Error;
    return settled.map((r) => {
      if (r.status === 'rejected') throw r.reason as Error;
      return r.value;
    });
  }

  async function produceScene(scene: SceneState): Promise<ClipFile> {
    const tag = `scene ${scene.index}/${n}`;
    for (let round = 0; ; round++) {
      scene.status = 'generating';
      scene.attempts++;
      refreshDetails();
      try {
        const gen = await generateClip({
          workflowId,
          sceneIndex: scene.index,
          sceneCount: n,
          prompt: scene.prompt,
          model: input.model,
          seconds: input.sceneSeconds,
          aspectRatio: input.aspectRatio,
        });
        scene.predictionId = gen.predictionId;
        scene.status = 'downloading';
        refreshDetails();
        const clip = await downloadClip({ workflowId, sceneIndex: scene.index, sceneCount: n, url: gen.outputUrl });
        scene.status = 'ready';
        delete scene.error;
        refreshDetails();
        log.info(`${tag}: clip ready (${clip.durationSeconds.toFixed(1)} s)`);
        return clip;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const type = failureTypeOf(err);
        scene.error = messageOf(err);
        if (type && (REGENERATE_ON as string[]).includes(type) && round < MAX_REGENERATIONS) {
          log.warn(`${tag}: ${scene.error}; generating it again`);
          continue;
        }
        scene.status = 'failed';
        refreshDetails();
        throw err;
      }
    }
  }
}
