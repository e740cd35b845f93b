/**
 * stitchClips trusts ffmpeg's own count of the frames it encoded (its last statistics line) instead
 * of probing the written file again: an ffmpeg that stops early with exit 0 must still fail the
 * stitch, name both counts, and leave no output. The early stop is a real ffmpeg given
 * `-frames:v 10` by a wrapper on FFMPEG_PATH (only while VIDFLOW_TEST_TRUNCATE is set).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FfmpegRunError } from '../src/media/ffmpeg';
import { stitchClips } from '../src/media/stitch';
import { makeTestClip } from '../src/media/testclip';
import { durationOf } from './helpers/video';

let dir: string;
let clips: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-frame-count-'));
  const real = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
  const wrapper = join(dir, 'ffmpeg');
  // The output file is the last argument: the wrapper puts its limit just before it.
  await writeFile(
    wrapper,
    `#!/bin/sh\nif [ -z "$VIDFLOW_TEST_TRUNCATE" ]; then exec '${real}' "$@"; fi\n` +
      `n=$#; i=0; for a in "$@"; do i=$((i+1)); if [ $i -eq $n ]; then set -- "$@" -frames:v 10 "$a"; else set -- "$@" "$a"; fi; done\n` +
      `shift $n; exec '${real}' "$@"\n`,
  );
  await chmod(wrapper, 0o755);
  process.env.FFMPEG_PATH = wrapper;
  clips = await Promise.all(
    [1, 2].map((scene) =>
      makeTestClip({ path: join(dir, `c${scene}.mp4`), seconds: 2, width: 160, height: 90, scene }),
    ),
  );
});
after(async () => {
  delete process.env.VIDFLOW_TEST_TRUNCATE;
  await rm(dir, { recursive: true, force: true });
});

test('a whole stitch reports the planned length from ffmpeg’s own count', async () => {
  const result = await stitchClips({ inputs: clips, output: join(dir, 'ok.mp4') });
  assert.equal(result.durationSeconds, 3.5, '2 + 2 − 0.5 s, as 84 frames at 24 fps');
  assert.ok(Math.abs(durationOf(result.path) - 3.5) < 0.05, 'the file agrees');
  assert.ok(result.sizeBytes > 0);
});

test('an ffmpeg that stops early with exit 0 fails the stitch, names both counts, and leaves no file', async () => {
  process.env.VIDFLOW_TEST_TRUNCATE = '1';
  try {
    await assert.rejects(
      stitchClips({ inputs: clips, output: join(dir, 'short.mp4') }),
      (err: unknown) => err instanceof FfmpegRunError && /ffmpeg wrote 10 frames, the plan has 84/.test(err.message),
    );
  } finally {
    delete process.env.VIDFLOW_TEST_TRUNCATE;
  }
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.includes('short')),
    [],
    'neither the output nor its temporary file',
  );
});
