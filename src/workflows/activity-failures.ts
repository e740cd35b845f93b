/**
 * Reading why an activity failed. Temporal wraps an activity's error in an ActivityFailure; the
 * workflow decides on the cause: its catalogue type (regenerate, fetch again, fail) or a
 * schedule-to-start timeout (the home worker is gone).
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { asFailureType } from '../shared/failures';
import type { FailureType } from '../shared/failures';

/** True when a step on a home queue was never picked up: the worker holding the clips is gone. */
export function homeWasLost(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === 'SCHEDULE_TO_START'
  );
}

/** The catalogue type of the failure (or of the activity's failure inside it); undefined for any other. */
export function failureTypeOf(err: unknown): FailureType | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? asFailureType(cause.type) : undefined;
}

export function messageOf(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * `message` under the step's tag, said once: activities already start their messages with it
 * ("scene 2/3: …"), and a log line that adds it again reads "scene 2/3: scene 2/3: …".
 */
export function tagged(tag: string, message: string): string {
  return message.startsWith(`${tag}: `) ? message : `${tag}: ${message}`;
}
