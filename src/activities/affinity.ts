/**
 * Worker affinity. A run's clips live on the disk of the worker that downloaded them, so the
 * download, stitch, publish and cleanup steps of one run go to one worker's own task queue: its
 * "home". `claimWorker` runs on the shared queue, so whichever worker is free answers with its own
 * queue; the workflow then sends the disk-bound steps there (see src/workflows/home-worker.ts).
 */
import { Context } from '@temporalio/activity';

export interface AffinityDeps {
  /** This worker's own task queue (names.ts workerTaskQueue); undefined: the queue the claim came in on. */
  homeQueue?: string | undefined;
  /** Shown in the Web UI and the run's status, so a person sees which machine holds a run's files. */
  workerId?: string | undefined;
}

export interface WorkerClaim {
  taskQueue: string;
  workerId: string;
}

export function createAffinityActivities(deps: AffinityDeps) {
  return {
    /** Pure and idempotent: answers where this worker listens; retried elsewhere if the worker dies. */
    claimWorker(): Promise<WorkerClaim> {
      const info = Context.current().info;
      return Promise.resolve({
        taskQueue: deps.homeQueue ?? info.taskQueue,
        workerId: deps.workerId ?? info.taskQueue,
      });
    },
  };
}

export type AffinityActivities = ReturnType<typeof createAffinityActivities>;
