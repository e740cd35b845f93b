/**
 * A part file (a download or copy in progress) that exists before the first byte is streamed into
 * it. fs.createWriteStream opens its file in the background: when the source fails first (a body
 * cut off mid-way), the clean-up's `rm` can run before that open, and the open then creates the
 * file after it, left behind (seen once in CI: a `.part-1` after a truncated download; download.ts). Opened
 * first, the file is there before any failure can be seen, so the clean-up always finds it.
 */
import type { Writable } from 'node:stream';
import { open } from 'node:fs/promises';

/** Opens (creates or empties) `path` and returns a stream into it; the stream closes the file. */
export async function openPartFile(path: string): Promise<Writable> {
  const handle = await open(path, 'w');
  return handle.createWriteStream();
}
