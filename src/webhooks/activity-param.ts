/**
 * The activity id in a prediction's webhook URL (next to the generation key): lets the receiver
 * complete the waiting activity by id (`client.activity.complete({ workflowId, activityId })`)
 * from any process, without a lookup. Stable across the activity's attempts.
 */
export const ACTIVITY_PARAM = 'vidflow_act';

export function withActivity(base: string, activityId: string): string {
  const url = new URL(base);
  url.searchParams.set(ACTIVITY_PARAM, activityId);
  return url.toString();
}
