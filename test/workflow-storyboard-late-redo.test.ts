/**
 * A scene redone late in the result review gets fresh uploads of its keyframes. Replicate deletes
 * Files API uploads about a day after upload, so an upload older than KEYFRAME_UPLOAD_REUSE_MS is
 * not handed to a new generation; a prompt redo within it reuses the uploads. With the
 * time-skipping test server: half a day passes in a moment.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { approveUpdate, redoSceneUpdate } from '../src/shared/messages';
import { providerTaskQueue } from '../src/shared/names';
import { videoPipeline } from '../src/workflows';
import { KEYFRAME_UPLOAD_REUSE_MS } from '../src/workflows/keyframe-production';
import { waitStage } from './helpers/run-handles';
import { file, framesByScene, storyboardActivities } from './helpers/storyboard-stand-ins';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from './helpers/temporal';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await timeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

test('a scene redone after its keyframe uploads are 12 h old uploads them again; a redo before that reuses them', async () => {
  const { acts, calls } = storyboardActivities();
  const taskQueue = uniqueTaskQueue('late-redo');
  const common = { connection: env.nativeConnection, activities: acts };
  const worker = await Worker.create({ ...common, taskQueue, workflowBundle: await workflowBundle() });
  const provider = await Worker.create({ ...common, taskQueue: providerTaskQueue(taskQueue) });
  await provider.runUntil(
    worker.runUntil(async () => {
      const handle = await env.client.workflow.start(videoPipeline, {
        taskQueue,
        workflowId: `late-redo-${taskQueue}`,
        args: [{ prompt: 'a lighthouse keeper', storyboard: true, reviewResult: true, approvalTimeout: '48h' }],
      });
      await waitStage(handle, 'awaiting_approval');
      await handle.executeUpdate(approveUpdate);
      await waitStage(handle, 'reviewing_storyboard');
      await handle.executeUpdate(approveUpdate);
      await waitStage(handle, 'reviewing_result');
      assert.equal(calls.uploads.length, 4, 'each keyframe uploaded once');

      // Within the reuse window: scene 2's redo reuses keyframes 2 and 3 as uploaded.
      await handle.executeUpdate(redoSceneUpdate, { args: [{ index: 2, prompt: 'the keeper lights the lamp' }] });
      await waitStage(handle, 'reviewing_result', () => calls.stitches.length === 2);
      assert.equal(calls.uploads.length, 4, 'a redo within the window uploads nothing');

      await env.sleep(KEYFRAME_UPLOAD_REUSE_MS + 60 * 60 * 1000);
      await handle.executeUpdate(redoSceneUpdate, { args: [{ index: 2, prompt: 'the keeper trims the wick' }] });
      await waitStage(handle, 'reviewing_result', () => calls.stitches.length === 3);
      assert.deepEqual(
        calls.uploads
          .slice(4)
          .map((path) => path.split('/').pop())
          .sort(),
        ['kf2g0.png', 'kf3g0.png'],
        'the two keyframes of scene 2, uploaded again',
      );
      const clip = calls.clips.at(-1)!;
      assert.equal(clip.sceneIndex, 2);
      assert.deepEqual(framesByScene(calls.clips)[2], [file(2, 0), file(3, 0)], 'the same keyframes, fresh uploads');

      await handle.executeUpdate(approveUpdate);
      await handle.result();
    }),
  );
});
