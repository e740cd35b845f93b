/**
 * Finding the run a command acts on, and where it is now: from its worker when one answers, else
 * from what the server recorded (./run-record.ts), with a notice that says no worker runs. A run
 * that does not exist points to `vidflow list`; one that has ended says how it ended, so
 * `approve`, `edit` and `redo` never answer "no such run" for a run that `status` shows.
 */
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config';
import type { PipelineStatus } from '../shared/schemas';
import { printable } from '../support/printable';
import type { videoPipeline } from '../workflows';
import { connectClient } from './connection';
import { CliError } from './errors';
import { closedStage, describeRun, recordedStatus } from './run-record';
import { noWorkerNotice, queryStatus, workerPolls } from './worker-presence';

export interface Run {
  client: Client;
  handle: WorkflowHandle<typeof videoPipeline>;
  desc: WorkflowExecutionDescription;
  id: string;
}

export function noSuchRun(id: string, namespace: string): CliError {
  return new CliError(`no run "${printable(id)}" in namespace ${namespace}: \`vidflow list\` shows the runs there`, 1);
}

/** Connects and describes the run; a run that does not exist is a CliError that points to `vidflow list`. */
export async function findRun(cfg: Config, id: string): Promise<Run> {
  const client = await connectClient(cfg);
  const handle = client.workflow.getHandle<typeof videoPipeline>(id);
  const desc = await describeRun(handle);
  if (!desc) throw noSuchRun(id, cfg.TEMPORAL_NAMESPACE);
  return { client, handle, desc, id };
}

export interface Where {
  status: PipelineStatus;
  /** Answered by a worker (the status query) rather than read from the server's records. */
  live: boolean;
  /** Said when no worker answered. */
  notice?: string;
}

/** The run's status: its worker's answer, or the server's record and why no worker answered. */
export async function whereIs(run: Run): Promise<Where> {
  const answer = await queryStatus(run.client, run.handle, run.desc.taskQueue);
  if ('status' in answer) return { status: answer.status, live: true };
  const status = await recordedStatus(run.handle, run.desc);
  // An ended run needs no worker: its record is all there is to say.
  if (closedStage(run.desc)) return { status, live: false };
  return { status, live: false, notice: noWorkerNotice(run.desc.taskQueue, answer.noWorker) };
}

/** "completed (video …)", "failed: <reason>", "cancelled": how an ended run ended. */
export function howItEnded(status: PipelineStatus): string {
  if (status.stage === 'completed') {
    return status.output
      ? `completed (video ${printable(status.output.path)}, ${status.output.durationSeconds.toFixed(1)} s)`
      : 'completed';
  }
  return status.error ? `${status.stage}: ${printable(status.error)}` : status.stage;
}

/**
 * For commands that change a run (approve, edit, reject, redo): a run that has ended cannot take
 * them, and the person is told how it ended instead of "no such run".
 */
export async function refuseIfEnded(run: Run, what: string): Promise<void> {
  if (!closedStage(run.desc)) return;
  const status = await recordedStatus(run.handle, run.desc);
  throw new CliError(
    `run ${printable(run.id)} has finished, ${howItEnded(status)}: there is nothing to ${what}. \`vidflow status ${printable(run.id)}\` shows it.`,
    1,
  );
}

/**
 * Edits, rejections and redos are updates: a worker checks them against the run and answers at
 * once. With no worker they would wait unanswered, so the CLI says so instead of hanging.
 */
export async function requireWorker(run: Run, what: string): Promise<void> {
  if (await workerPolls(run.client, run.desc.taskQueue)) return;
  throw new CliError(
    `${what} needs a running worker to check it against the run, and ${noWorkerNotice(run.desc.taskQueue, 'none')}`,
    1,
  );
}
