/**
 * ffmpeg's version check no longer runs before every probe and every run (it cost `vidflow stitch`
 * two processes on its critical path); it runs when one fails, so a broken install is still named
 * as such and never blamed on the clip (a clip blamed as unreadable is downloaded, or even
 * generated, again). The broken install: binaries that start but fail, as with a missing library.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FfmpegMissingError, ProbeError, probe, runFfmpeg } from '../src/media/ffmpeg';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-ffmpeg-broken-'));
  for (const name of ['ffmpeg', 'ffprobe']) {
    const file = join(dir, name);
    await writeFile(
      file,
      `#!/bin/sh\necho "${name}: error while loading shared libraries: libavdevice.so.59: cannot open shared object file" >&2\nexit 127\n`,
    );
    await chmod(file, 0o755);
  }
  process.env.FFMPEG_PATH = join(dir, 'ffmpeg');
  process.env.FFPROBE_PATH = join(dir, 'ffprobe');
  await writeFile(join(dir, 'clip.mp4'), 'not checked: the probe fails before it reads anything');
});
after(async () => {
  delete process.env.FFMPEG_PATH;
  delete process.env.FFPROBE_PATH;
  await rm(dir, { recursive: true, force: true });
});

test('a probe with a broken ffprobe names the install, not the clip', async () => {
  await assert.rejects(probe(join(dir, 'clip.mp4')), (err: unknown) => {
    assert.ok(err instanceof FfmpegMissingError, `FfmpegMissingError, got ${String(err)}`);
    assert.ok(!(err instanceof ProbeError));
    assert.match(err.message, /ffmpeg\/ffprobe could not be run .*apt-get install -y ffmpeg/s);
    return true;
  });
});

test('a run with a broken ffmpeg names the install too', async () => {
  await assert.rejects(
    runFfmpeg({ inputs: [join(dir, 'clip.mp4')], outputOptions: ['-f', 'null'], output: join(dir, 'out.mp4') }),
    (err: unknown) => err instanceof FfmpegMissingError && /could not be run/.test(err.message),
  );
});
