/**
 * The run's home: the one worker whose disk holds its clips, so download, stitch and publish land
 * on the same machine. It is claimed on first need; when it stops picking up steps (the
 * schedule-to-start timeout on its own queue), the run moves to another worker, a bounded number
 * of times, and fetches its clips again there from their output URLs.
 */
import { CancellationScope, log, patched } from '@temporalio/workflow';
import { failure } from '../shared/failures';
import { parseDurationMs } from '../shared/define-schemas';
import { messageOf } from './activity-failures';
import { claimWorker, claimWorkerHere, homeActivities } from './activity-options';
import { PATCH_CLEANUP_ON_FAILURE, PATCH_LOCAL_CLAIM, PATCH_PAID_CLIPS_KEPT, PATCH_WORKER_AFFINITY } from './patches';
import type { Home, PipelineRun } from './run-state';

/** Times a run may move to another worker after its home disappeared (each move re-downloads its clips). */
export const MAX_WORKER_MOVES = 5;

/** How long a cancelled (or failed) run's cleanup waits for its home worker to pick it up (best effort). */
const CANCEL_CLEANUP_WAIT_MS = 10_000;

/**
 * The worker that holds this run's clips. Claimed once, on first need; claimed again only after
 * the previous one stopped answering (leaveHome). Runs recorded before worker affinity keep
 * every step on the shared queue.
 */
export function homeWorker(run: PipelineRun): Promise<Home> {
  if (run.home) return Promise.resolve(run.home);
  run.claiming ??= (async () => {
    if (!patched(PATCH_WORKER_AFFINITY)) return (run.home = run.legacyHome);
    const local = patched(PATCH_LOCAL_CLAIM);
    // Asked here, before the local activity, though the downloads after it are what use it: a
    // local activity's result can reach the workflow one workflow task after its marker (a status
    // query arriving as it completes), while a replay hands it over in the marker's task. A patch
    // first asked after the claim would be asked in different tasks live and on replay, and the
    // replay would not know its marker yet: a nondeterminism error (seen in the result-review test).
    if (local) patched(PATCH_PAID_CLIPS_KEPT);
    const claim = local
      ? await claimWorkerHere()
      : await claimWorker.executeWithOptions({ summary: 'claim a worker for the clips' }, []);
    const claimed: Home = {
      taskQueue: claim.taskQueue,
      workerId: claim.workerId,
      acts: homeActivities(claim.taskQueue, parseDurationMs(run.input.workerTimeout)!),
    };
    run.home = claimed;
    run.status.worker = claim.workerId;
    run.refreshDetails();
    log.info(`clips go to worker ${claim.workerId}`);
    return claimed;
  })().finally(() => {
    run.claiming = undefined;
  });
  return run.claiming;
}

/** The home did not pick up a step within workerTimeout: forget it, so the next step claims another. */
export function leaveHome(run: PipelineRun, lost: Home, what: string): void {
  if (run.home !== lost) return; // another scene already noticed
  run.home = undefined;
  run.moves++;
  log.warn(
    `worker ${lost.workerId ?? lost.taskQueue} did not pick up the ${what} within ${run.input.workerTimeout}: moving the run to another worker (move ${run.moves})`,
  );
  if (run.moves > MAX_WORKER_MOVES) {
    throw failure(
      'WorkerLost',
      `the workers holding this run's clips stopped answering ${run.moves} times; is any worker running?`,
    );
  }
}

/** A finished run's clips are in the video now: remove them. Never fails the run. */
export async function removeWorkFiles(run: PipelineRun): Promise<void> {
  await (run.home ?? run.legacyHome).acts
    .removeWorkFiles({ workflowId: run.workflowId })
    .catch((err: unknown) => log.warn(`cleanup failed: ${messageOf(err)}`));
}

/** Tidies up after a cancellation; call it outside the cancelled scope. */
export async function removeWorkFilesOfCancelledRun(run: PipelineRun): Promise<void> {
  // A dead home would hold the closing of a cancelled run for the whole workerTimeout: give
  // the best-effort cleanup a short wait instead. (No home claimed yet: the shared queue, as
  // recorded histories expect; it has nothing to remove then.)
  const { home, legacyHome } = run;
  const cleanup =
    home && home !== legacyHome ? homeActivities(home.taskQueue, CANCEL_CLEANUP_WAIT_MS) : legacyHome.acts;
  await cleanup.removeWorkFiles({ workflowId: run.workflowId }).catch(() => undefined);
}

/**
 * Clips exist only on a claimed home; a failed run will not need them again (a reset run
 * downloads them anew). Best effort, with the short wait: the home may be why the run failed.
 */
export async function removeWorkFilesOfFailedRun(run: PipelineRun): Promise<void> {
  const failedHome = run.home;
  // patched() only once a home was claimed: where it is called is part of the recorded histories.
  if (failedHome && failedHome !== run.legacyHome && patched(PATCH_CLEANUP_ON_FAILURE)) {
    await CancellationScope.nonCancellable(() =>
      homeActivities(failedHome.taskQueue, CANCEL_CLEANUP_WAIT_MS)
        .removeWorkFiles({ workflowId: run.workflowId })
        .catch((e: unknown) => log.warn(`cleanup failed: ${messageOf(e)}`)),
    );
  }
}
