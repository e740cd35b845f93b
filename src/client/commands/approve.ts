/**
 * `vidflow approve <id>`: approves the plan (clips are generated, and paid for, from here on) or,
 * with --review-result, the stitched video. The approval is a signal, which a workflow cannot
 * refuse: sent in the wrong stage it would be acknowledged and then ignored. So the stage is
 * checked first (from the worker, or from the server's record when none runs), and an approval
 * the run cannot take now is refused with the reason and exit 1. With a worker running it goes as
 * the `approveRun` update, whose validator refuses it atomically if the stage changed meanwhile;
 * without one, as the signal, which the run takes once a worker returns.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { parseArgs } from 'node:util';
import { approveSignal, approveUpdate } from '../../shared/messages';
import { CliError } from '../errors';
import { findRun, refuseIfEnded, whereIs } from '../run-lookup';
import type { ConfigLoader } from './command';
import { err, out, workflowIdArg } from './command';

export const usage = `usage: vidflow approve <id>   approve its plan (or its storyboard, or, in review, its video)`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  const id = workflowIdArg(positionals, usage);
  const found = await findRun(cfg, id);
  await refuseIfEnded(found, 'approve');
  const where = await whereIs(found);
  const stage = where.status.stage;
  if (stage === 'planning') {
    throw new CliError(
      `run ${id} is still being planned: there is no plan to approve yet. \`vidflow watch ${id}\` shows when it is ready.` +
        (where.notice ? `\n${where.notice}` : ''),
    );
  }
  if (stage === 'storyboarding') {
    throw new CliError(
      `run ${id} is making its keyframes: there is no storyboard to approve yet. \`vidflow watch ${id}\` shows when it is ready.`,
    );
  }
  if (stage !== 'awaiting_approval' && stage !== 'reviewing_storyboard' && stage !== 'reviewing_result') {
    throw new CliError(`run ${id} is ${stage}: nothing awaits approval (its plan was approved already)`);
  }
  let notice = where.notice;
  if (notice) {
    // No worker to answer an update: the signal is recorded in the history and taken when one runs.
    await found.handle.signal(approveSignal);
  } else {
    notice = await approveByUpdate(found.handle, id);
  }
  out(`approved: ${id} (${WHAT[stage] ?? 'the video'})`);
  if (notice) err(`${notice} The approval is recorded and takes effect then.`);
  return 0;
}

const WHAT: Partial<Record<string, string>> = {
  awaiting_approval: 'the plan: clips (or, for a storyboard run, its keyframes) are generated now',
  reviewing_storyboard: 'the storyboard: clips are generated now',
};

/** How long the update may wait for a worker to take it before the signal is sent instead. */
const UPDATE_WAIT_MS = 5000;

async function approveByUpdate(handle: WorkflowHandle, id: string): Promise<string | undefined> {
  try {
    await handle.client.withDeadline(Date.now() + UPDATE_WAIT_MS, () => handle.executeUpdate(approveUpdate));
    return undefined;
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError) {
      const reason = e.cause instanceof Error ? e.cause.message : e.message;
      // A run started before the update existed has no handler for it: the signal still works there.
      if (!/no (registered )?handler/i.test(reason)) throw new CliError(`run ${id} refused the approval: ${reason}`);
    } else if (!isGrpcDeadlineOrCancel(e)) {
      throw e;
    }
    // The worker seen a moment ago did not take the update (it stopped, or is busy): the signal
    // is recorded in the history and taken when a worker runs the workflow again.
    await handle.signal(approveSignal);
    return 'no worker took the approval at once.';
  }
}

function isGrpcDeadlineOrCancel(e: unknown): boolean {
  const code =
    (e as { code?: unknown; cause?: { code?: unknown } } | undefined)?.code ??
    (e as { cause?: { code?: unknown } })?.cause?.code;
  return code === 1 || code === 4 || (e instanceof Error && /DEADLINE_EXCEEDED|CANCELLED/.test(e.message));
}
