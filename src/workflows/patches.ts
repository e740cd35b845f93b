/**
 * Patch ids: each guards a change that adds or moves commands, so histories recorded before it
 * (test/histories) still replay. Remove with deprecatePatch once no run started before it is open.
 * Where each `patched()` is called, and when, is part of the recorded histories: keep call sites.
 */

/** The plan waits for approval at most approvalTimeout (before, forever): adds a timer. */
export const PATCH_APPROVAL_TIMEOUT = 'approval-timeout';
/** Disk-bound steps run on a claimed worker's own queue (before, on the shared queue). */
export const PATCH_WORKER_AFFINITY = 'worker-affinity';
/** A failed run removes the clips it downloaded (before, they stayed on the worker's disk for good). */
export const PATCH_CLEANUP_ON_FAILURE = 'cleanup-on-failure';
/**
 * Paid clips are kept: downloads ride out several minutes of file-host outage (a longer retry
 * policy); regenerations count in the estimate, are bounded by --max-cost and once per cause; a
 * clip much shorter than asked is generated again instead of failing the stitch.
 */
export const PATCH_PAID_CLIPS_KEPT = 'paid-clips-kept';
/**
 * A cancelled run, or a failed one, that sent generations which did not return a clip runs
 * `cancelPredictions`: a generation cancelled in its retry backoff (or on a dead worker) has no
 * attempt to cancel its prediction. Adds an activity to the cancellation and failure paths.
 */
export const PATCH_CANCEL_PREDICTIONS = 'cancel-predictions';
/**
 * Generations are scheduled on the provider queue (`<queue>-provider`, shared/names.ts), which the
 * workers poll with Temporal's task-queue rate limit (before, on the shared queue, unpaced).
 */
export const PATCH_PROVIDER_QUEUE = 'provider-queue';
/**
 * A keyframe's Files API upload is reused by later scenes and redos only while it is younger than
 * KEYFRAME_UPLOAD_REUSE_MS: Replicate deletes uploaded files about a day after upload, and a scene
 * redone late in the result review would otherwise hand the model an expired URL. Adds an
 * uploadKeyframe call on that path only.
 */
export const PATCH_KEYFRAME_UPLOAD_REFRESH = 'keyframe-upload-refresh';
/**
 * The home worker is claimed by a local activity, inside the workflow task that needs it (before, an
 * activity on the shared queue, and a second workflow task before the first download). Replaces a
 * ScheduleActivityTask command with a local-activity marker.
 */
export const PATCH_LOCAL_CLAIM = 'local-claim';
// Code that runs right after a local activity must not ask a patch for the first time: Temporal
// may deliver the activity's result a workflow task after its marker, a replay in the marker's
// task, and the replay would not know the patch yet. home-worker asks PATCH_PAID_CLIPS_KEPT first.
// (PATCH_LOCAL_CLAIM never ran in a deployment before that fix: its histories were recorded again.)
