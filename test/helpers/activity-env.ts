/**
 * Running one activity in a MockActivityEnvironment against the emulators: real OpenAI and
 * Replicate clients (built the way the worker builds them), a logger that records instead of
 * printing, and every heartbeat kept in order. One harness per case: the mock's context is
 * shared, so once cancelled, every later run in the same environment starts cancelled.
 */
import { after, before, beforeEach } from 'node:test';
import type { Info } from '@temporalio/activity';
import { ActivityCancellationDetails } from '@temporalio/common';
import type { ActivityCancellationDetailsOptions } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { LogEntry } from '@temporalio/worker';
import OpenAI from 'openai';
import Replicate from 'replicate';
import { createReplicateFetch } from '../../src/providers/replicate-fetch';
import { startEmulators } from '../../src/emulators';
import type { EmulatorConfigPatch, EmulatorOptions, Emulators, EmulatorState } from '../../src/emulators';

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

/** The emulators as an activity test sees them: their URLs and counters, and real clients pointed at them. */
export interface TestEmulators {
  readonly openaiBaseUrl: string;
  readonly replicateBaseUrl: string;
  /** Counters and recorded requests: a fresh snapshot on every read. */
  readonly state: EmulatorState;
  readonly config: Emulators['config'];
  configure(patch: EmulatorConfigPatch): void;
  reset(): void;
  /** The real OpenAI client, built as the worker builds it (no client retries: ours decide). */
  openai(apiKey?: string): OpenAI;
  /** The real Replicate client with our fetch wrapper, as the worker builds it. */
  replicate(auth?: string): Replicate;
}

export interface UseEmulatorsOptions extends EmulatorOptions {
  /** Before every test: back to defaults and zero counters, then this configuration. */
  eachTest?: EmulatorConfigPatch;
}

/**
 * Starts the OpenAI and Replicate emulators for the enclosing test file or `describe` (before/after
 * hooks registered here) and hands them out; used outside a test, it throws.
 */
export function useEmulators(options: UseEmulatorsOptions = {}): TestEmulators {
  const { eachTest, ...startOptions } = options;
  let running: Emulators | undefined;
  const emu = (): Emulators => {
    if (!running) throw new Error('the emulators are not running (used outside a test?)');
    return running;
  };
  before(async () => {
    running = await startEmulators(startOptions);
  });
  after(async () => {
    await running?.close();
  });
  if (eachTest) {
    beforeEach(() => {
      emu().reset();
      emu().configure(eachTest);
    });
  }
  return {
    get openaiBaseUrl() {
      return emu().openaiBaseUrl;
    },
    get replicateBaseUrl() {
      return emu().replicateBaseUrl;
    },
    get state() {
      return emu().state;
    },
    get config() {
      return emu().config;
    },
    configure: (patch) => emu().configure(patch),
    reset: () => emu().reset(),
    openai: (apiKey = OPENAI_KEY) =>
      new OpenAI({ apiKey, baseURL: emu().openaiBaseUrl, maxRetries: 0, timeout: 10_000 }),
    replicate: (auth = REPLICATE_TOKEN) =>
      new Replicate({ auth, baseUrl: emu().replicateBaseUrl, fetch: createReplicateFetch() }),
  };
}

/** Polls `check` until it is true or `ms` passes. */
export async function waitUntil(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
