/**
 * A failed run, told to the person who asked for it: what happened and what to do, by the
 * failure's catalogue type (src/shared/failures.ts) rather than its raw message.
 */
import type { FailureType } from '../shared/failures';
import type { PipelineStatus } from '../shared/schemas';
import type { Messages } from './i18n';

/** Types that mean the operator must fix something (a key, a quota, a setting): not the user's doing. */
const OPERATOR: readonly FailureType[] = ['ProviderAuth', 'QuotaExceeded', 'ConfigMissing', 'DiskFull', 'WorkerLost'];
/** Types Temporal already retried; when one still ends a run, the provider stayed down. */
const PROVIDER: readonly FailureType[] = [
  'ProviderUnavailable',
  'RateLimited',
  'PredictionFailed',
  'PredictionCanceled',
  'DownloadFailed',
];

export function failureMessage(
  t: Messages,
  failure: { type: string; message: string },
  status: PipelineStatus | undefined,
  workflowId: string,
): string {
  const type = failure.type as FailureType;
  if (type === 'ContentFlagged') {
    const named = /scene (\d+)/i.exec(failure.message)?.[1];
    const scene =
      status?.scenes.find((s) => s.status === 'flagged' || s.status === 'failed')?.index ??
      (named ? Number(named) : undefined);
    return t.failFlagged(scene);
  }
  if (type === 'CostLimitExceeded') {
    const figures = /\$(\d+(?:\.\d+)?).*\$(\d+(?:\.\d+)?)/.exec(failure.message);
    return t.failBudget(
      status?.estimatedCostUsd ?? Number(figures?.[1] ?? 0),
      status?.maxCostUsd ?? (figures?.[2] ? Number(figures[2]) : undefined),
    );
  }
  if (OPERATOR.includes(type)) return t.failOperator(type);
  if (PROVIDER.includes(type)) return t.failProvider;
  return t.failOther(failure.message, workflowId);
}
