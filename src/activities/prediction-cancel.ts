/**
 * When a generate attempt stops, whether its prediction is cancelled at Replicate. Only a
 * cancellation the workflow asked for (or a run that has closed) cancels it: a worker shutdown, a
 * timeout or a reset also cancel the activity, and then the prediction must live on so the next
 * attempt can resume it, or every redeploy would pay twice.
 */
import type { Context } from '@temporalio/activity';
import type Replicate from 'replicate';
import { cancelPrediction } from '../providers/replicate-predictions';

export async function cancelAtReplicate(
  ctx: Context,
  replicate: Replicate,
  id: string,
  tag: string,
  why: string,
): Promise<void> {
  try {
    await cancelPrediction(replicate, id);
    ctx.log.info(`${tag}: cancelled prediction ${id} at Replicate (${why})`);
  } catch (err) {
    ctx.log.warn(`${tag}: could not cancel prediction ${id}: ${(err as Error).message}`);
  }
}

/** Cancels at Replicate only when the workflow asked for it; see the module comment. */
export async function cancelIfAsked(ctx: Context, replicate: Replicate, id: string, tag: string): Promise<void> {
  const why = ctx.cancellationDetails;
  // NOT_FOUND means this attempt is no longer current: either a newer attempt took over (and will
  // resume this prediction), or the run has closed (a sibling scene failed it), in which case
  // nobody will ever use this clip. Only the run's state tells them apart.
  if (why?.notFound && (await runIsClosed(ctx))) {
    await cancelAtReplicate(ctx, replicate, id, tag, 'the run has ended');
    return;
  }
  if (!why?.cancelRequested) {
    ctx.log.info(`${tag}: activity stopped (${describeCancel(why)}); prediction ${id} lives on for the next attempt`);
    return;
  }
  await cancelAtReplicate(ctx, replicate, id, tag, 'the run was cancelled');
}

async function runIsClosed(ctx: Context): Promise<boolean> {
  try {
    const workflowId = ctx.info.workflowExecution?.workflowId;
    if (!workflowId) return false;
    const desc = await ctx.client.workflow.getHandle(workflowId).describe();
    return desc.status.name !== 'RUNNING';
  } catch {
    return false; // unknown: keep the prediction, a retry may still need it
  }
}

function describeCancel(d: Context['cancellationDetails']): string {
  if (!d) return 'unknown reason';
  const reasons = Object.entries(d)
    .filter(([, v]) => v === true)
    .map(([k]) => k);
  return reasons.join(', ') || 'unknown reason';
}
