/**
 * The approval timeout, with the time-skipping test server: a day passes in a moment while the
 * test awaits the result.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { statusQuery } from '../src/shared/messages';
import { videoPipeline } from '../src/workflows';
import { fakeActivities, newCalls } from './helpers/fake-activities';
import { expectWorkflowFailure } from './helpers/failures';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from './helpers/temporal';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

for (const timeout of ['24h', '5s']) {
  test(`with no approval within ${timeout} the run ends in timed_out with a plain reason, nothing generated`, async () => {
    const calls = newCalls();
    const taskQueue = uniqueTaskQueue('timeout');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: fakeActivities(calls),
    });
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(videoPipeline, {
        taskQueue,
        workflowId: `timeout-${timeout}-${taskQueue}`,
        args: [{ prompt: 'nobody is watching', approvalTimeout: timeout }],
      });
      const before = Date.now();
      const err = await expectWorkflowFailure(handle.result(), 'ApprovalTimedOut');
      assert.ok(Date.now() - before < 30_000, 'time was skipped, not waited');
      assert.equal(err.message, `the plan was not approved within ${timeout}; nothing more was generated`);
      const s = await handle.query(statusQuery);
      assert.equal(s.stage, 'timed_out');
      assert.equal(calls.plan, 1);
      assert.equal(calls.generate.length, 0);
    });
  });
}
