/**
 * When a 404/410 from the file host means the output is gone for good, so the scene must be
 * generated (and paid for) again. Replicate deletes API outputs an hour after the prediction; a
 * fresh URL that has never worked and answers 404 is far more likely a proxy, a CDN that has not
 * caught up or a misrouted request, and generating again would pay for the same clip twice while
 * the cause stays. So a 404/410 is an expiry only with evidence: the URL worked before, or the
 * output is about an hour old. Pure functions, so every rule is unit-testable without a network.
 */
import type { ApplicationFailure } from '@temporalio/common';
import { failure } from '../shared/failures';

/** How long Replicate keeps API outputs. */
export const OUTPUT_LIFETIME_MS = 60 * 60_000;
/**
 * A 404 on an output at least this old is an expiry. Less than the lifetime: the workflow sees the
 * URL after the prediction finished (a poll interval later, or much later after a crash).
 */
export const EXPIRY_SUSPECTED_AFTER_MS = 55 * 60_000;

export interface ExpiryEvidence {
  /** When the workflow received the URL (ISO); undefined for runs from older code. */
  outputSeenAt?: string | undefined;
  /** The run downloaded this URL before (another worker, or before its clips vanished). */
  downloadedBefore?: boolean | undefined;
  /** Bytes an earlier attempt of this download received from the URL (its last heartbeat). */
  receivedBefore?: number | undefined;
  nowMs: number;
}

/** The output's age in ms, or undefined when unknown. */
export function outputAgeMs(e: Pick<ExpiryEvidence, 'outputSeenAt' | 'nowMs'>): number | undefined {
  if (e.outputSeenAt === undefined) return undefined;
  const seen = Date.parse(e.outputSeenAt);
  return Number.isFinite(seen) ? Math.max(0, e.nowMs - seen) : undefined;
}

/** `42 s`, `3 min`, `1 h 5 min`: an age as a person reads it in a failure message. */
export function formatAge(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const min = Math.floor(ms / 60_000);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

/**
 * Why a 404/410 means the output expired, or undefined when there is no evidence that it did (a
 * fresh URL that never worked: retry the download, do not pay again).
 */
export function expiryEvidence(e: ExpiryEvidence): string | undefined {
  if (e.downloadedBefore) return 'this run downloaded it before';
  if ((e.receivedBefore ?? 0) > 0) return `an earlier attempt received ${e.receivedBefore} bytes from it`;
  const age = outputAgeMs(e);
  // Runs from older code pass no age: every 404/410 is an expiry for them, as it always was.
  if (age === undefined) return 'the output is of unknown age';
  if (age >= EXPIRY_SUSPECTED_AFTER_MS) return `the output is ${formatAge(age)} old`;
  return undefined;
}

export interface GoneOutput extends Omit<ExpiryEvidence, 'receivedBefore'> {
  tag: string;
  /** 404 or 410. */
  status: number;
  /** What the URL held, as the message names it: `clip`, `keyframe`. */
  what: string;
  /** The download attempt's last heartbeat details (an earlier attempt's received bytes). */
  heartbeat: unknown;
  /** Said after an expiry (`Replicate deletes API outputs after one hour`). */
  expiredNote: string;
  /** Said after the output's age when it is not an expiry (` old: not an expiry, retrying`). */
  notExpiredNote: string;
}

/**
 * The failure for a 404/410 from an output URL: `OutputExpired` (the workflow makes it again)
 * only with evidence, else a retryable `DownloadFailed` that pays nothing.
 */
export function goneOutputFailure(g: GoneOutput): ApplicationFailure {
  const received = (g.heartbeat as { receivedBytes?: unknown } | undefined)?.receivedBytes;
  const expired = expiryEvidence({
    outputSeenAt: g.outputSeenAt,
    downloadedBefore: g.downloadedBefore,
    receivedBefore: typeof received === 'number' ? received : undefined,
    nowMs: g.nowMs,
  });
  if (expired) {
    return failure(
      'OutputExpired',
      `${g.tag}: the ${g.what}'s URL answered ${g.status} (${expired}): ${g.expiredNote}`,
    );
  }
  const age = formatAge(outputAgeMs(g) ?? 0);
  return failure(
    'DownloadFailed',
    `${g.tag}: the ${g.what}'s URL answered ${g.status}, but the output is ${age}${g.notExpiredNote}`,
  );
}
