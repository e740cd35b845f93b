/**
 * Worker affinity in videoPipeline, with the activities replaced: a run's disk-bound steps
 * (download, stitch, publish, cleanup) go to the queue of the worker that claimed it, and when
 * that worker stops answering (schedule-to-start timeout) the run moves to another worker and
 * downloads its clips again there, without generating (paying for) them again.
 *
 * "Workers" here are SDK workers on their own task queues in this process; the end-to-end test
 * with two real worker processes is test/two-workers.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../src/activities';
import { failure } from '../src/shared/failures';
import { statusQuery } from '../src/shared/messages';
import { MAX_WORKER_MOVES, videoPipeline } from '../src/workflows/video-pipeline';
import { fakeActivities, newCalls } from './helpers/fake-activities';
import type { Calls } from './helpers/fake-activities';
import { expectWorkflowFailure } from './helpers/failures';
import { uniqueTaskQueue, workflowTestKit } from './helpers/temporal';

const kit = workflowTestKit('affinity');

/** A worker serving only activities on `taskQueue`, as a vidflow worker's own queue does. */
async function homeWorker(taskQueue: string, activities: Partial<Activities>): Promise<Worker> {
  return Worker.create({
    connection: kit.env.nativeConnection,
    namespace: kit.env.namespace ?? 'default',
    taskQueue,
    activities,
    maxHeartbeatThrottleInterval: '200ms',
  });
}

/** Disk-bound fakes that record which home queue served them. */
function diskBound(calls: Calls, served: string[]): Partial<Activities> {
  const all = fakeActivities(calls);
  const where = () => served.push(Context.current().info.taskQueue);
  return {
    downloadClip: async (i) => (where(), all.downloadClip(i)),
    stitchClips: async (i) => (where(), all.stitchClips(i)),
    publishVideo: async (i) => (where(), all.publishVideo(i)),
    removeWorkFiles: async (i) => (where(), all.removeWorkFiles(i)),
  };
}

function start(taskQueue: string, id: string) {
  return kit.env.client.workflow.start(videoPipeline, {
    taskQueue,
    workflowId: id,
    args: [{ prompt: 'a lighthouse at night', autoApprove: true, workerTimeout: '2s' }],
  });
}

