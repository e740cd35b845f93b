/**
 * "This must fail with catalogue type X", said once. A run that fails reaches the client as a
 * WorkflowFailedError whose cause is our ApplicationFailure, sometimes wrapped in the
 * ActivityFailure (or ChildWorkflowFailure) it came through; an activity called directly rejects
 * with the ApplicationFailure itself. Both helpers return the failure for further asserts
 * (message, nonRetryable, details).
 */
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/common';
import type { FailureType } from '../../src/shared/failures';

/** Awaits a workflow result that must fail with our catalogue failure of `type`. */
export async function expectWorkflowFailure(promise: Promise<unknown>, type: FailureType): Promise<ApplicationFailure> {
  const err = await rejectionOf(promise, `the run should fail with ${type}, but it succeeded`);
  assert.ok(err instanceof WorkflowFailedError, `expected the run to fail (WorkflowFailedError), got ${describe(err)}`);
  let cause = err.cause;
  while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) cause = cause.cause;
  return ofType(cause, type);
}

/** Awaits an activity call (or anything else that rejects with the failure itself) that must fail with `type`. */
export async function expectFailure(promise: Promise<unknown>, type: FailureType): Promise<ApplicationFailure> {
  return ofType(await rejectionOf(promise, `expected a ${type} failure, but the call succeeded`), type);
}

async function rejectionOf(promise: Promise<unknown>, ifResolved: string): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return assert.fail(ifResolved);
}

function ofType(err: unknown, type: FailureType): ApplicationFailure {
  assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure ${type}, got ${describe(err)}`);
  assert.equal(err.type, type, `wrong failure type; message: ${err.message}`);
  return err;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
