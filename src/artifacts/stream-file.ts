/**
 * Writes a stream to a file the way every artifact download does: into a temporary file beside
 * the destination, renamed into place only once complete, so an interrupted download never
 * leaves a file that looks finished.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactError } from './types';

/** A pass-through that reports the running byte count. */
export function byteCounter(onBytes: (bytes: number) => void): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      onBytes(bytes);
      done(null, chunk);
    },
  });
}

export async function streamToFile(
  source: Readable,
  destFile: string,
  opts: { total?: number; onProgress?: (bytes: number, total?: number) => void; what: string },
): Promise<{ sizeBytes: number }> {
  const dest = resolve(destFile);
  await mkdir(dirname(dest), { recursive: true });
  const temp = join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  let written = 0;
  try {
    await pipeline(
      source,
      byteCounter((b) => {
        written = b;
        opts.onProgress?.(b, opts.total);
      }),
      createWriteStream(temp, { flags: 'wx' }),
    );
    if (opts.total !== undefined && written !== opts.total) {
      throw new ArtifactError(
        'unavailable',
        `${opts.what}: the transfer ended after ${written} of ${opts.total} bytes; try again`,
      );
    }
    await rename(temp, dest);
    return { sizeBytes: written };
  } catch (err) {
    await rm(temp, { force: true });
    if (err instanceof ArtifactError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') {
      throw new ArtifactError('disk-full', `${opts.what}: no space left writing ${dest}`, { cause: err });
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new ArtifactError('refused', `${opts.what}: cannot write ${dest} (${code})`, { cause: err });
    }
    throw err;
  }
}