describe('worker affinity', () => {
  test('download, stitch, publish and cleanup all run on the claimed worker, not the shared queue', async () => {
    const calls = newCalls();
    const homeQueue = uniqueTaskQueue('home');
    const served: string[] = [];
    const home = await homeWorker(homeQueue, diskBound(calls, served));
    const shared = fakeActivities(calls, {
      claimWorker: async () => ({ taskQueue: homeQueue, workerId: 'machine-a' }),
      downloadClip: () => Promise.reject(new Error('must not run on the shared queue')),
      stitchClips: () => Promise.reject(new Error('must not run on the shared queue')),
    });
    await home.runUntil(
      kit.withWorker(shared, async (tq) => {
        const result = await (await start(tq, `aff-${tq}`)).result();
        assert.equal(result.worker, 'machine-a');
        assert.match(result.artifactUri ?? '', /^file:\/\//);
      }),
    );
    assert.equal(served.length, 3 + 1 + 1 + 1, 'three downloads, a stitch, a publish and a cleanup');
    assert.ok(
      served.every((q) => q === homeQueue),
      `all on ${homeQueue}: ${served.join(', ')}`,
    );
    assert.equal(calls.generate.length, 3);
  });

  test('a home that never answers is left after workerTimeout; clips are fetched on the next one, not generated again', async () => {
    const calls = newCalls();
    const dead = uniqueTaskQueue('dead'); // nobody polls it: a worker that died right after the claim
    const alive = uniqueTaskQueue('alive');
    const served: string[] = [];
    const home = await homeWorker(alive, diskBound(calls, served));
    let claims = 0;
    const shared = fakeActivities(calls, {
      claimWorker: async () =>
        ++claims === 1 ? { taskQueue: dead, workerId: 'gone' } : { taskQueue: alive, workerId: 'b' },
    });
    await home.runUntil(
      kit.withWorker(shared, async (tq) => {
        const handle = await start(tq, `aff-${tq}`);
        const result = await handle.result();
        assert.equal(result.worker, 'b');
        const status = await handle.query(statusQuery);
        assert.ok(status.scenes.every((s) => s.attempts === 1));
      }),
    );
    assert.equal(claims, 2, 'claimed once more after the first home timed out');
    assert.deepEqual([...calls.generate].sort(), [1, 2, 3], 'no scene generated twice');
    assert.equal(calls.download.length, 3);
    assert.ok(served.every((q) => q === alive));
  });

  test('a home that dies after downloading: the run moves, downloads the clips again, and stitches there', async () => {
    const calls = newCalls();
    const qa = uniqueTaskQueue('a');
    const qb = uniqueTaskQueue('b');
    const servedA: string[] = [];
    const servedB: string[] = [];
    const actsA = diskBound(calls, servedA);
    const downloadA = actsA.downloadClip!;
    actsA.downloadClip = async (i) => {
      const clip = await downloadA(i);
      // The third clip is on A's disk: A goes away before anyone asks it to stitch.
      // (Shutting down stops A's pollers at once; this last download still completes.)
      if (servedA.length === 3) a.shutdown();
      return clip;
    };
    const a = await homeWorker(qa, actsA);
    const b = await homeWorker(qb, diskBound(calls, servedB));
    let claims = 0;
    const shared = fakeActivities(calls, {
      claimWorker: async () => (++claims === 1 ? { taskQueue: qa, workerId: 'a' } : { taskQueue: qb, workerId: 'b' }),
    });
    const aRun = a.run();
    await b.runUntil(
      kit.withWorker(shared, async (tq) => {
        const result = await (await start(tq, `aff-${tq}`)).result();
        assert.equal(result.worker, 'b');
      }),
    );
    await aRun;
    assert.equal(servedA.length, 3, 'A downloaded the three clips, then was gone');
    assert.equal(calls.download.length, 6, 'the three clips were downloaded again on B');
    assert.deepEqual([...calls.generate].sort(), [1, 2, 3], 'and not generated again');
    assert.equal(calls.stitch.length, 1);
    assert.equal(servedB.filter((q) => q === qb).length, 3 + 3);
  });

  test('a video that vanished before publishing (OutputMissing) is stitched again on the same worker', async () => {
    const calls = newCalls();
    let publishes = 0;
    const acts = fakeActivities(calls, {
      publishVideo: async (i) => {
        if (++publishes === 1) throw failure('OutputMissing', `publish: ${i.path} is gone`);
        return { uri: `file://test${i.path}`, sizeBytes: 1000 };
      },
    });
    await kit.withWorker(acts, async (tq) => {
      const result = await (await start(tq, `aff-${tq}`)).result();
      assert.match(result.artifactUri ?? '', /^file:/);
    });
    assert.equal(publishes, 2);
    assert.equal(calls.stitch.length, 2, 'stitched again');
    assert.equal(calls.generate.length, 3, 'nothing generated again');
  });

  test('clips that vanished from the home (ClipsMissing) are downloaded again and stitched; nothing generated again', async () => {
    const calls = newCalls();
    let stitches = 0;
    const acts = fakeActivities(calls, {
      stitchClips: async (i) => {
        calls.stitch.push(i.clips);
        if (++stitches === 1)
          throw failure('ClipsMissing', 'stitch: clip(s) of scene 1, 2, 3 are no longer on this worker');
        return { path: `/tmp/out/${i.workflowId}.mp4`, durationSeconds: 14, sizeBytes: 1000 };
      },
    });
    await kit.withWorker(acts, async (tq) => {
      const result = await (await start(tq, `aff-${tq}`)).result();
      assert.equal(result.durationSeconds, 14);
    });
    assert.equal(calls.stitch.length, 2, 'stitched again');
    assert.equal(calls.download.length, 6, 'the three clips were downloaded again');
    assert.equal(calls.generate.length, 3, 'nothing generated again');
  });

  test('a cancelled run whose home died closes after the short cleanup wait, not after workerTimeout', async () => {
    const calls = newCalls();
    const dead = uniqueTaskQueue('dead-cancel');
    const shared = fakeActivities(calls, { claimWorker: async () => ({ taskQueue: dead, workerId: 'gone' }) });
    await kit.withWorker(shared, async (tq) => {
      const handle = await kit.env.client.workflow.start(videoPipeline, {
        taskQueue: tq,
        workflowId: `aff-${tq}`,
        args: [{ prompt: 'a lighthouse at night', scenes: 1, autoApprove: true, workerTimeout: '2m' }],
      });
      // Wait until the download is waiting for the dead home, then cancel.
      for (let i = 0; i < 100 && (await handle.query(statusQuery)).scenes[0]?.status !== 'downloading'; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const t0 = Date.now();
      await handle.cancel();
      await handle.result().then(
        () => assert.fail('the run should end cancelled'),
        () => undefined,
      );
      const seconds = (Date.now() - t0) / 1000;
      // Before: the cleanup waited the whole workerTimeout (120 s) for the dead home.
      assert.ok(seconds < 30, `closed ${seconds.toFixed(1)} s after the cancel`);
      assert.equal((await handle.query(statusQuery)).stage, 'cancelled');
    });
  });

  test('after a move, a scene regenerated (URL expired) and then flagged waits for review instead of looping', async () => {
    const calls = newCalls();
    const qa = uniqueTaskQueue('a-flag');
    const qb = uniqueTaskQueue('b-flag');
    const servedA: string[] = [];
    const actsA = diskBound(calls, servedA);
    const downloadA = actsA.downloadClip!;
    actsA.downloadClip = async (i) => {
      const clip = await downloadA(i);
      if (servedA.length === 3) a.shutdown(); // A holds the three clips, then is gone
      return clip;
    };
    const a = await homeWorker(qa, actsA);
    const actsB = diskBound(calls, []);
    const downloadB = actsB.downloadClip!;
    actsB.downloadClip = async (i) => {
      // On B, scene 2's URL has expired: the workflow must generate it again.
      if (i.sceneIndex === 2 && i.url.endsWith('/2.mp4') && calls.generate.filter((x) => x === 2).length === 1) {
        throw failure('OutputExpired', 'scene 2: the output URL expired (404)');
      }
      return downloadB(i);
    };
    const b = await homeWorker(qb, actsB);
    let claims = 0;
    let scene2 = 0;
    const shared = fakeActivities(calls, {
      claimWorker: async () => (++claims === 1 ? { taskQueue: qa, workerId: 'a' } : { taskQueue: qb, workerId: 'b' }),
      generateClip: async (i) => {
        calls.generate.push(i.sceneIndex);
        if (i.sceneIndex === 2 && ++scene2 > 1) throw failure('ContentFlagged', 'scene 2: flagged by moderation');
        return {
          predictionId: `p${i.sceneIndex}-${calls.generate.length}`,
          outputUrl: `https://replicate.delivery/x/${i.sceneIndex}.mp4`,
        };
      },
    });
    const aRun = a.run();
    await b.runUntil(
      kit.withWorker(shared, async (tq) => {
        const handle = await kit.env.client.workflow.start(videoPipeline, {
          taskQueue: tq,
          workflowId: `aff-${tq}`,
          args: [{ prompt: 'a lighthouse at night', autoApprove: true, reviewResult: true, workerTimeout: '2s' }],
        });
        let status = await handle.query(statusQuery);
        for (let i = 0; i < 300 && status.stage !== 'reviewing_result'; i++) {
          await new Promise((r) => setTimeout(r, 100));
          status = await handle.query(statusQuery);
        }
        assert.equal(status.stage, 'reviewing_result');
        assert.equal(status.scenes[1]?.status, 'flagged');
        assert.match(status.error ?? '', /scene 2: .*flagged/);
        await new Promise((r) => setTimeout(r, 1000)); // a loop would keep generating meanwhile
        await handle.cancel();
        await handle.result().catch(() => undefined);
      }),
    );
    await aRun;
    assert.deepEqual(
      [...calls.generate].sort(),
      [1, 2, 2, 3],
      'scene 2 generated once more after its URL expired, then left flagged: no loop',
    );
    assert.equal(calls.stitch.length, 0, 'nothing stitched with a flagged scene');
  });

  test('a run that fails after downloading removes its clips from its home', async () => {
    const calls = newCalls();
    const homeQueue = uniqueTaskQueue('home-fail');
    const served: string[] = [];
    const acts = diskBound(calls, served);
    acts.stitchClips = async () => {
      served.push('stitch');
      throw failure('StitchFailed', 'stitch: ffmpeg refused these clips');
    };
    const home = await homeWorker(homeQueue, acts);
    const shared = fakeActivities(calls, {
      claimWorker: async () => ({ taskQueue: homeQueue, workerId: 'machine-a' }),
    });
    await home.runUntil(
      kit.withWorker(shared, async (tq) => {
        const handle = await start(tq, `aff-${tq}`);
        await expectWorkflowFailure(handle.result(), 'StitchFailed');
        assert.equal((await handle.query(statusQuery)).stage, 'failed');
      }),
    );
    assert.equal(calls.cleanup, 1, 'the failed run cleaned up once');
    assert.equal(served.at(-1), homeQueue, 'on its home, after the failed stitch');
  });

  test(`after ${MAX_WORKER_MOVES} moves to workers that never answer, the run fails as WorkerLost`, async () => {
    const calls = newCalls();
    let claims = 0;
    const shared = fakeActivities(calls, {
      claimWorker: async () => ({ taskQueue: uniqueTaskQueue(`void-${++claims}`), workerId: `void-${claims}` }),
    });
    await kit.withWorker(shared, async (tq) => {
      const handle = await kit.env.client.workflow.start(videoPipeline, {
        taskQueue: tq,
        workflowId: `aff-${tq}`,
        args: [{ prompt: 'a lighthouse at night', scenes: 1, autoApprove: true, workerTimeout: '1s' }],
      });
      const err = await expectWorkflowFailure(handle.result(), 'WorkerLost');
      assert.match(err.message, /stopped answering/);
    });
    assert.equal(claims, MAX_WORKER_MOVES + 1);
    assert.equal(calls.generate.length, 1, 'the clip was paid for once');
  });
});
