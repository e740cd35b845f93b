/**
 * videoPipeline's logic on a real Temporal server, with the activities replaced: these tests are
 * about the workflow (approval, concurrency, fallback, failure types, regeneration, cancellation),
 * not about OpenAI, Replicate or ffmpeg, which have their own tests.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { fakeActivities, newCalls } from './helpers/fake-activities';
import { failure } from '../src/shared/failures';
import { approveSignal, statusQuery } from '../src/shared/messages';
import type { PipelineInputArgs } from '../src/shared/schemas';
import { videoPipeline } from '../src/workflows';
import { expectWorkflowFailure } from './helpers/failures';
import { eventually, workflowTestKit } from './helpers/temporal';

const kit = workflowTestKit('wf');
const withWorker = kit.withWorker.bind(kit);

function start(taskQueue: string, args: PipelineInputArgs, id = `wf-${taskQueue}`) {
  return kit.env.client.workflow.start(videoPipeline, { taskQueue, workflowId: id, args: [args] });
}

describe('videoPipeline', () => {
  test('waits for approval before generating anything, then runs all scenes at once and stitches in order', async () => {
    const calls = newCalls();
    await withWorker(fakeActivities(calls), async (tq) => {
      const handle = await start(tq, { prompt: 'a sunset over the sea' });
      const waiting = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.stage === 'awaiting_approval' ? s : undefined;
      });
      assert.equal(waiting.planner, 'openai');
      assert.deepEqual(
        waiting.scenes.map((s) => s.index),
        [1, 2, 3],
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(calls.generate.length, 0, 'nothing may be generated before approval');

      await handle.signal(approveSignal);
      const result = await handle.result();
      assert.deepEqual([...calls.generate].sort(), [1, 2, 3]);
      assert.equal(calls.maxConcurrentGenerations, 3, 'the three scenes generate concurrently');
      assert.deepEqual(calls.stitch[0], ['/tmp/scene-1.mp4', '/tmp/scene-2.mp4', '/tmp/scene-3.mp4']);
      assert.equal(result.durationSeconds, 14);
      assert.deepEqual(
        result.scenes.map((s) => s.predictionId.split('-')[0]),
        ['p1', 'p2', 'p3'],
      );
      const final = await handle.query(statusQuery);
      assert.equal(final.stage, 'completed');
      assert.ok(final.scenes.every((s) => s.status === 'ready' && s.attempts === 1));
      assert.equal(calls.cleanup, 1);
    });
  });

  test('autoApprove skips the wait; the approve signal takes an empty object, as the Temporal CLI sends', async () => {
    const calls = newCalls();
    await withWorker(fakeActivities(calls), async (tq) => {
      const auto = await start(tq, { prompt: 'a fox', scenes: 2, autoApprove: true });
      assert.equal((await auto.result()).scenes.length, 2);

      const manual = await start(tq, { prompt: 'a fox', scenes: 1 }, `wf-${tq}-manual`);
      await eventually(async () => (await manual.query(statusQuery)).stage === 'awaiting_approval');
      await manual.signal(approveSignal, {});
      assert.equal((await manual.result()).scenes.length, 1);
    });
  });

  test('falls back to a plain split, marked and explained, when planning fails for good', async () => {
    const calls = newCalls();
    const acts = fakeActivities(calls, {
      planScenes: async () => {
        calls.plan++;
        throw failure('ProviderAuth', 'OPENAI_API_KEY was rejected (401): check your .env');
      },
    });
    await withWorker(acts, async (tq) => {
      const handle = await start(tq, { prompt: 'Waves roll in. Gulls circle. The sun sets.' });
      const s = await eventually(async () => {
        const st = await handle.query(statusQuery);
        return st.stage === 'awaiting_approval' ? st : undefined;
      });
      assert.equal(calls.plan, 1, 'a non-retryable failure is not retried');
      assert.equal(s.planner, 'fallback');
      assert.match(s.plannerNote ?? '', /OPENAI_API_KEY was rejected \(401\)/);
      assert.deepEqual(
        s.scenes.map((x) => x.prompt),
        ['Waves roll in.', 'Gulls circle.', 'The sun sets.'],
      );
      await handle.cancel();
    });
  });

  test('rejects invalid input at its boundary with InvalidInput', async () => {
    await withWorker(fakeActivities(newCalls()), async (tq) => {
      const handle = await start(tq, { prompt: '   ', scenes: 9 });
      const err = await expectWorkflowFailure(handle.result(), 'InvalidInput');
      assert.match(err.message, /prompt: prompt must not be blank/);
      assert.match(err.message, /scenes/);
    });
  });

  test('an expired output regenerates that scene alone; the others are kept', async () => {
    const calls = newCalls();
    let expiredOnce = false;
    const base = fakeActivities(calls);
    const acts = fakeActivities(calls, {
      downloadClip: async (input) => {
        if (input.sceneIndex === 2 && !expiredOnce) {
          expiredOnce = true;
          calls.download.push(2);
          throw failure('OutputExpired', 'scene 2/3: the clip URL answered 404');
        }
        return base.downloadClip(input);
      },
    });
    await withWorker(acts, async (tq) => {
      const handle = await start(tq, { prompt: 'a city at night', autoApprove: true });
      await handle.result();
      assert.deepEqual([...calls.generate].sort(), [1, 2, 2, 3]);
      const s = await handle.query(statusQuery);
      assert.deepEqual(
        s.scenes.map((x) => x.attempts),
        [1, 2, 1],
      );
      assert.equal(calls.plan, 1);
    });
  });

  test('a content-moderation failure fails the run with its type and message, and stops the other scenes', async () => {
    const calls = newCalls();
    const base = fakeActivities(calls);
    const acts = fakeActivities(calls, {
      generateClip: async (input) => {
        if (input.sceneIndex === 1) {
          throw failure('ContentFlagged', 'scene 1/3: Replicate flagged the prompt or output as sensitive (E005)');
        }
        return base.generateClip(input);
      },
    });
    await withWorker(acts, async (tq) => {
      const handle = await start(tq, { prompt: 'something', autoApprove: true });
      const err = await expectWorkflowFailure(handle.result(), 'ContentFlagged');
      assert.match(err.message, /E005/);
      const s = await handle.query(statusQuery);
      assert.equal(s.stage, 'failed');
      assert.equal(s.scenes[0]?.status, 'failed');
      assert.equal(calls.stitch.length, 0);
    });
  });

  test('cancelling a run marks it cancelled and removes its working files', async () => {
    const calls = newCalls();
    const acts = fakeActivities(calls, {
      generateClip: async () => {
        // Cancellation reaches an activity through its heartbeat.
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(100);
        }
      },
    });
    await withWorker(acts, async (tq) => {
      const handle = await start(tq, { prompt: 'slow', autoApprove: true });
      await eventually(async () => (await handle.query(statusQuery)).stage === 'generating');
      await handle.cancel();
      await assert.rejects(handle.result());
      const s = await eventually(async () => {
        const st = await handle.query(statusQuery);
        return st.stage === 'cancelled' ? st : undefined;
      });
      assert.ok(s.scenes.every((x) => x.status === 'cancelled'));
      assert.equal(calls.cleanup, 1);
    });
  });
});
