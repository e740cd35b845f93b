/**
 * Temporal for tests. `scripts/test.sh` starts one dev server for the whole run and passes its
 * address in TEMPORAL_TEST_ADDRESS (on 2 cores the SDK gives a server only 5 s to answer, so one
 * server per file is fragile); a test file run on its own starts a local one from the same binary.
 */
import { after, before } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { Activities } from '../../src/activities';
import { findTemporalBinary, installHint } from '../../src/client/temporal-binary';
import { providerTaskQueue, VIDEO_STAGE } from '../../src/shared/names';
import { workflowBundleOptions } from '../../src/worker/bundle-options';

// The SDK's INFO chatter (worker state changes) drowns the test report; warnings and errors stay.
try {
  Runtime.install({ logger: new DefaultLogger(process.env.DEBUG ? 'DEBUG' : 'WARN') });
} catch {
  // already installed by this process
}

export async function localEnv(): Promise<TestWorkflowEnvironment> {
  const address = process.env.TEMPORAL_TEST_ADDRESS;
  if (address) return TestWorkflowEnvironment.createFromExistingServer({ address });
  const bin = findTemporalBinary('cli', { install: true });
  if (!bin) throw new Error(installHint('cli'));
  return TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: bin.path }, searchAttributes: [VIDEO_STAGE] },
  });
}

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const bin = findTemporalBinary('testServer', { install: true });
  if (!bin) throw new Error(installHint('testServer'));
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: bin.path } },
  });
  // Like any server, the test server refuses a workflow that upserts an unregistered attribute.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: { [VIDEO_STAGE.name]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
  });
  return env;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per test file (webpack takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ ...workflowBundleOptions(), logger: quietLogger });
  return bundle;
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };

let queue = 0;
export function uniqueTaskQueue(name: string): string {
  return `test-${name}-${process.pid}-${++queue}`;
}

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  ms = 15_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

/**
 * One local environment for a test file (hooks registered here), and `withWorker`, which runs a
 * worker with the given activities on a fresh task queue for the duration of `fn`.
 */
export function workflowTestKit(name: string) {
  let env: TestWorkflowEnvironment | undefined;
  before(async () => {
    env = await localEnv();
  });
  after(async () => {
    await env?.teardown();
  });
  const kit = {
    get env(): TestWorkflowEnvironment {
      if (!env) throw new Error('the test environment is not ready (used outside a test?)');
      return env;
    },
    async withWorker<T>(activities: Activities, fn: (taskQueue: string) => Promise<T>): Promise<T> {
      const taskQueue = uniqueTaskQueue(name);
      const common = {
        connection: kit.env.nativeConnection,
        namespace: kit.env.namespace ?? 'default',
        activities,
        // Cancellation reaches an activity through a heartbeat flush; don't wait 24 s for it.
        maxHeartbeatThrottleInterval: '200ms',
      };
      const worker = await Worker.create({ ...common, taskQueue, workflowBundle: await workflowBundle() });
      // Generations go to the provider queue (PATCH_PROVIDER_QUEUE), unpaced here.
      const provider = await Worker.create({ ...common, taskQueue: providerTaskQueue(taskQueue) });
      return provider.runUntil(worker.runUntil(fn(taskQueue)));
    },
  };
  return kit;
}
