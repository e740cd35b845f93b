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
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { AffinityActivities } from '../activities/affinity';
import type { PlanActivities } from '../activities/plan';
import type { GenerateActivities } from '../activities/generate';
import type { DownloadActivities } from '../activities/download';
import type { StitchActivities } from '../activities/stitch';
import type { CleanupActivities } from '../activities/cleanup';
import type { PublishActivities } from '../activities/publish';
import { failure, NON_RETRYABLE_TYPES } from '../shared/failures';
import type { FailureType } from '../shared/failures';
import { fallbackScenes } from '../shared/fallback-plan';
import { approveSignal, editSceneUpdate, redoSceneUpdate, rejectPlanUpdate, statusQuery } from '../shared/messages';
import { estimateCostUsd, MODELS } from '../shared/models';
import { VIDEO_STAGE } from '../shared/names';
import {
  describeZodError,
  EditSceneSchema,
  parseDurationMs,
  PipelineInputSchema,
  RedoSceneSchema,
  RejectPlanSchema,
} from '../shared/schemas';
import type {
  ClipFile,
  PipelineInput,
  PipelineInputArgs,
  PipelineResult,
  PipelineStatus,
  Plan,
  RedoSceneArgs,
  SceneState,
  Stage,
} from '../shared/schemas';

// One proxy per kind of activity, each with the timeouts and retries that fit its work.

/** Planning is one LLM call: short, and a few retries for transient errors; after that we fall back. */
const { planScenes } = proxyActivities<PlanActivities>({
  startToCloseTimeout: '2 minutes',
  // The activity heartbeats every 5 s while the LLM answers, so a dead worker costs 20 s, not 2 minutes.
  heartbeatTimeout: '20 seconds',
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
 * Failed predictions are retried with a new one a bounded number of times (by the activity).
 */
const { generateClip } = proxyActivities<GenerateActivities>({
  startToCloseTimeout: '35 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    // High on purpose: crashes and heartbeat timeouts use attempts too. The activity itself gives up
    // on the model after MAX_MODEL_ATTEMPTS failed predictions.
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
});

/**
 * Picks the worker that will hold this run's clips (its "home"): whichever worker takes the task
 * answers with its own task queue. No schedule-to-start timeout: with no worker up, waiting is right.
 */
const { claimWorker } = proxyActivities<AffinityActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});

// The disk-bound steps below run on the home worker's own queue (see homeActivities). Their
// schedule-to-start timeout (the run's workerTimeout) is what notices that the home is gone.

/** Downloads stream a few MB; the heartbeat timeout catches a stalled connection well before the URL expires. */
const DOWNLOAD_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
};

/** Stitching is CPU-bound ffmpeg work of seconds to minutes; ffmpeg errors on the inputs are not retried. */
const STITCH_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '20 minutes',
  // The stitcher beats with each percent of output (and every 5 s while it waits for a slot), so
  // 20 s of silence means the worker is gone: then the retry waits workerTimeout for it to return.
  heartbeatTimeout: '20 seconds',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
};

/** Uploading the video to the artifact store (a no-op for the local folder store). */
const PUBLISH_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '60 seconds',
  // Every clip is paid for by now: ride out a store that is down for a while (MinIO recreated by a
  // redeploy, an S3 blip) for about 25 minutes; a store that refuses fails at once (non-retryable).
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 30,
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
};

/** Housekeeping: must never fail a finished run, so a short timeout and a few tries. */
const CLEANUP_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
};

/** The disk-bound steps on a given worker's queue, each failing after `scheduleToStartMs` unclaimed. */
function homeActivities(taskQueue: string, scheduleToStartMs: number) {
  const pin = { taskQueue, scheduleToStartTimeout: scheduleToStartMs };
  const { downloadClip } = proxyActivities<DownloadActivities>({ ...DOWNLOAD_OPTIONS, ...pin });
  const { stitchClips } = proxyActivities<StitchActivities>({ ...STITCH_OPTIONS, ...pin });
  const { publishVideo } = proxyActivities<PublishActivities>({ ...PUBLISH_OPTIONS, ...pin });
  const { removeWorkFiles } = proxyActivities<CleanupActivities>({ ...CLEANUP_OPTIONS, ...pin });
  return { downloadClip, stitchClips, publishVideo, removeWorkFiles };
}

