/**
 * The human in the loop, on a real Temporal server with stand-in activities: edits refused with a
 * reason, re-planning with feedback, the cost limit, result review with redo of one scene, and a
 * flagged scene waiting for an edit.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { failure } from '../src/shared/failures';
import { approveSignal, editSceneUpdate, redoSceneUpdate, rejectPlanUpdate, statusQuery } from '../src/shared/messages';
import type { PipelineInputArgs, PlanInput } from '../src/shared/schemas';
import { videoPipeline } from '../src/workflows';
import { fakeActivities, newCalls } from './helpers/fake-activities';
import { expectWorkflowFailure } from './helpers/failures';
import { workflowTestKit } from './helpers/temporal';
import { refusal, waitStage } from './helpers/run-handles';

const kit = workflowTestKit('review');
const withWorker = kit.withWorker.bind(kit);

function start(taskQueue: string, args: PipelineInputArgs) {
  return kit.env.client.workflow.start(videoPipeline, { taskQueue, workflowId: `review-${taskQueue}`, args: [args] });
}

describe('human in the loop', () => {
  test('editScene changes a scene and refuses, with a reason, a bad index, a blank or too long prompt', async () => {
    const calls = newCalls();
    const prompts: string[][] = [];
    const base = fakeActivities(calls);
    const acts = fakeActivities(calls, {
      generateClip: async (input) => {
        prompts.push([String(input.sceneIndex), input.prompt]);
        await new Promise((r) => setTimeout(r, 1500)); // long enough to try an edit while generating
        return base.generateClip(input);
      },
    });
    await withWorker(acts, async (tq) => {
      const handle = await start(tq, { prompt: 'a harbour at dawn' });
      await waitStage(handle, 'awaiting_approval');
      const edited = await handle.executeUpdate(editSceneUpdate, {
        args: [{ index: 2, prompt: 'a fishing boat leaves the harbour' }],
      });
      assert.equal(edited.prompt, 'a fishing boat leaves the harbour');

      assert.match(
        await refusal(handle.executeUpdate(editSceneUpdate, { args: [{ index: 4, prompt: 'x' }] })),
        /there is no scene 4: the plan has 3/,
      );
      assert.match(
        await refusal(handle.executeUpdate(editSceneUpdate, { args: [{ index: 0, prompt: 'x' }] })),
        /numbered from 1/,
      );
      assert.match(
        await refusal(handle.executeUpdate(editSceneUpdate, { args: [{ index: 1, prompt: '   ' }] })),
        /must not be blank/,
      );
      assert.match(
        await refusal(handle.executeUpdate(editSceneUpdate, { args: [{ index: 1, prompt: 'x'.repeat(2501) }] })),
        /longer than 2500/,
      );

      await handle.signal(approveSignal);
      await waitStage(handle, 'generating');
      // Outside review, edits are refused.
      assert.match(
        await refusal(handle.executeUpdate(editSceneUpdate, { args: [{ index: 1, prompt: 'late' }] })),
        /only while the plan or the result is under review \(stage is generating\)/,
      );
      await handle.result();
      assert.deepEqual(
        prompts.find(([i]) => i === '2'),
        ['2', 'a fishing boat leaves the harbour'],
      );
    });
  });

  test('rejectPlan plans again with the previous plan and the feedback; planRound grows', async () => {
    const calls = newCalls();
    const planInputs: PlanInput[] = [];
    const acts = fakeActivities(calls, {
      planScenes: async (input) => {
        planInputs.push(input);
        calls.plan++;
        return {
          planner: 'openai',
          scenes: Array.from({ length: input.scenes }, (_, i) => `round ${planInputs.length} shot ${i + 1}`),
        };
      },
    });
    await withWorker(acts, async (tq) => {
      const handle = await start(tq, { prompt: 'a forest', scenes: 2 });
      const first = await waitStage(handle, 'awaiting_approval');
      assert.equal(first.planRound, 1);
      const r = await handle.executeUpdate(rejectPlanUpdate, { args: [{ feedback: 'more fog, fewer birds' }] });
      assert.equal(r.planRound, 2);
      const second = await waitStage(handle, 'awaiting_approval', (s) => s.planRound === 2);
      assert.deepEqual(
        second.scenes.map((s) => s.prompt),
        ['round 2 shot 1', 'round 2 shot 2'],
      );
      assert.equal(planInputs[1]?.feedback, 'more fog, fewer birds');
      assert.deepEqual(planInputs[1]?.previousScenes, ['round 1 shot 1', 'round 1 shot 2']);
      assert.match(
        await refusal(handle.executeUpdate(rejectPlanUpdate, { args: [{ feedback: ' ' }] })),
        /must not be blank/,
      );
      assert.match(
        await refusal(handle.executeUpdate(rejectPlanUpdate, { args: [{ feedback: 'x'.repeat(2001) }] })),
        /longer than 2000/,
      );
      await handle.cancel();
    });
  });

  test('a plan whose estimated cost is above maxCostUsd is refused before anything is planned', async () => {
    const calls = newCalls();
    await withWorker(fakeActivities(calls), async (tq) => {
      const handle = await start(tq, { prompt: 'expensive', scenes: 6, sceneSeconds: 10, maxCostUsd: 1 });
      const err = await expectWorkflowFailure(handle.result(), 'CostLimitExceeded');
      assert.match(err.message, /\$4\.20 is above --max-cost \$1\.00/);
      assert.equal(calls.plan, 0);
    });
  });

  test('result review: redo one scene with a new prompt, stitch again, then approve', async () => {
    const calls = newCalls();
    await withWorker(fakeActivities(calls), async (tq) => {
      const handle = await start(tq, { prompt: 'a market', autoApprove: true, reviewResult: true, maxCostUsd: 1.5 });
      const review = await waitStage(handle, 'reviewing_result');
      assert.ok(review.output);
      assert.equal(review.estimatedCostUsd, 1.05);
      assert.equal(calls.stitch.length, 1);

      const r = await handle.executeUpdate(redoSceneUpdate, {
        args: [{ index: 2, prompt: 'a spice stall, close up' }],
      });
      assert.deepEqual(r, { index: 2, estimatedCostUsd: 1.4 });
      await waitStage(handle, 'reviewing_result', () => calls.stitch.length === 2);
      assert.deepEqual([...calls.generate].sort(), [1, 2, 2, 3], 'only scene 2 was generated again');
      assert.match(
        await refusal(handle.executeUpdate(redoSceneUpdate, { args: [{ index: 1 }] })),
        /above --max-cost \$1\.50/,
      );

      await handle.signal(approveSignal);
      const result = await handle.result();
      assert.equal(result.scenes[1]?.prompt, 'a spice stall, close up');
      assert.equal((await handle.query(statusQuery)).stage, 'completed');
    });
  });

  test('with result review, a scene stopped by content moderation waits, flagged, for an edit and a redo', async () => {
    const calls = newCalls();
    const base = fakeActivities(calls);
    const acts = fakeActivities(calls, {
      generateClip: async (input) => {
        if (input.prompt.includes('forbidden')) {
          throw failure('ContentFlagged', `scene ${input.sceneIndex}/3: flagged as sensitive (E005)`);
        }
        return base.generateClip(input);
      },
      planScenes: async (input) => ({
        planner: 'openai',
        scenes: ['ok one', 'forbidden two', 'ok three'].slice(0, input.scenes),
      }),
    });
    await withWorker(acts, async (tq) => {
      const handle = await start(tq, { prompt: 'x', autoApprove: true, reviewResult: true });
      const s = await waitStage(handle, 'reviewing_result');
      assert.equal(s.scenes[1]?.status, 'flagged');
      assert.match(s.error ?? '', /scene 2: .*E005.*edit and redo/);
      assert.equal(calls.stitch.length, 0, 'nothing to stitch while a scene has no clip');
      await handle.executeUpdate(redoSceneUpdate, { args: [{ index: 2, prompt: 'a harmless two' }] });
      await waitStage(handle, 'reviewing_result', () => calls.stitch.length === 1);
      await handle.signal(approveSignal);
      const result = await handle.result();
      assert.equal(result.scenes[1]?.prompt, 'a harmless two');
    });
  });
});
