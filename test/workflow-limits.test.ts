/**
 * What a run refuses, on a real Temporal server with stand-in activities: an approval it cannot
 * take now (the `approveRun` update, refused with the reason, while the `approve` signal keeps
 * working from the Temporal CLI by name), and edits and redos past their bounds, refused with the
 * figures so a looping client cannot grow the history toward the server's limits.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { failure } from '../src/shared/failures';
import { approveUpdate, editSceneUpdate, redoSceneUpdate, statusQuery } from '../src/shared/messages';
import type { PipelineInputArgs } from '../src/shared/schemas';
import { MAX_EDITS, MAX_REDOS, videoPipeline } from '../src/workflows/video-pipeline';
import { fakeActivities, newCalls } from './helpers/fake-activities';
import { temporalCli } from './helpers/processes';
import { workflowTestKit } from './helpers/temporal';
import { refusal, waitStage } from './helpers/run-handles';

const kit = workflowTestKit('limits');
const withWorker = kit.withWorker.bind(kit);

function start(taskQueue: string, args: PipelineInputArgs, id = `limits-${taskQueue}`) {
  return kit.env.client.workflow.start(videoPipeline, { taskQueue, workflowId: id, args: [args] });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('refusals', () => {
  test('approveRun is refused with the reason while the plan is being made and while generating; taken when awaited', async () => {
    const calls = newCalls();
    const base = fakeActivities(calls);
    const acts = fakeActivities(calls, {
      planScenes: async (input) => {
        await sleep(3000); // an LLM that takes its time: long enough to try an early approval
        return base.planScenes(input);
      },
      generateClip: async (input) => {
        await sleep(1500);
        return base.generateClip(input);
      },
    });
    await withWorker(acts, async (tq) => {
      const handle = await start(tq, { prompt: 'a harbour at dawn' });
      await waitStage(handle, 'planning');
      assert.match(
        await refusal(handle.executeUpdate(approveUpdate)),
        /nothing awaits approval \(stage is planning\): the plan is still being made/,
      );
      await waitStage(handle, 'awaiting_approval');
      assert.deepEqual(await handle.executeUpdate(approveUpdate), { approved: 'plan' });
      await waitStage(handle, 'generating');
      assert.match(
        await refusal(handle.executeUpdate(approveUpdate)),
        /nothing awaits approval \(stage is generating\)/,
      );
      const result = await handle.result();
      assert.equal(result.scenes.length, 3);
      assert.equal(calls.plan, 1);
      assert.deepEqual([...calls.generate].sort(), [1, 2, 3]);
    });
  });

  test('the approve signal still works by name from the Temporal CLI when the plan awaits approval', async () => {
    const calls = newCalls();
    await withWorker(fakeActivities(calls), async (tq) => {
      const handle = await start(tq, { prompt: 'a fox in the snow', scenes: 2 });
      await waitStage(handle, 'awaiting_approval');
      const sent = temporalCli([
        'workflow',
        'signal',
        '--address',
        kit.env.address,
        '--workflow-id',
        handle.workflowId,
        '--name',
        'approve',
      ]);
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal((await handle.result()).scenes.length, 2);
    });
  });

  test('in result review, approveRun is refused while a scene has no clip (flagged), taken once it has', async () => {
    const calls = newCalls();
    const base = fakeActivities(calls);
    const acts = fakeActivities(calls, {
      generateClip: async (input) => {
        if (input.prompt.includes('forbidden')) throw failure('ContentFlagged', 'scene 2/3: flagged (E005)');
        return base.generateClip(input);
      },
      planScenes: async () => ({ planner: 'openai', scenes: ['ok one', 'forbidden two', 'ok three'] }),
    });
    await withWorker(acts, async (tq) => {
      const handle = await start(tq, { prompt: 'x', autoApprove: true, reviewResult: true });
      await waitStage(handle, 'reviewing_result');
      assert.match(
        await refusal(handle.executeUpdate(approveUpdate)),
        /scene 2 has no clip \(flagged\?\): edit and redo it, or cancel/,
      );
      await handle.executeUpdate(redoSceneUpdate, { args: [{ index: 2, prompt: 'a harmless two' }] });
      await waitStage(handle, 'reviewing_result', () => calls.stitch.length === 1);
      assert.deepEqual(await handle.executeUpdate(approveUpdate), { approved: 'result' });
      assert.equal((await handle.result()).scenes[1]?.prompt, 'a harmless two');
    });
  });

  test(`edits are bounded: the ${MAX_EDITS + 1}th is refused with the figures`, async () => {
    const calls = newCalls();
    await withWorker(fakeActivities(calls), async (tq) => {
      const handle = await start(tq, { prompt: 'a loop of edits', scenes: 2 });
      await waitStage(handle, 'awaiting_approval');
      for (let i = 1; i <= MAX_EDITS; i++) {
        await handle.executeUpdate(editSceneUpdate, { args: [{ index: 1 + (i % 2), prompt: `edit ${i}` }] });
      }
      assert.match(
        await refusal(handle.executeUpdate(editSceneUpdate, { args: [{ index: 1, prompt: 'one more' }] })),
        new RegExp(`this run has taken ${MAX_EDITS} edits, the most allowed \\(${MAX_EDITS}\\)`),
      );
      const s = await handle.query(statusQuery);
      assert.deepEqual(
        s.scenes.map((x) => x.prompt),
        [`edit ${MAX_EDITS}`, `edit ${MAX_EDITS - 1}`],
        'the refused edit changed nothing',
      );
      await handle.cancel();
    });
  });

  test(`redos are bounded: the ${MAX_REDOS + 1}th is refused with the figures`, async () => {
    const calls = newCalls();
    await withWorker(fakeActivities(calls), async (tq) => {
      const handle = await start(tq, { prompt: 'a loop of redos', scenes: 1, autoApprove: true, reviewResult: true });
      for (let i = 1; i <= MAX_REDOS; i++) {
        await waitStage(handle, 'reviewing_result', () => calls.stitch.length === i);
        await handle.executeUpdate(redoSceneUpdate, { args: [{ index: 1 }] });
      }
      await waitStage(handle, 'reviewing_result', () => calls.stitch.length === MAX_REDOS + 1);
      assert.match(
        await refusal(handle.executeUpdate(redoSceneUpdate, { args: [{ index: 1 }] })),
        new RegExp(`this run has redone ${MAX_REDOS} scenes, the most allowed \\(${MAX_REDOS}\\)`),
      );
      assert.equal(calls.generate.length, MAX_REDOS + 1, 'one generation per accepted redo, plus the first');
      await handle.cancel();
    });
  });
});