type HomeActivities = ReturnType<typeof homeActivities>;
type DiskBoundActivities = Omit<HomeActivities, 'publishVideo'> & { publishVideo?: HomeActivities['publishVideo'] };

/** Runs started before worker affinity: every step on the workflow's own queue, as they were recorded. */
// (Proxies have no own keys to spread: each function is taken by name.)
const legacyActivities: DiskBoundActivities = {
  downloadClip: proxyActivities<DownloadActivities>(DOWNLOAD_OPTIONS).downloadClip,
  stitchClips: proxyActivities<StitchActivities>(STITCH_OPTIONS).stitchClips,
  removeWorkFiles: proxyActivities<CleanupActivities>(CLEANUP_OPTIONS).removeWorkFiles,
};

/** How long a cancelled run's cleanup waits for its home worker to pick it up (best effort). */
const CANCEL_CLEANUP_WAIT_MS = 10_000;

/** A clip whose URL expired, or that came back unplayable, is generated again at most this often. */
export const MAX_REGENERATIONS = 2;
/** Plans made in all (the first plus re-plans after rejections): each costs an LLM call and a person's time. */
export const MAX_PLAN_ROUNDS = 5;

/** Failure types after which a scene is generated again instead of failing the run. */
const REGENERATE_ON: FailureType[] = ['OutputExpired', 'InvalidClip'];

/**
 * Patch ids: each guards a change that adds or moves commands, so histories recorded before it
 * (test/histories) still replay. Remove with deprecatePatch once no run started before it is open.
 */
const PATCH_APPROVAL_TIMEOUT = 'approval-timeout';
const PATCH_WORKER_AFFINITY = 'worker-affinity';
/** A failed run removes the clips it downloaded (before, they stayed on the worker's disk for good). */
const PATCH_CLEANUP_ON_FAILURE = 'cleanup-on-failure';

/** Times a run may move to another worker after its home disappeared (each move re-downloads its clips). */
export const MAX_WORKER_MOVES = 5;

/** Where a run's clips live: a worker's own queue, or (old runs) the shared queue. */
interface Home {
  taskQueue: string;
  workerId?: string;
  acts: DiskBoundActivities;
}

/** True when a step on a home queue was never picked up: the worker holding the clips is gone. */
function homeWasLost(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === 'SCHEDULE_TO_START'
  );
}

