/**
 * ffmpeg is never given a shell string. src/media/ffmpeg.ts hands fluent-ffmpeg one argument per
 * item, and fluent-ffmpeg 2.1.3 runs ffmpeg with `child_process.spawn(command, args, {captureStdout,
 * niceness, cwd, windowsHide})` (node_modules/fluent-ffmpeg/lib/processor.js, `_spawnFfmpeg`) and
 * ffprobe with `spawn(path, [...args, src], {windowsHide: true})` (lib/ffprobe.js): no `shell`
 * option, so no shell parses a file name. Every file goes in as `file:/absolute/path`, so a name
 * starting with `-` is not an option and `http:x` is not a protocol.
 *
 * Here: clips and an output whose names start with `-` and hold spaces, quotes, `$()`, backticks,
 * `;` and newlines stitch fine and create nothing else; an input ffprobe cannot read is refused
 * before the encode starts, with the clip named.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestClip } from '../src/media/testclip';
import { ClipError, stitchClips } from '../src/media/stitch';
import { ROOT } from './helpers/processes';
import { durationOf } from './helpers/video';

let dir: string;
let source: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-sec-ffmpeg-'));
  source = await makeTestClip({ path: join(dir, 'source.mp4'), seconds: 1, width: 160, height: 90 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Names a shell would act on: each would create a file named pwned* if any shell ever saw it. */
const HOSTILE_NAMES = [
  '-i pwned0.mp4',
  '-y',
  '--help.mp4',
  'a b "c" $(touch pwned1).mp4',
  "it's `touch pwned2`; touch pwned3 & .mp4",
  'line\nbreak $(touch pwned4)\n.mp4',
  '| touch pwned5 > x.mp4',
  'http:evil.mp4',
];

function noPwned(where: string[]): void {
  for (const d of where) {
    const hits = existsSync(d) ? [] : [`(${d} missing)`];
    for (let i = 0; i <= 5; i++) if (existsSync(join(d, `pwned${i}`))) hits.push(join(d, `pwned${i}`));
    if (existsSync(join(d, 'pwned'))) hits.push(join(d, 'pwned'));
    assert.deepEqual(hits, [], `no file made by a shell in ${d}`);
  }
}

test('clips and an output named like options and shell code stitch, and nothing else is created', async () => {
  const work = join(dir, 'hostile');
  const inputs: string[] = [];
  for (const name of HOSTILE_NAMES) {
    const p = join(work, name);
    if (inputs.length === 0) await makeTestClip({ path: p, seconds: 1, width: 160, height: 90 });
    else await copyFile(source, p);
    inputs.push(p);
  }
  const output = join(work, '-out $(touch pwned) `touch pwned`.mp4');
  const result = await stitchClips({ inputs, output, fadeSeconds: 0 });
  assert.equal(result.path, output);
  assert.ok(Math.abs(durationOf(output) - HOSTILE_NAMES.length) < 0.2, 'every clip is in the video');
  const listed = (await readdir(work)).sort();
  assert.deepEqual(listed, [...HOSTILE_NAMES, '-out $(touch pwned) `touch pwned`.mp4'].sort(), 'no other file');
  noPwned([work, ROOT, process.cwd()]);
});

test('an input ffprobe cannot read is refused before encoding: the clip is named, no output is begun', async () => {
  const work = join(dir, 'unreadable');
  const good = join(work, 'good.mp4');
  await makeTestClip({ path: good, seconds: 1, width: 160, height: 90 });
  const bad = join(work, '-not a video $(touch pwned).mp4');
  await writeFile(bad, '<html>this is a login page, not a clip</html>\n'.repeat(50));
  // The output folder does not exist yet: stitchClips creates it only once every clip has been
  // probed, right before ffmpeg runs, so its absence afterwards shows the encode never began.
  const outDir = join(work, 'out');
  await assert.rejects(stitchClips({ inputs: [good, bad], output: join(outDir, 'video.mp4') }), (err: unknown) => {
    assert.ok(err instanceof ClipError, `a ClipError, got ${String(err)}`);
    assert.equal(err.reason, 'unreadable');
    assert.equal(err.index, 2);
    assert.equal(err.file, bad);
    assert.match(err.message, /clip 2 \(-not a video \$\(touch pwned\)\.mp4\) is unreadable/);
    return true;
  });
  assert.equal(existsSync(outDir), false, 'no output folder, so no temp output and no encode');
  assert.deepEqual((await readdir(work)).sort(), ['-not a video $(touch pwned).mp4', 'good.mp4']);
  noPwned([work, ROOT, process.cwd()]);
});
