/**
 * ffprobe starts from a thread of its own: starting a child process blocks the starting thread
 * until the child has exec'd, and on a loaded worker that blocked the main thread (Temporal's
 * activations, webhooks, downloads) for 11.6 s of a minute. The main thread must create no child
 * process for a probe, a CLI must still exit when its probes are done, and a probe thread that
 * dies fails only the probes it held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { probe } from '../src/media/ffmpeg';
import { makeTestClip } from '../src/media/testclip';
import { ffprobeInThread } from '../src/media/probe-thread';
import { useTempDir } from './helpers/temp-dir';

let dir = '';
useTempDir('vidflow-probe-thread-', (d) => {
  dir = d;
});

test('a probe creates no child process on the main thread', async () => {
  const clip = join(dir, 'scene-1.mp4');
  await makeTestClip({ path: clip, seconds: 1, width: 160, height: 90, scene: 1 });
  const children: string[] = [];
  // A child process started from this thread creates a PROCESSWRAP resource here; one started
  // from another thread does so in that thread's own async_hooks, not this one's.
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROCESSWRAP') children.push(type);
    },
  }).enable();
  try {
    const info = await probe(clip);
    assert.equal(info.width, 160);
    assert.equal(info.height, 90);
  } finally {
    hook.disable();
  }
  assert.deepEqual(children, [], 'ffprobe was started from the main thread');
});

test('a process whose only work is a probe prints the facts and exits (the thread holds it only while probing)', async () => {
  const clip = join(dir, 'scene-2.mp4');
  await makeTestClip({ path: clip, seconds: 1, width: 160, height: 90, scene: 2 });
  const script = `require(${JSON.stringify(require.resolve('../src/media/ffmpeg'))}).probe(${JSON.stringify(clip)}).then((i) => console.log('probed', i.width, i.height))`;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /probed 160 90/);
  assert.ok(Date.now() - started < 30_000, 'the process did not exit after its probe');
});

test('spawn errors keep their code and syscall (the download tells a missing ffprobe from a bad clip by them)', async () => {
  const missing = join(dir, 'no-such-ffprobe');
  await assert.rejects(ffprobeInThread(missing, join(dir, 'x.mp4')), (err: NodeJS.ErrnoException) => {
    assert.equal(err.code, 'ENOENT');
    assert.match(String(err.syscall), /^spawn/);
    return true;
  });
  // The thread is still there for the next probe.
  const real = execFileSync('sh', ['-c', 'command -v ffprobe'], { encoding: 'utf8' }).trim();
  const clip = join(dir, 'scene-3.mp4');
  await makeTestClip({ path: clip, seconds: 1, width: 160, height: 90, scene: 3 });
  const data = await ffprobeInThread(real, clip);
  assert.ok(data.streams.some((s) => s.codec_type === 'video'));
});
