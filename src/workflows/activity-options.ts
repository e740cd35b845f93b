/**
 * One proxy per kind of activity, each with the timeouts and retries that fit its work. The
 * disk-bound steps (download, stitch, publish, cleanup) are made per home worker: see
 * homeActivities. Creating a proxy issues no command, so where they are made does not matter.
 */
import { patched, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { AffinityActivities } from '../activities/affinity';
import type { CancelPredictionsActivities } from '../activities/cancel-predictions';
import type { PlanActivities } from '../activities/plan';
import type { GenerateActivities } from '../activities/generate';
import type { DownloadActivities } from '../activities/download';
import type { StitchActivities } from '../activities/stitch';
import type { CleanupActivities } from '../activities/cleanup';
import type { PublishActivities } from '../activities/publish';
import { NON_RETRYABLE_TYPES } from '../shared/failures';
import { providerTaskQueue } from '../shared/names';
import { PATCH_PROVIDER_QUEUE } from './patches';
import type { KeyframeActivities, KeyframeFileActivities } from '../shared/activity-io';

/** Planning is one LLM call: short, and a few retries for transient errors; after that we fall back. */
export const { planScenes } = proxyActivities<PlanActivities>({
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
export const { generateClip } = proxyActivities<GenerateActivities>({
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
/**
 * Where a generation is scheduled: the provider queue, whose task rate every worker sets to the
 * account's create limit (src/worker/worker.ts), so Temporal's matching service paces the creates
 * of all workers together. Runs recorded before it keep the workflow's own queue. Calls patched():
 * call it where the generation is scheduled, each time (its call sites are part of the histories).
 */
export function generationQueue(): { taskQueue?: string } {
  return patched(PATCH_PROVIDER_QUEUE) ? { taskQueue: providerTaskQueue(workflowInfo().taskQueue) } : {};
}

/**
 * A keyframe is one image: seconds at the model, so far shorter timeouts than a clip; paid like a
 * clip (its id in the heartbeat, adopted by key after a crash), so the same retry reasoning.
 */
export const { generateKeyframe } = proxyActivities<KeyframeActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
});

/**
 * Cancels a cancelled (or failed) run's predictions at Replicate, found by their generation keys,
 * wherever its generations were: only a running generate attempt cancels its own, and one in its
 * retry backoff (after a handover or a crash) has none running. Any worker can reach Replicate,
 * so the shared queue. Idempotent (a second pass finds nothing left to cancel), so it is retried
 * without a bound on attempts; it heartbeats as it lists, so a dead worker costs 30 s. The
 * schedule-to-close timeout is the longest a cancelled run waits for a worker to do it: with no
 * worker for 15 minutes the run closes anyway, and Replicate's Cancel-After deadline, set on every
 * prediction at its creation (30 minutes, src/activities/generate.ts), bounds the spend of what is left.
 */
export const { cancelPredictions } = proxyActivities<CancelPredictionsActivities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2s', maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
});

/**
 * Picks the worker that will hold this run's clips (its "home"): whichever worker takes the task
 * answers with its own task queue. No schedule-to-start timeout: with no worker up, waiting is right.
 */
export const { claimWorker } = proxyActivities<AffinityActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});

/**
 * The same claim as a local activity (runs since PATCH_LOCAL_CLAIM): the worker that runs the
 * workflow task answers, inside that task, so the downloads are scheduled in the same task that
 * learnt the first clip was ready. As an activity on the shared queue the claim cost a second
 * workflow task and an activity dispatch on the first clip's critical path: 4-7 s per run under
 * `bench:load` (100 runs). Whoever runs the task is alive and polling, which is all the claim asks;
 * it also holds the run in its cache. The claim is pure, so a retry is harmless.
 */
export const { claimWorker: claimWorkerHere } = proxyLocalActivities<AffinityActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});

/**
 * Downloads since PATCH_PAID_CLIPS_KEPT: every clip is paid for by now, so a file host (or a proxy)
 * answering 5xx, 403 or a fresh 404 is ridden out for about 8 minutes (20 attempts, 30 s apart at
 * most) instead of ~30 s; an expiry or an unplayable clip is non-retryable and reaches the
 * workflow at once. (The old policy stays for runs recorded before: see scene-production.)
 */
export const DOWNLOAD_OUTAGE_RETRY = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 20,
  nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
};

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
export function homeActivities(taskQueue: string, scheduleToStartMs: number) {
  const pin = { taskQueue, scheduleToStartTimeout: scheduleToStartMs };
  const { downloadClip } = proxyActivities<DownloadActivities>({ ...DOWNLOAD_OPTIONS, ...pin });
  const { stitchClips } = proxyActivities<StitchActivities>({ ...STITCH_OPTIONS, ...pin });
  const { publishVideo } = proxyActivities<PublishActivities>({ ...PUBLISH_OPTIONS, ...pin });
  const { removeWorkFiles } = proxyActivities<CleanupActivities>({ ...CLEANUP_OPTIONS, ...pin });
  // Keyframes are a few hundred KB: a download's options fit the download, the upload and the sheet.
  const keyframeFiles = proxyActivities<KeyframeFileActivities>({ ...DOWNLOAD_OPTIONS, ...pin });
  const { downloadKeyframe, uploadKeyframe, makeContactSheet } = keyframeFiles;
  return {
    downloadClip,
    stitchClips,
    publishVideo,
    removeWorkFiles,
    downloadKeyframe,
    uploadKeyframe,
    makeContactSheet,
  };
}

type HomeActivities = ReturnType<typeof homeActivities>;
type KeyframeFileSteps = 'downloadKeyframe' | 'uploadKeyframe' | 'makeContactSheet';
/**
 * Runs recorded before worker affinity have no publish step: replaying them must not add one.
 * Nor keyframe steps: storyboard runs came after affinity, so their home is always a claimed one.
 */
export type DiskBoundActivities = Omit<HomeActivities, 'publishVideo' | KeyframeFileSteps> &
  Partial<Pick<HomeActivities, 'publishVideo' | KeyframeFileSteps>>;

/** Runs started before worker affinity: every step on the workflow's own queue, as they were recorded. */
// (Proxies have no own keys to spread: each function is taken by name.)
export const legacyActivities: DiskBoundActivities = {
  downloadClip: proxyActivities<DownloadActivities>(DOWNLOAD_OPTIONS).downloadClip,
  stitchClips: proxyActivities<StitchActivities>(STITCH_OPTIONS).stitchClips,
  removeWorkFiles: proxyActivities<CleanupActivities>(CLEANUP_OPTIONS).removeWorkFiles,
};
