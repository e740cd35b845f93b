/**
 * Running one activity in a MockActivityEnvironment against the emulators: real OpenAI and
 * Replicate clients (built the way the worker builds them), a logger that records instead of
 * printing, and every heartbeat kept in order. One harness per case: the mock's context is
 * shared, so once cancelled, every later run in the same environment starts cancelled.
 */
import assert from 'node:assert/strict';
import type { Info } from '@temporalio/activity';
import { ActivityCancellationDetails, ApplicationFailure } from '@temporalio/common';
import type { ActivityCancellationDetailsOptions } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { LogEntry } from '@temporalio/worker';
import OpenAI from 'openai';
import Replicate from 'replicate';
import { createReplicateFetch } from '../../src/providers/replicate-fetch';
import type { FailureType } from '../../src/shared/failures';
import type { Emulators } from '../../src/emulators';

export const OPENAI_KEY = 'sk-test-activity-key-0123456789-abcd';
export const REPLICATE_TOKEN = 'r8_test-activity-token-0123456789-efgh';

export interface Harness {
  env: MockActivityEnvironment;
  heartbeats: unknown[];
  logs: LogEntry[];
  /** Log messages only, for `includes` checks. */
  messages(): string[];
  /** Runs `fn` in the activity context, typed (the mock's own `run` returns unknown for a closure). */
  run<I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O>;
  /** Cancels the way the worker does: a reason and the server's details, which decide what the activity does. */
  cancel(reason: 'CANCELLED' | 'WORKER_SHUTDOWN' | 'TIMED_OUT', details: ActivityCancellationDetailsOptions): void;
}

export function harness(info: Partial<Info> = {}): Harness {
  const logs: LogEntry[] = [];
  const env = new MockActivityEnvironment(info, {
    logger: new DefaultLogger('DEBUG', (entry) => logs.push(entry)),
  });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  return {
    env,
    heartbeats,
    logs,
    messages: () => logs.map((l) => l.message),
    run: <I, O>(fn: (input: I) => Promise<O>, input: I) => env.run<[I], O, (input: I) => Promise<O>>(fn, input),
    cancel: (reason, details) => env.cancel(reason, new ActivityCancellationDetails(details)),
  };
}

export function openaiClient(emu: Emulators, apiKey = OPENAI_KEY): OpenAI {
  return new OpenAI({ apiKey, baseURL: emu.openaiBaseUrl, maxRetries: 0, timeout: 10_000 });
}

export function replicateClient(emu: Emulators, auth = REPLICATE_TOKEN): Replicate {
  return new Replicate({ auth, baseUrl: emu.replicateBaseUrl, fetch: createReplicateFetch() });
}

/** Awaits a rejection and checks it is our catalogue failure of `type`; returns it for more checks. */
export async function expectFailure(promise: Promise<unknown>, type: FailureType): Promise<ApplicationFailure> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected a ${type} failure, but the activity succeeded`);
  assert.ok(
    caught instanceof ApplicationFailure,
    `expected ApplicationFailure ${type}, got ${String((caught as Error).name)}: ${(caught as Error).message}`,
  );
  assert.equal(caught.type, type, `wrong failure type; message: ${caught.message}`);
  return caught;
}

/** Polls `check` until it is true or `ms` passes. */
export async function waitUntil(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
