/**
 * Is a worker there to answer? A query is answered by a worker, never by the server: with none
 * running, `handle.query()` waits out the server's own timeout (~30 s) and fails with a gRPC
 * error that names no cause. So the CLI looks first (the server lists the task queue's recent
 * pollers, an instant answer), asks with a short deadline when a worker seems to be there, and
 * otherwise says plainly that none runs and how to start one.
 */
import { isGrpcCancelledError, isGrpcDeadlineError } from '@temporalio/client';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { statusQuery } from '../shared/messages';
import type { PipelineStatus } from '../shared/schemas';
import { printable } from '../support/printable';
import type { videoPipeline } from '../workflows';

/** How long a status query may wait for a worker before the CLI answers from the server's records. */
export const QUERY_DEADLINE_MS = 3000;

/**
 * A poller seen this recently counts as a running worker. An idle worker's long poll lasts up to
 * a minute, so its last access can be that old; a worker gone for longer is not there.
 */
const POLLER_FRESH_MS = 75_000;

export const START_A_WORKER = '`vidflow worker` (or `vidflow worker --offline` to try it without API keys)';

export function noWorkerNotice(queue: string, why: 'none' | 'silent'): string {
  const taskQueue = printable(queue);
  return why === 'none'
    ? `no worker is running on task queue ${taskQueue}: the run waits, nothing is lost. Start one with ${START_A_WORKER}.`
    : `no worker answered within ${QUERY_DEADLINE_MS / 1000} s on task queue ${taskQueue} (busy, stuck or just stopped). If none is running, start one with ${START_A_WORKER}.`;
}

/** True when a worker has polled the task queue's workflow tasks within the last minute or so. */
export async function workerPolls(client: Client, taskQueue: string): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const now = Date.now();
  return (res.pollers ?? []).some((p) => {
    const seconds = Number(p.lastAccessTime?.seconds ?? 0);
    return now - seconds * 1000 < POLLER_FRESH_MS;
  });
}

export type LiveStatus = { status: PipelineStatus } | { noWorker: 'none' | 'silent' };

/**
 * The run's status from its worker, or why there is none: no worker polls its task queue, or the
 * one that polls did not answer within QUERY_DEADLINE_MS.
 */
export async function queryStatus(
  client: Client,
  handle: WorkflowHandle<typeof videoPipeline>,
  taskQueue: string,
  deadlineMs = QUERY_DEADLINE_MS,
): Promise<LiveStatus> {
  if (!(await workerPolls(client, taskQueue))) return { noWorker: 'none' };
  try {
    return { status: await client.connection.withDeadline(Date.now() + deadlineMs, () => handle.query(statusQuery)) };
  } catch (err) {
    if (isGrpcDeadlineError(err) || isGrpcDeadlineError((err as Error).cause)) return { noWorker: 'silent' };
    // The server resets the query's stream (CANCELLED, "Call cancelled") when the poller it handed
    // the query to went away meanwhile: a worker that just stopped, as after Ctrl-C in `vidflow run`.
    if (isGrpcCancelledError(err)) return { noWorker: 'silent' };
    // The server's own answer when the pollers it saw have gone quiet (a worker just stopped).
    if (/no poller seen/i.test(`${(err as Error).message} ${String((err as Error).cause)}`))
      return { noWorker: 'none' };
    throw err;
  }
}