function failureTypeOf(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

function messageOf(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

/** Throws a readable Error for an update validator (the caller sees the message as the refusal). */
function refuse(reason: string): never {
  throw new Error(reason);
}

export async function videoPipeline(args: PipelineInputArgs): Promise<PipelineResult> {
  const parsed = PipelineInputSchema.safeParse(args);
  if (!parsed.success) {
    throw failure('InvalidInput', `invalid input: ${describeZodError(parsed.error)}`);
  }
  const input: PipelineInput = parsed.data;
  const { workflowId } = workflowInfo();
  const n = input.scenes;
  const model = MODELS[input.model];
  const sceneCost = estimateCostUsd(input.model, 1, input.sceneSeconds);

  const state: PipelineStatus = {
    stage: 'planning',
    scenes: [],
    planRound: 0,
    estimatedCostUsd: estimateCostUsd(input.model, n, input.sceneSeconds),
    ...(input.maxCostUsd !== undefined ? { maxCostUsd: input.maxCostUsd } : {}),
  };
  let planApproved = false;
  let resultApproved = false;
  let rejection: string | undefined;
  const redoQueue: RedoSceneArgs[] = [];
  const clips = new Map<number, ClipFile>();
  /** Each scene's output URL: moving to another worker downloads it again without paying again. */
  const outputs = new Map<number, string>();
  /** The home queue each downloaded clip lives on. */
  const clipHome = new Map<number, string>();
  let home: Home | undefined;
  let claiming: Promise<Home> | undefined;
  let moves = 0;
  const legacyHome: Home = { taskQueue: workflowInfo().taskQueue, acts: legacyActivities };

  setHandler(statusQuery, () => state);
  setHandler(approveSignal, () => {
    if (state.stage === 'awaiting_approval') planApproved = true;
    else if (state.stage === 'reviewing_result') resultApproved = true;
    else log.warn(`approve ignored: nothing awaits approval in stage ${state.stage}`);
  });
  setHandler(
    editSceneUpdate,
    ({ index, prompt }) => {
      const scene = state.scenes[index - 1]!;
      scene.prompt = prompt;
      log.info(`scene ${index}/${n}: prompt edited`);
      refreshDetails();
      return scene;
    },
    {
      validator: (edit) => {
        const e = EditSceneSchema.safeParse(edit);
        if (!e.success) refuse(describeZodError(e.error));
        if (state.stage !== 'awaiting_approval' && state.stage !== 'reviewing_result') {
          refuse(`scenes can be edited only while the plan or the result is under review (stage is ${state.stage})`);
        }
        if (e.data.index > state.scenes.length)
          refuse(`there is no scene ${e.data.index}: the plan has ${state.scenes.length}`);
        if (e.data.prompt.length > model.maxPromptChars) {
          refuse(`prompt is ${e.data.prompt.length} characters; ${input.model} takes at most ${model.maxPromptChars}`);
        }
      },
    },
  );
  setHandler(
    rejectPlanUpdate,
    ({ feedback }) => {
      rejection = feedback;
      return { planRound: state.planRound + 1 };
    },
    {
      validator: (r) => {
        const e = RejectPlanSchema.safeParse(r);
        if (!e.success) refuse(describeZodError(e.error));
        if (state.stage !== 'awaiting_approval')
          refuse(`only a plan awaiting approval can be rejected (stage is ${state.stage})`);
        if (rejection !== undefined) refuse('the plan is already being made again');
        if (state.planRound >= MAX_PLAN_ROUNDS) {
          refuse(`the plan has been made ${state.planRound} times, the most allowed: edit scenes, approve or cancel`);
        }
      },
    },
  );
  setHandler(
    redoSceneUpdate,
    (redo) => {
      redoQueue.push(redo);
      state.estimatedCostUsd = round2(state.estimatedCostUsd + sceneCost);
      refreshDetails();
      return { index: redo.index, estimatedCostUsd: state.estimatedCostUsd };
    },
    {
      validator: (redo) => {
        const e = RedoSceneSchema.safeParse(redo);
        if (!e.success) refuse(describeZodError(e.error));
        if (state.stage !== 'reviewing_result')
          refuse(`a scene can be redone only while the result is under review (stage is ${state.stage})`);
        if (e.data.index > state.scenes.length)
          refuse(`there is no scene ${e.data.index}: the plan has ${state.scenes.length}`);
        if (redoQueue.some((q) => q.index === e.data.index))
          refuse(`scene ${e.data.index} is already queued to be redone`);
        if (e.data.prompt && e.data.prompt.length > model.maxPromptChars) {
          refuse(`prompt is ${e.data.prompt.length} characters; ${input.model} takes at most ${model.maxPromptChars}`);
        }
        const after = round2(state.estimatedCostUsd + sceneCost);
        if (input.maxCostUsd !== undefined && after > input.maxCostUsd) {
          refuse(
            `redoing scene ${e.data.index} would bring the estimated cost to $${after.toFixed(2)}, above --max-cost $${input.maxCostUsd.toFixed(2)}`,
          );
        }
      },
    },
  );

  const setStage = (stage: Stage): void => {
    state.stage = stage;
    upsertSearchAttributes([{ key: VIDEO_STAGE, value: stage }]);
    refreshDetails();
    log.info(`stage: ${stage}`);
  };

  function refreshDetails(): void {
    const lines = [`**${state.stage}** · estimated cost $${state.estimatedCostUsd.toFixed(2)}`];
    if (state.planner === 'fallback') lines.push(`plan: fallback (${state.plannerNote ?? 'no reason'})`);
    for (const s of state.scenes) {
      lines.push(`- scene ${s.index}/${n}: ${s.status}${s.attempts > 1 ? ` (attempt ${s.attempts})` : ''}`);
    }
    if (state.worker) lines.push(`worker: ${state.worker}`);
    if (state.output) lines.push(`output: ${state.output.path} (${state.output.durationSeconds.toFixed(1)} s)`);
    if (state.artifactUri) lines.push(`artifact: ${state.artifactUri}`);
    if (state.error) lines.push(`error: ${state.error}`);
    setCurrentDetails(lines.join('\n'));
  }

  try {
    if (input.maxCostUsd !== undefined && state.estimatedCostUsd > input.maxCostUsd) {
      throw failure(
        'CostLimitExceeded',
        `the plan's estimated cost $${state.estimatedCostUsd.toFixed(2)} is above --max-cost $${input.maxCostUsd.toFixed(2)}`,
      );
    }
    setStage('planning');
    await planUntilApproved();

    setStage('generating');
    await produceScenes(state.scenes);

    // Stitch; then, when the run asked for it, let a person redo single scenes until they approve.
    for (;;) {
      if (clips.size === n) {
        setStage('stitching');
        await stitchAtHome();
        if (clips.size === n) delete state.error; // else a re-fetched scene was flagged: keep why
      }
      if (!input.reviewResult) break;
      setStage('reviewing_result');
      resultApproved = false;
      const decided = await condition(
        () => (resultApproved && clips.size === n) || redoQueue.length > 0,
        approvalTimeoutMs(),
        {
          summary: 'waiting for the result to be approved',
        },
      );
      if (!decided) {
        if (!state.output) return timedOut('no decision on the result');
        log.info('no decision on the result in time: keeping the current video');
        break;
      }
      if (redoQueue.length === 0) break;
      const batch = redoQueue.splice(0);
      const scenes = batch.map((redo) => {
        const scene = state.scenes[redo.index - 1]!;
        if (redo.prompt) scene.prompt = redo.prompt;
        clips.delete(scene.index);
        outputs.delete(scene.index); // a redo is a new prediction, not a new download of the old one
        return scene;
      });
      setStage('generating');
      await produceScenes(scenes);
    }

    await (home ?? legacyHome).acts
      .removeWorkFiles({ workflowId })
      .catch((err: unknown) => log.warn(`cleanup failed: ${messageOf(err)}`));
    setStage('completed');
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
      // The run is cancelled, but tidying up must still happen: outside the cancelled scope.
      await CancellationScope.nonCancellable(async () => {
        setStage('cancelled');
        // A dead home would hold the closing of a cancelled run for the whole workerTimeout: give
        // the best-effort cleanup a short wait instead. (No home claimed yet: the shared queue, as
        // recorded histories expect; it has nothing to remove then.)
        const cleanup =
          home && home !== legacyHome ? homeActivities(home.taskQueue, CANCEL_CLEANUP_WAIT_MS) : legacyHome.acts;
        await cleanup.removeWorkFiles({ workflowId }).catch(() => undefined);
      });
      throw err;
    }
    state.error ??= messageOf(err);
    if (state.stage !== 'timed_out') setStage('failed');
    // Clips exist only on a claimed home; a failed run will not need them again (a reset run
    // downloads them anew). Best effort, with the short wait: the home may be why the run failed.
    if (home && home !== legacyHome && patched(PATCH_CLEANUP_ON_FAILURE)) {
      const failedHome = home;
      await CancellationScope.nonCancellable(() =>
        homeActivities(failedHome.taskQueue, CANCEL_CLEANUP_WAIT_MS)
          .removeWorkFiles({ workflowId })
          .catch((e: unknown) => log.warn(`cleanup failed: ${messageOf(e)}`)),
      );
    }
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

  function approvalTimeoutMs(): number {
    return parseDurationMs(input.approvalTimeout)!;
  }

  function timedOut(what: string): never {
    state.error = `${what} within ${input.approvalTimeout}; nothing more was generated`;
    setStage('timed_out');
    throw failure('ApprovalTimedOut', state.error);
  }

  /** Plans, shows the plan for approval, and plans again with the feedback of each rejection. */
  async function planUntilApproved(): Promise<void> {
    let feedback: string | undefined;
    for (;;) {
      const previous = state.scenes.map((s) => s.prompt);
      const plan = await makePlan(input, feedback === undefined ? undefined : { previousScenes: previous, feedback });
      state.planRound++;
      state.planner = plan.planner;
      if (plan.note) state.plannerNote = plan.note;
      else delete state.plannerNote;
      state.scenes = plan.scenes.map((prompt, i) => ({ index: i + 1, prompt, status: 'pending', attempts: 0 }));
      if (input.autoApprove) return;

      setStage('awaiting_approval');
      rejection = undefined;
      if (patched(PATCH_APPROVAL_TIMEOUT)) {
        const decided = await condition(() => planApproved || rejection !== undefined, approvalTimeoutMs(), {
          summary: 'waiting for the plan to be approved',
        });
        if (!decided) timedOut('the plan was not approved');
      } else {
        await condition(() => planApproved);
      }
      if (planApproved) {
        log.info('plan approved');
        return;
      }
      feedback = rejection;
      log.info(`plan rejected (round ${state.planRound}): ${feedback}`);
      setStage('planning');
    }
  }

  /** Plans with the LLM; if the activity fails for good (bad key, outage), falls back to a plain split. */
  async function makePlan(i: PipelineInput, again?: { previousScenes: string[]; feedback?: string }): Promise<Plan> {
    try {
      return await planScenes({
        prompt: i.prompt,
        scenes: i.scenes,
        sceneSeconds: i.sceneSeconds,
        maxScenePromptChars: model.maxPromptChars,
        ...(again ?? {}),
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      const note = `LLM planning failed: ${messageOf(err)}`;
      log.warn(`${note}; using a plain split of the prompt`);
      return { planner: 'fallback', note, scenes: fallbackScenes(i.prompt, i.scenes) };
    }
  }

  /**
   * Produces the given scenes at once; each chains generate → download so a clip is fetched the
   * moment it is ready. When one scene fails for good the others are cancelled (which cancels their
   * predictions at Replicate) and awaited, so a failed run stops spending before it reports the
   * failure. With result review, a scene stopped by content moderation is not a failure: it waits,
   * flagged, for a person to edit and redo it.
   */
  async function produceScenes(scenes: SceneState[]): Promise<void> {
    const scope = new CancellationScope();
    let firstFailure: unknown;
    const settled = await scope.run(() =>
      Promise.allSettled(
        scenes.map(async (scene) => {
          try {
            const clip = await produceScene(scene);
            if (clip) clips.set(scene.index, clip);
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
    for (const r of settled) if (r.status === 'rejected') throw r.reason as Error;
    const flagged = state.scenes.filter((s) => s.status === 'flagged');
    if (flagged.length) {
      state.error = flagged.map((s) => `scene ${s.index}: ${s.error ?? 'flagged'}`).join('; ') + ' — edit and redo it';
    }
  }

  /**
   * Generates a scene (unless its output URL is already known) and downloads it to the run's home
   * worker. An expired or unplayable output is generated again; a home that vanished is replaced
   * and the download repeated there, without a new prediction.
   */
  async function produceScene(scene: SceneState): Promise<ClipFile | undefined> {
    const tag = `scene ${scene.index}/${n}`;
    for (let round = 0; ;) {
      let at: Home | undefined;
      try {
        let url = outputs.get(scene.index);
        if (url === undefined) {
          scene.status = 'generating';
          scene.attempts++;
          refreshDetails();
          const gen = await generateClip.executeWithOptions({ summary: `generate ${tag}` }, [
            {
              workflowId,
              sceneIndex: scene.index,
              sceneCount: n,
              prompt: scene.prompt,
              model: input.model,
              seconds: input.sceneSeconds,
              aspectRatio: input.aspectRatio,
            },
          ]);
          scene.predictionId = gen.predictionId;
          url = gen.outputUrl;
          outputs.set(scene.index, url);
        }
        scene.status = 'downloading';
        refreshDetails();
        at = await homeWorker();
        const clip = await at.acts.downloadClip.executeWithOptions({ summary: `download ${tag}` }, [
          { workflowId, sceneIndex: scene.index, sceneCount: n, url },
        ]);
        clipHome.set(scene.index, at.taskQueue);
        scene.status = 'ready';
        delete scene.error;
        refreshDetails();
        log.info(`${tag}: clip ready (${clip.durationSeconds.toFixed(1)} s)`);
        return clip;
      } catch (err) {
        if (isCancellation(err)) throw err;
        if (at && homeWasLost(err)) {
          leaveHome(at, `download of ${tag}`);
          continue;
        }
        const type = failureTypeOf(err);
        scene.error = messageOf(err);
        if (type && (REGENERATE_ON as string[]).includes(type) && round < MAX_REGENERATIONS) {
          log.warn(`${tag}: ${scene.error}; generating it again`);
          outputs.delete(scene.index);
          round++;
          continue;
        }
        if (type === 'ContentFlagged' && input.reviewResult) {
          scene.status = 'flagged';
          refreshDetails();
          log.warn(`${tag}: ${scene.error}; waiting for an edit and a redo`);
          return undefined;
        }
        scene.status = 'failed';
        refreshDetails();
        throw err;
      }
    }
  }

  /**
   * The worker that holds this run's clips. Claimed once, on first need; claimed again only after
   * the previous one stopped answering (leaveHome). Runs recorded before worker affinity keep
   * every step on the shared queue.
   */
  function homeWorker(): Promise<Home> {
    if (home) return Promise.resolve(home);
    claiming ??= (async () => {
      if (!patched(PATCH_WORKER_AFFINITY)) return (home = legacyHome);
      const claim = await claimWorker.executeWithOptions({ summary: 'claim a worker for the clips' }, []);
      const claimed: Home = {
        taskQueue: claim.taskQueue,
        workerId: claim.workerId,
        acts: homeActivities(claim.taskQueue, parseDurationMs(input.workerTimeout)!),
      };
      home = claimed;
      state.worker = claim.workerId;
      refreshDetails();
      log.info(`clips go to worker ${claim.workerId}`);
      return claimed;
    })().finally(() => {
      claiming = undefined;
    });
    return claiming;
  }

  /** The home did not pick up a step within workerTimeout: forget it, so the next step claims another. */
  function leaveHome(lost: Home, what: string): void {
    if (home !== lost) return; // another scene already noticed
    home = undefined;
    moves++;
    log.warn(
      `worker ${lost.workerId ?? lost.taskQueue} did not pick up the ${what} within ${input.workerTimeout}: moving the run to another worker (move ${moves})`,
    );
    if (moves > MAX_WORKER_MOVES) {
      throw failure(
        'WorkerLost',
        `the workers holding this run's clips stopped answering ${moves} times; is any worker running?`,
      );
    }
  }

  /**
   * Stitches (and publishes) on the home worker, after making sure every clip is on it: when the
   * home changed, the clips on the old one are downloaded again from their output URLs.
   */
  async function stitchAtHome(): Promise<void> {
    for (;;) {
      const at = await homeWorker();
      const away = state.scenes.filter((s) => clipHome.get(s.index) !== at.taskQueue);
      if (away.length > 0) {
        log.info(`fetching ${away.length} clip(s) again on worker ${at.workerId ?? at.taskQueue}`);
        // Their old clips are on another disk: forget them, so a scene that comes back without a
        // clip (regenerated, then flagged) is seen as missing instead of fetched again forever.
        for (const s of away) clips.delete(s.index);
        await produceScenes(away);
        if (clips.size < n) return; // flagged: the result review takes it from here
        continue;
      }
      try {
        const output = await at.acts.stitchClips.executeWithOptions({ summary: `stitch ${n} clips` }, [
          {
            workflowId,
            clips: state.scenes.map((s) => clips.get(s.index)!.path),
            transitionSeconds: input.transitionSeconds,
          },
        ]);
        state.output = output;
        if (at.acts.publishVideo) {
          const published = await at.acts.publishVideo.executeWithOptions({ summary: 'publish the video' }, [
            { workflowId, path: output.path },
          ]);
          state.artifactUri = published.uri;
        }
        refreshDetails();
        return;
      } catch (err) {
        if (homeWasLost(err)) {
          leaveHome(at, 'stitch');
          continue;
        }
        const vanished = failureTypeOf(err);
        if ((vanished === 'OutputMissing' || vanished === 'ClipsMissing') && moves < MAX_WORKER_MOVES) {
          // The clips, or the stitched file before it was published, vanished from the home (a
          // wiped disk): fetch the clips again and stitch again; bounded like moves.
          moves++;
          log.warn(
            `the ${vanished === 'OutputMissing' ? 'video' : 'clips'} vanished from worker ${at.workerId ?? at.taskQueue}: fetching the clips again and stitching again`,
          );
          clipHome.clear();
          continue;
        }
        throw err;
      }
    }
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
