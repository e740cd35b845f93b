/**
 * A clip is probed once while it stays the same file: the download's probe serves the stitch's.
 * Each probe is a child process, and starting one blocks the worker's event loop (longer the
 * more memory the worker holds). A file replaced under the same name, or changed in place, is
 * probed again. ffprobe is wrapped by a script that counts its runs.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFile, chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { probe } from '../src/media/ffmpeg';
import { makeTestClip } from '../src/media/testclip';
import { useTempDir } from './helpers/temp-dir';

let dir = '';
let runs = '';

useTempDir('vidflow-probe-cache-', async (d) => {
  dir = d;
  runs = join(dir, 'ffprobe-runs.log');
  const real = execFileSync('sh', ['-c', 'command -v ffprobe'], { encoding: 'utf8' }).trim();
  const wrapper = join(dir, 'ffprobe');
  await writeFile(wrapper, `#!/bin/sh\necho "$*" >> '${runs}'\nexec '${real}' "$@"\n`);
  await chmod(wrapper, 0o755);
  process.env.FFPROBE_PATH = wrapper;
});
after(() => {
  delete process.env.FFPROBE_PATH;
});

/** Probes of files so far (not the version check the media module may run). */
async function probesRun(): Promise<number> {
  const text = await readFile(runs, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l && !l.includes('-version')).length;
}

test('the same file is probed once; a file renamed over it or changed in place is probed again', async () => {
  const clip = join(dir, 'scene-1.mp4');
  await makeTestClip({ path: clip, seconds: 1, width: 160, height: 90, scene: 1 });
  const first = await probe(clip);
  assert.equal(await probesRun(), 1);
  assert.deepEqual(await probe(clip), first, 'the same facts');
  assert.equal(await probesRun(), 1, 'the second probe of an unchanged file runs no ffprobe');

  // A redo's new clip is renamed into place: another inode, probed again, its own facts.
  const redo = join(dir, 'redo.mp4');
  await makeTestClip({ path: redo, seconds: 2, width: 320, height: 180, scene: 2 });
  await rename(redo, clip);
  const again = await probe(clip);
  assert.equal(await probesRun(), 2);
  assert.equal(again.width, 320);
  assert.ok(Math.abs(again.durationSeconds - 2) < 0.1, `2 s, got ${again.durationSeconds}`);

  // Changed in place (same inode, new size and times): probed again.
  await appendFile(clip, Buffer.alloc(16));
  await probe(clip);
  assert.equal(await probesRun(), 3);
});
