/** Shared by the clip and keyframe generations (./scene-production, ./storyboard). */
import { workflowInfo } from '@temporalio/workflow';

/**
 * What the generate activity needs to find a prediction a predecessor of this run paid for: a
 * reset run (new run id, same workflow id), a retried or continued one. Deterministic: from the
 * run's info, which replays alike.
 */
export function predecessors(): { mayExist: boolean; runStartedAt: string } {
  const info = workflowInfo();
  const mayExist =
    info.runId !== info.originalExecutionRunId || info.runId !== info.firstExecutionRunId || info.attempt > 1;
  return { mayExist, runStartedAt: info.startTime.toISOString() };
}
