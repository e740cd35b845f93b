/**
 * A test workflow: every scene's generateClip at once, as the real pipeline schedules them, with a
 * short heartbeat timeout so a dead worker's activities move on in seconds. For the prediction
 * tracker's tests (test/prediction-tracker.test.ts), the pacing test and the burst bench.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { GenerateActivities } from '../../../src/activities/generate';
import type { GenerateClipInput, GenerateClipResult } from '../../../src/shared/schemas';

const { generateClip } = proxyActivities<GenerateActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '8 seconds',
  retry: { initialInterval: '200ms', maximumAttempts: 10, nonRetryableErrorTypes: ['InvalidInput'] },
});

/** `taskQueue`: schedule the generations there (a provider queue, as the pipeline does) instead of here. */
export async function generateMany(
  scenes: Omit<GenerateClipInput, 'workflowId'>[],
  taskQueue?: string,
): Promise<GenerateClipResult[]> {
  const { workflowId } = workflowInfo();
  const where = taskQueue ? { taskQueue } : {};
  return Promise.all(scenes.map((s) => generateClip.executeWithOptions(where, [{ ...s, workflowId }])));
}
