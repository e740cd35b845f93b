/**
 * Storyboard runs on a real Temporal server with stand-in activities (the workflow's logic; the
 * money paths with the real keyframe activities are tested end to end on the emulators): N+1
 * keyframes, the storyboard review with keyframe redos, each scene's start and end frames, a
 * keyframe redo in result review redoing exactly the scenes that touch it, the refusals, and
 * auto-approval.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import type { Activities } from '../src/activities';
import type { KeyframeFileActivities } from '../src/shared/activity-io';
import { approveUpdate, redoKeyframeUpdate, statusQuery } from '../src/shared/messages';
import { PipelineInputSchema } from '../src/shared/schemas';
import type { PipelineInputArgs } from '../src/shared/schemas';
import { formatStatus } from '../src/client/status-format';
import { renderWatch } from '../src/client/commands/watch';
import { videoPipeline } from '../src/workflows';
import { expectWorkflowFailure } from './helpers/failures';
import { failure } from '../src/shared/failures';
import { workflowTestKit } from './helpers/temporal';
import { file, framesByScene, storyboardActivities } from './helpers/storyboard-stand-ins';
import { refusal, waitStage } from './helpers/run-handles';

const kit = workflowTestKit('storyboard');

function start(taskQueue: string, args: PipelineInputArgs) {
  return kit.env.client.workflow.start(videoPipeline, { taskQueue, workflowId: `sb-${taskQueue}`, args: [args] });
}

describe('storyboard', () => {
  test('N+1 keyframes, a keyframe redo in review, scenes from keyframe i to i+1, a keyframe redo in result review redoes scenes K-1 and K', async () => {
    const { acts, calls } = storyboardActivities();
    await kit.withWorker(acts, async (tq) => {
      const handle = await start(tq, { prompt: 'a lighthouse keeper', storyboard: true, reviewResult: true });
      await waitStage(handle, 'awaiting_approval');
      assert.deepEqual(await handle.executeUpdate(approveUpdate), { approved: 'plan' });
      const review = await waitStage(handle, 'reviewing_storyboard');
      // 3 scenes: 4 keyframes, one per boundary, all from one look, with one seed.
      assert.equal(calls.keyframes.length, 4);
      assert.deepEqual(
        review.keyframes?.map((k) => [k.index, k.status, k.path]),
        [
          [1, 'ready', `/tmp/${handle.workflowId}/kf1g0.png`],
          [2, 'ready', `/tmp/${handle.workflowId}/kf2g0.png`],
          [3, 'ready', `/tmp/${handle.workflowId}/kf3g0.png`],
          [4, 'ready', `/tmp/${handle.workflowId}/kf4g0.png`],
        ],
      );
      assert.equal(review.contactSheet, `/tmp/${handle.workflowId}/contact-sheet.png`);
      assert.equal(new Set(calls.keyframes.map((k) => k.seed)).size, 1);
      assert.match(review.keyframes[0]!.prompt, /Opening frame of: shot 1 of a lighthouse keeper/);
      assert.match(review.keyframes[3]!.prompt, /Closing frame of: shot 3 of a lighthouse keeper/);
      // Estimate: 3 × 5 s × $0.07 + 4 × $0.003.
      assert.equal(review.estimatedCostUsd, 1.062);
      assert.equal(calls.clips.length, 0, 'no video is paid for before the storyboard is approved');
      // What `vidflow status` and `vidflow watch` show of it.
      const shown = formatStatus(handle.workflowId, review);
      assert.match(shown, new RegExp(`keyframe 4/4 +ready +/tmp/${handle.workflowId}/kf4g0\\.png`));
      assert.match(shown, /contact sheet: \/tmp\/.*\/contact-sheet\.png/);
      const watched = renderWatch(handle.workflowId, review, new Map());
      assert.match(watched, /reviewing_storyboard/);
      assert.match(watched, /keyframe 1 ready/);

      assert.match(
        await refusal(handle.executeUpdate(redoKeyframeUpdate, { args: [{ index: 5 }] })),
        /there is no keyframe 5: the storyboard has 4/,
      );
      assert.match(
        await refusal(handle.executeUpdate(redoKeyframeUpdate, { args: [{ index: 0 }] })),
        /keyframes are numbered from 1/,
      );
      const redo = await handle.executeUpdate(redoKeyframeUpdate, {
        args: [{ index: 2, prompt: 'the keeper climbs the stairs' }],
      });
      assert.deepEqual(redo.scenes, [], 'in the storyboard review only the image is redone');
      const again = await waitStage(handle, 'reviewing_storyboard', (s) => s.keyframes?.[1]?.attempts === 2);
      assert.equal(calls.keyframes.length, 5);
      assert.deepEqual(
        calls.keyframes.slice(4).map((k) => [k.keyframeIndex, k.generation]),
        [[2, 1]],
      );
      assert.match(again.keyframes![1]!.prompt, /the keeper climbs the stairs$/);
      assert.equal(again.keyframes![1]!.path, `/tmp/${handle.workflowId}/kf2g1.png`);
      assert.equal(calls.sheets.length, 2, 'the contact sheet is made again');

      assert.deepEqual(await handle.executeUpdate(approveUpdate), { approved: 'storyboard' });
      await waitStage(handle, 'reviewing_result');
      // Scene i runs from keyframe i to keyframe i+1, with the redone keyframe 2.
      assert.deepEqual(framesByScene(calls.clips), {
        1: [file(1, 0), file(2, 1)],
        2: [file(2, 1), file(3, 0)],
        3: [file(3, 0), file(4, 0)],
      });
      assert.equal(calls.uploads.length, 4, 'each keyframe is uploaded once, though scenes share it');
      assert.equal(calls.stitches[0]?.transitionSeconds, 0, 'storyboard runs cut hard by default');

      const r = await handle.executeUpdate(redoKeyframeUpdate, { args: [{ index: 3 }] });
      assert.deepEqual(r.scenes, [2, 3]);
      await waitStage(handle, 'reviewing_result', () => calls.stitches.length === 2);
      assert.deepEqual(
        calls.clips
          .slice(3)
          .map((c) => c.sceneIndex)
          .sort(),
        [2, 3],
      );
      assert.deepEqual(framesByScene(calls.clips), {
        1: [file(1, 0), file(2, 1)],
        2: [file(2, 1), file(3, 1)],
        3: [file(3, 1), file(4, 0)],
      });
      assert.equal(calls.uploads.length, 5, 'only the new keyframe is uploaded');

      // The last keyframe touches only the last scene.
      const last = await handle.executeUpdate(redoKeyframeUpdate, { args: [{ index: 4 }] });
      assert.deepEqual(last.scenes, [3]);
      await waitStage(handle, 'reviewing_result', () => calls.stitches.length === 3);
      assert.deepEqual(
        calls.clips.slice(5).map((c) => [c.sceneIndex, c.startImage, c.endImage]),
        [[3, file(3, 1), file(4, 1)]],
      );
      await handle.executeUpdate(approveUpdate);
      await handle.result();
      assert.deepEqual(
        (await handle.query(statusQuery)).keyframes?.map((k) => k.attempts),
        [1, 2, 2, 2],
      );
    });
  });

  test('redoKeyframe is refused outside the reviews, in runs without a storyboard, and above --max-cost', async () => {
    const { acts } = storyboardActivities();
    await kit.withWorker(acts, async (tq) => {
      const plain = await start(tq, { prompt: 'a plain run', scenes: 1 });
      await waitStage(plain, 'awaiting_approval');
      assert.match(
        await refusal(plain.executeUpdate(redoKeyframeUpdate, { args: [{ index: 1 }] })),
        /this run has no storyboard/,
      );
      await plain.terminate();

      // 2 × 5 s × $0.07 + 3 × $0.003 = $0.709: one more keyframe ($0.003) fits $0.713, a second does not.
      const tight = await kit.env.client.workflow.start(videoPipeline, {
        taskQueue: tq,
        workflowId: `sb-tight-${tq}`,
        args: [{ prompt: 'a tight budget', scenes: 2, storyboard: true, maxCostUsd: 0.713 }],
      });
      await waitStage(tight, 'awaiting_approval');
      assert.match(
        await refusal(tight.executeUpdate(redoKeyframeUpdate, { args: [{ index: 1 }] })),
        /only while the storyboard or the result is under review \(stage is awaiting_approval\)/,
      );
      assert.deepEqual(await tight.executeUpdate(approveUpdate), { approved: 'plan' });
      await waitStage(tight, 'reviewing_storyboard');
      assert.deepEqual(await tight.executeUpdate(redoKeyframeUpdate, { args: [{ index: 1 }] }), {
        index: 1,
        scenes: [],
        estimatedCostUsd: 0.712,
      });
      await waitStage(tight, 'reviewing_storyboard', (s) => s.keyframes?.[0]?.attempts === 2);
      assert.match(
        await refusal(tight.executeUpdate(redoKeyframeUpdate, { args: [{ index: 2 }] })),
        /redoing keyframe 2 would bring the estimated cost to \$0\.715, above --max-cost \$0\.713/,
      );
      await tight.terminate();
    });
  });

  test('autoApprove passes the storyboard too; an unapproved storyboard times out before any video', async () => {
    const { acts, calls } = storyboardActivities();
    await kit.withWorker(acts, async (tq) => {
      const auto = await start(tq, {
        prompt: 'straight through',
        scenes: 2,
        storyboard: true,
        autoApprove: true,
        reference: 'https://example.com/face.png',
      });
      const result = await auto.result();
      assert.equal(result.scenes.length, 2);
      assert.equal(calls.keyframes.length, 3);
      // A reference steers every keyframe, with the image model that takes one.
      for (const k of calls.keyframes) {
        assert.equal(k.referenceImage, 'https://example.com/face.png');
        assert.equal(k.imageModel, 'flux-kontext-pro');
      }
      assert.deepEqual(framesByScene(calls.clips), {
        1: [file(1, 0), file(2, 0)],
        2: [file(2, 0), file(3, 0)],
      });

      const before = calls.clips.length;
      const late = await kit.env.client.workflow.start(videoPipeline, {
        taskQueue: tq,
        workflowId: `sb-late-${tq}`,
        args: [{ prompt: 'nobody looks', scenes: 1, storyboard: true, approvalTimeout: '2s' }],
      });
      await waitStage(late, 'awaiting_approval');
      await late.executeUpdate(approveUpdate);
      await expectWorkflowFailure(late.result(), 'ApprovalTimedOut');
      const s = await late.query(statusQuery);
      assert.equal(s.stage, 'timed_out');
      assert.match(s.error ?? '', /the storyboard was not approved within 2s/);
      assert.equal(calls.clips.length, before, 'no video was generated');
    });
  });

  test('a run cancelled while its keyframes are made asks for its predictions to be cancelled', async () => {
    const { acts } = storyboardActivities();
    const cancelAsked: string[] = [];
    const hanging = {
      ...acts,
      generateKeyframe: async () => {
        // Stands in for a keyframe still rendering at Replicate: ends only when cancelled.
        for (;;) {
          Context.current().heartbeat();
          await Context.current().sleep(100);
        }
      },
      cancelPredictions: async (input: { workflowId: string }) => {
        cancelAsked.push(input.workflowId);
        return { cancelled: [], found: 0, searched: 0 };
      },
    } as unknown as Activities;
    await kit.withWorker(hanging, async (tq) => {
      const handle = await start(tq, { prompt: 'stopped early', scenes: 2, storyboard: true, autoApprove: true });
      await waitStage(handle, 'storyboarding', (s) => s.keyframes?.every((k) => k.status === 'generating') ?? false);
      await handle.cancel();
      await assert.rejects(handle.result());
      const s = await handle.query(statusQuery);
      assert.equal(s.stage, 'cancelled');
      assert.deepEqual(
        s.keyframes?.map((k) => k.status),
        ['cancelled', 'cancelled', 'cancelled'],
      );
      assert.deepEqual(
        cancelAsked,
        [handle.workflowId],
        'cancelPredictions ran once for the run (its keyframes included)',
      );
    });
  });

  test('a keyframe whose output expired before its download is generated once more, counted; a second expiry fails the run', async () => {
    const { acts, calls } = storyboardActivities();
    let expiries = 0;
    const expiring = {
      ...acts,
      // Keyframe 2's output is gone whenever it is downloaded (no worker for an hour, say).
      downloadKeyframe: async (input: Parameters<KeyframeFileActivities['downloadKeyframe']>[0]) => {
        if (input.keyframeIndex === 2 && (input.url.includes('g0') || expiries > 0)) {
          expiries++;
          throw failure('OutputExpired', `keyframe 2/4: the image's URL answered 404: outputs live an hour`);
        }
        return acts.downloadKeyframe(input);
      },
    };
    // First: one expiry, one regeneration (its price in the estimate), then the storyboard review.
    await kit.withWorker(
      {
        ...expiring,
        downloadKeyframe: async (input: Parameters<KeyframeFileActivities['downloadKeyframe']>[0]) => {
          if (input.keyframeIndex === 2 && input.url.includes('g0')) {
            throw failure('OutputExpired', `keyframe 2/4: the image's URL answered 404: outputs live an hour`);
          }
          return acts.downloadKeyframe(input);
        },
      },
      async (tq) => {
        const handle = await start(tq, { prompt: 'a lighthouse keeper', storyboard: true, autoApprove: false });
        await waitStage(handle, 'awaiting_approval');
        await handle.executeUpdate(approveUpdate);
        const review = await waitStage(handle, 'reviewing_storyboard');
        assert.deepEqual(calls.keyframes.map((k) => [k.keyframeIndex, k.generation]).sort(), [
          [1, 0],
          [2, 0],
          [2, 1],
          [3, 0],
          [4, 0],
        ]);
        assert.equal(review.keyframes?.[1]?.path, `/tmp/${handle.workflowId}/kf2g1.png`);
        assert.equal(review.estimatedCostUsd, 1.065, '$1.062 + one more keyframe');
        await handle.cancel();
      },
    );
    // Then: it expires again after its regeneration: the run fails with the expiry, not a loop.
    calls.keyframes.length = 0;
    await kit.withWorker(expiring, async (tq) => {
      const handle = await start(tq, { prompt: 'a lighthouse keeper', storyboard: true, autoApprove: true });
      await expectWorkflowFailure(handle.result(), 'OutputExpired');
      assert.equal(calls.keyframes.filter((k) => k.keyframeIndex === 2).length, 2, 'generated twice, not more');
    });
  });

  test('input: storyboard defaults to a hard cut unless a transition is given; reference needs storyboard', () => {
    const sb = PipelineInputSchema.parse({ prompt: 'p', storyboard: true });
    assert.equal(sb.transitionSeconds, 0);
    assert.equal(
      PipelineInputSchema.parse({ prompt: 'p', storyboard: true, transitionSeconds: 0.5 }).transitionSeconds,
      0.5,
    );
    assert.equal(PipelineInputSchema.parse({ prompt: 'p' }).transitionSeconds, 0.5);
    assert.equal(PipelineInputSchema.parse({ prompt: 'p' }).storyboard, false);
    const noSb = PipelineInputSchema.safeParse({ prompt: 'p', reference: 'https://example.com/a.png' });
    assert.match(noSb.error?.message ?? '', /reference steers storyboard keyframes/);
    const badUrl = PipelineInputSchema.safeParse({ prompt: 'p', storyboard: true, reference: 'file:///a.png' });
    assert.match(badUrl.error?.message ?? '', /reference must be an http\(s\) URL/);
  });
});
