/**
 * openPartFile: the part file exists before a byte is streamed, so a clean-up after a failed
 * stream always finds it. fs.createWriteStream opens in the background instead: right after it
 * returns there is no file yet, and a clean-up that runs first is overtaken by the open (a
 * `.part-1` was left after a truncated download in CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openPartFile } from '../src/support/part-file';

test('the file is there when openPartFile resolves; createWriteStream has not made it yet', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vidflow-part-'));
  try {
    const background = createWriteStream(join(dir, 'background.part'));
    assert.equal(existsSync(join(dir, 'background.part')), false, 'the old way: not opened yet');
    background.destroy();
    const out = await openPartFile(join(dir, 'opened.part'));
    assert.equal(existsSync(join(dir, 'opened.part')), true);
    out.destroy();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a source that fails mid-way, then the clean-up: no file left, even once the stream has closed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vidflow-part-'));
  try {
    for (let i = 0; i < 20; i++) {
      const path = join(dir, `clip-${i}.part`);
      const out = await openPartFile(path);
      const cut = new Readable({
        read() {
          this.push(Buffer.alloc(4096));
          this.destroy(new Error('terminated'));
        },
      });
      await assert.rejects(pipeline(cut, out), /terminated/);
      await rm(path, { force: true });
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
