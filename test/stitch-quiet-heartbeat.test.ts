/**
 * A running stitch heartbeats even while ffmpeg prints no progress. ffmpeg runs at nice 10, and
 * on a busy worker it can be starved for longer than the heartbeat timeout: the heartbeat means
 * "this worker is alive", so it must not wait for progress. The stall is a wrapper on FFMPEG_PATH
 * that sleeps before starting the real ffmpeg (only while VIDFLOW_TEST_STALL is set).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createStitchActivities } from '../src/activities/stitch';
import { makeTestClip } from '../src/media/testclip';
import type { OutputInfo, StitchClipsInput } from '../src/shared/schemas';

const STALL_S = 2.5;
const QUIET_BEAT_MS = 300;

let dir: string;
let clips: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-quiet-beat-'));
  const real = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
  const wrapper = join(dir, 'ffmpeg');
  await writeFile(wrapper, `#!/bin/sh\n[ -n "$VIDFLOW_TEST_STALL" ] && sleep ${STALL_S}\nexec '${real}' "$@"\n`);
  await chmod(wrapper, 0o755);
  process.env.FFMPEG_PATH = wrapper;
  clips = await Promise.all(
    [1, 2].map((scene) =>
      makeTestClip({ path: join(dir, `c${scene}.mp4`), seconds: 1, width: 160, height: 90, scene }),
    ),
  );
});
after(async () => {
  delete process.env.VIDFLOW_TEST_STALL;
  await rm(dir, { recursive: true, force: true });
});

test(`a stitch whose ffmpeg is silent for ${STALL_S} s still heartbeats every ${QUIET_BEAT_MS} ms`, async () => {
  const acts = createStitchActivities({ outputDir: join(dir, 'out'), quietBeatMs: QUIET_BEAT_MS });
  const stitch = (input: StitchClipsInput) => acts.stitchClips(input);
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const beats: number[] = [];
  env.on('heartbeat', () => beats.push(Date.now()));
  const started = Date.now();
  process.env.VIDFLOW_TEST_STALL = '1';
  try {
    const result = await env.run<[StitchClipsInput], OutputInfo, typeof stitch>(stitch, {
      workflowId: 'quiet',
      clips,
      transitionSeconds: 0.5,
    });
    assert.ok(result.sizeBytes > 0);
  } finally {
    delete process.env.VIDFLOW_TEST_STALL;
  }
  assert.ok(Date.now() - started >= STALL_S * 1000, 'the wrapper did stall ffmpeg');
  const gaps = beats.map((t, i) => t - (i === 0 ? started : beats[i - 1]!));
  const longest = Math.max(...gaps);
  assert.ok(longest < 3 * QUIET_BEAT_MS, `the longest silence was ${longest} ms (${beats.length} heartbeats)`);
});
