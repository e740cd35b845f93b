/**
 * The failure catalogue. Every error that leaves an activity or the workflow is an
 * ApplicationFailure whose `type` is one of these, so retry policies, the workflow's recovery
 * logic, the CLI and the Web UI all speak the same words.
 *
 * `nonRetryable` is true where a retry cannot help (a bad key, a refused input, a deleted file)
 * and would only burn money or time; those fail fast with a message that says what to fix.
 */
import { ApplicationFailure } from '@temporalio/common';

const FAILURES = {
  /** Input to the workflow, a signal, an update or the CLI does not match its schema. */
  InvalidInput: { nonRetryable: true },
  /** A required setting (API key, binary) is missing on the worker. */
  ConfigMissing: { nonRetryable: true },
  /** The provider rejected our credentials (401/403): fix the key, retrying will not. */
  ProviderAuth: { nonRetryable: true },
  /** The provider refused the request itself (400/404/422): the input must change. */
  ProviderRejected: { nonRetryable: true },
  /** 429: retried by Temporal after the provider's Retry-After. */
  RateLimited: { nonRetryable: false },
  /** Billing, not rate: OpenAI's insufficient_quota, Replicate's 402. */
  QuotaExceeded: { nonRetryable: true },
  /** 5xx, timeouts, connection resets: transient, retried with backoff. */
  ProviderUnavailable: { nonRetryable: false },
  /** The model ran and failed (status `failed`): retried with a new prediction, up to a bound. */
  PredictionFailed: { nonRetryable: false },
  /** The prediction was cancelled outside vidflow, or aborted by its deadline before it started. */
  PredictionCanceled: { nonRetryable: false },
  /** Content moderation (Replicate E005): retrying the same prompt will be flagged again. */
  ContentFlagged: { nonRetryable: true },
  /**
   * The output URL answered 404/410 after it had worked, or once the output was about an hour old:
   * Replicate deleted it (API outputs live one hour). The workflow generates the scene again,
   * within the run's budget. A 403, or a 404 on a fresh URL, is the way there, not the clip: retried.
   */
  OutputExpired: { nonRetryable: true },
  /** The download broke off or the connection failed: retried. */
  DownloadFailed: { nonRetryable: false },
  /** The downloaded file is not a playable video (ffprobe ran and refused it). */
  InvalidClip: { nonRetryable: true },
  /** A playable clip much shorter than the scene asked for (e.g. 0.2 s of 5 s): generated again, within the budget. */
  ClipTooShort: { nonRetryable: true },
  /**
   * ffprobe/ffmpeg is missing on this worker or could not be started (ENOENT, EAGAIN, EMFILE):
   * the worker's trouble, not the clip's, so retried (installing ffmpeg fixes a running worker).
   */
  MediaToolUnavailable: { nonRetryable: false },
  /** A download was refused before it started: scheme, host, size or content type. */
  DownloadRefused: { nonRetryable: true },
  /** ffmpeg failed on these inputs; the same inputs fail the same way. */
  StitchFailed: { nonRetryable: true },
  /** ENOSPC: no space left in the work or output folder. */
  DiskFull: { nonRetryable: true },
  /** The plan was not approved before the approval timeout. */
  ApprovalTimedOut: { nonRetryable: true },
  /** The estimated cost (with redos and regenerations) would be above the run's --max-cost. */
  CostLimitExceeded: { nonRetryable: true },
  /** A stopping worker (SIGTERM, Ctrl-C) handed its generation over: retried elsewhere after the backoff, same prediction. */
  WorkerShutdown: { nonRetryable: false },
  /** The workers holding a run's clips kept disappearing (each move re-downloads them): bounded. */
  WorkerLost: { nonRetryable: true },
  /** The finished video is neither on the worker that published it nor in the artifact store. */
  OutputMissing: { nonRetryable: true },
  /**
   * The run's downloaded clips are gone from the worker that should hold them (a wiped or new
   * disk under the same worker id): the workflow fetches them again; retrying here cannot help.
   */
  ClipsMissing: { nonRetryable: true },
  /**
   * The workflow's own catch-all: a run failed on an error without a catalogue type (an activity
   * that timed out, a bug). The run is over either way; retrying it would start paying again.
   */
  PipelineFailed: { nonRetryable: true },
} as const satisfies Record<string, { nonRetryable: boolean }>;

export type FailureType = keyof typeof FAILURES;
const FAILURE_TYPES = Object.keys(FAILURES) as FailureType[];
/** For `retry.nonRetryableErrorTypes`: belt and braces on top of each failure's own flag. */
export const NON_RETRYABLE_TYPES = FAILURE_TYPES.filter((t) => FAILURES[t].nonRetryable);

export interface FailureOptions {
  details?: unknown[];
  cause?: Error;
  /** Makes a normally retryable failure final (e.g. a retry budget the activity keeps itself). */
  nonRetryable?: boolean;
  /** Overrides the retry policy's backoff for this attempt, e.g. from a Retry-After header. */
  nextRetryDelayMs?: number;
}

/** Builds the ApplicationFailure for a catalogue type; the only way failures are made. */
export function failure(type: FailureType, message: string, opts: FailureOptions = {}): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: opts.nonRetryable ?? FAILURES[type].nonRetryable,
    details: opts.details,
    ...(opts.cause ? { cause: opts.cause } : {}),
    nextRetryDelay: opts.nextRetryDelayMs,
  });
}

/** The catalogue type of a failure's `type` field, or undefined when it is not one of ours. */
export function asFailureType(type: string | null | undefined): FailureType | undefined {
  return type != null && Object.hasOwn(FAILURES, type) ? (type as FailureType) : undefined;
}

export function isFailureType(err: unknown, type: FailureType): boolean {
  return err instanceof ApplicationFailure && err.type === type;
}
