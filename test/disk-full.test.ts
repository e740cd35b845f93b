/**
 * A full disk, for real: the work and output folders on a 4 KB tmpfs. A download and a
 * stitch each fail with the typed, non-retryable `DiskFull` that says so, and leave nothing
 * half-written behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationFailure } from '@temporalio/common';
import { createDownloadActivities } from '../src/activities/download';
import { createStitchActivities } from '../src/activities/stitch';
import { makeTestClip } from '../src/media/testclip';
import { harness, useEmulators } from './helpers/activity-env';
import { expectFailure } from './helpers/failures';
import { createGenerateActivities } from '../src/activities/generate';

let dir: string;
let full: string;
let mounted = false;
const emu = useEmulators({ replicate: { startingMs: 20, processingMs: 50, clipWidth: 1920, clipHeight: 1080 } });

// Mounting a tmpfs needs root (CI and the dev machines run as root); elsewhere the test says why it skips.
const isRoot = process.getuid?.() === 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-diskfull-'));
  full = join(dir, 'full');
  await mkdir(full);
  if (isRoot) mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', full]).status === 0;
});

after(async () => {
  if (mounted) spawnSync('umount', [full]);
  await rm(dir, { recursive: true, force: true });
});

const skipReason = () => (mounted ? false : 'needs root to mount a 4 KB tmpfs');

async function expectDiskFull(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await expectFailure(p, 'DiskFull');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /no space left/i);
  return err;
}

test(
  'a download onto a full disk fails with DiskFull and leaves no partial file',
  { skip: isRoot ? false : 'needs root to mount a tmpfs' },
  async (t) => {
    if (skipReason()) return t.skip(String(skipReason()));
    const gen = createGenerateActivities({ replicate: emu.replicate(), pollIntervalMs: 20 });
    const made = await harness().run((i: Parameters<typeof gen.generateClip>[0]) => gen.generateClip(i), {
      workflowId: 'full-disk',
      sceneIndex: 1,
      sceneCount: 1,
      prompt: 'a clip too big for this disk',
      model: 'kling-v2.5-turbo-pro',
      seconds: 5,
      aspectRatio: '16:9',
    });
    const download = createDownloadActivities({ workDir: full, allowedHosts: ['127.0.0.1'] });
    await expectDiskFull(
      harness().run((i: Parameters<typeof download.downloadClip>[0]) => download.downloadClip(i), {
        workflowId: 'full-disk',
        sceneIndex: 1,
        sceneCount: 1,
        url: made.outputUrl,
      }),
    );
    const left = await readdir(join(full, 'full-disk')).catch(() => [] as string[]);
    assert.deepEqual(left, [], 'no partial file');
  },
);

test(
  'a stitch into a full output folder fails with DiskFull and leaves no partial file',
  { skip: isRoot ? false : 'needs root to mount a tmpfs' },
  async (t) => {
    if (skipReason()) return t.skip(String(skipReason()));
    const clips = await Promise.all(
      [1, 2].map((scene) =>
        makeTestClip({ path: join(dir, `clip-${scene}.mp4`), seconds: 2, width: 320, height: 180, scene }),
      ),
    );
    const stitch = createStitchActivities({ outputDir: full });
    await expectDiskFull(
      harness().run((i: Parameters<typeof stitch.stitchClips>[0]) => stitch.stitchClips(i), {
        workflowId: 'full-out',
        clips,
        transitionSeconds: 0.5,
      }),
    );
    const left = (await readdir(full)).filter((f) => f.includes('full-out'));
    assert.deepEqual(left, [], 'no partial file');
  },
);
