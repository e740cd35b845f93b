/**
 * The stitch activity in MockActivityEnvironment: heartbeated percentages, the output path, failure
 * types, and cancellation (ffmpeg killed, no partial file, a CancelledFailure).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createStitchActivities } from '../src/activities/stitch';
import { probe } from '../src/media/ffmpeg';
import { makeTestClip } from '../src/media/testclip';
import type { OutputInfo, StitchClipsInput } from '../src/shared/schemas';
import { expectFailure } from './helpers/failures';

let dir: string;
let clips: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-stitch-activity-'));
  clips = await Promise.all(
    [1, 2, 3].map((scene) =>
      makeTestClip({ path: join(dir, 'clips', `scene-${scene}.mp4`), seconds: 2, width: 320, height: 180, scene }),
    ),
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const newEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

/** The activity as a plain function, typed, so `env.run` returns an OutputInfo. */
function activity(outputDir: string): (input: StitchClipsInput) => Promise<OutputInfo> {
  const acts = createStitchActivities({ outputDir });
  return (input) => acts.stitchClips(input);
}

describe('stitchClips activity', () => {
  test('heartbeats rising percentages up to 100 and writes <outputDir>/<id>.mp4', async () => {
    const outputDir = join(dir, 'out-ok');
    const stitchClips = activity(outputDir);
    const env = newEnv();
    const percents: number[] = [];
    env.on('heartbeat', (d: { percent: number }) => percents.push(d.percent));
    const result = await env.run<[StitchClipsInput], OutputInfo, typeof stitchClips>(stitchClips, {
      workflowId: 'video-123',
      clips,
      transitionSeconds: 0.5,
    });
    assert.equal(result.path, join(outputDir, 'video-123.mp4'));
    assert.ok(existsSync(result.path));
    assert.ok(Math.abs(result.durationSeconds - 5) < 1 / 24);
    assert.equal(result.sizeBytes, (await probe(result.path)).sizeBytes);
    assert.equal(percents[0], 0);
    assert.equal(percents.at(-1), 100);
    assert.deepEqual(
      percents,
      [...percents].sort((a, b) => a - b),
      'never goes backwards',
    );
    assert.deepEqual(await readdir(outputDir), ['video-123.mp4'], 'no temp file left');
  });

  test('a hostile workflow id cannot leave the output folder', async () => {
    const outputDir = join(dir, 'out-safe');
    const stitchClips = activity(outputDir);
    const result = await newEnv().run<[StitchClipsInput], OutputInfo, typeof stitchClips>(stitchClips, {
      workflowId: '../../etc/passwd\0x',
      clips: clips.slice(0, 1),
      transitionSeconds: 0.5,
    });
    assert.ok(result.path.startsWith(outputDir + '/'), result.path);
    assert.ok(!result.path.slice(outputDir.length + 1).includes('/'));
    assert.ok(!result.path.includes('..') && !result.path.includes('\0'));
    assert.equal((await readdir(outputDir)).length, 1);
  });

  test('an unreadable clip fails as InvalidClip naming the clip', async () => {
    const junk = join(dir, 'clips', 'broken.mp4');
    await writeFile(junk, 'not a video');
    const stitchClips = activity(join(dir, 'out-bad'));
    const err = await expectFailure(
      newEnv().run(stitchClips, { workflowId: 'w', clips: [clips[0]!, junk], transitionSeconds: 0.5 }),
      'InvalidClip',
    );
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /clip 2 \(broken\.mp4\)/);
  });

  test('clips no longer on this disk fail as ClipsMissing naming the scenes, before ffmpeg runs', async () => {
    const out = join(dir, 'out-missing');
    const stitchClips = activity(out);
    const gone = (n: number) => join(dir, 'wiped', `scene-${n}.mp4`);
    // ClipsMissing: the workflow fetches them again on this type.
    const err = await expectFailure(
      newEnv().run(stitchClips, { workflowId: 'w', clips: [clips[0]!, gone(2), gone(3)], transitionSeconds: 0.5 }),
      'ClipsMissing',
    );
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /scene 2, 3 are no longer on this worker/);
    assert.equal(existsSync(out) && (await readdir(out)).length > 0, false, 'no output begun');
  });

  test('a fade longer than a clip fails as non-retryable StitchFailed', async () => {
    const stitchClips = activity(join(dir, 'out-fade'));
    const err = await expectFailure(
      newEnv().run(stitchClips, { workflowId: 'w', clips, transitionSeconds: 2 }),
      'StitchFailed',
    );
    assert.equal(err.nonRetryable, true);
  });

  test('cancelling kills ffmpeg, removes the partial file and rejects with a cancellation', async () => {
    const outputDir = join(dir, 'out-cancel');
    const big = await Promise.all(
      [1, 2, 3].map((scene) =>
        makeTestClip({
          path: join(dir, 'big', `scene-${scene}.mp4`),
          seconds: 2,
          width: 1280,
          height: 720,
          fps: 60,
          scene,
        }),
      ),
    );
    const stitchClips = activity(outputDir);
    const env = newEnv();
    let cancelledAt = -1;
    env.on('heartbeat', (d: { percent: number }) => {
      if (cancelledAt < 0 && d.percent > 0) {
        cancelledAt = d.percent;
        env.cancel();
      }
    });
    await assert.rejects(
      env.run(stitchClips, { workflowId: 'to-cancel', clips: big, transitionSeconds: 0.5 }),
      CancelledFailure,
    );
    assert.ok(cancelledAt > 0 && cancelledAt < 100, `cancelled mid-run at ${cancelledAt}%`);
    assert.deepEqual(existsSync(outputDir) ? await readdir(outputDir) : [], [], 'no output, no temp file');
  });
  test('a per-worker cap queues a second stitch until the first is done', async () => {
    const outputDir = join(dir, 'out-cap');
    const acts = createStitchActivities({ outputDir, maxConcurrentStitches: 1 });
    const order: string[] = [];
    const run = async (id: string) => {
      const env = newEnv();
      env.on('heartbeat', (d: { percent: number; waiting?: boolean }) => {
        if (d.waiting) order.push(`${id}:waiting`);
      });
      const stitch = (input: StitchClipsInput): Promise<OutputInfo> => acts.stitchClips(input);
      const r = await env.run<[StitchClipsInput], OutputInfo, typeof stitch>(stitch, {
        workflowId: id,
        clips,
        transitionSeconds: 0.5,
      });
      order.push(`${id}:done`);
      return r;
    };
    const [a, b] = await Promise.all([run('first'), run('second')]);
    assert.ok(existsSync(a.path) && existsSync(b.path));
    assert.deepEqual(order, ['second:waiting', 'first:done', 'second:done']);
  });
});
