/**
 * Shared by the artifact store tests (artifacts-local, artifacts-s3): a test video where the
 * stitcher would have put it, and how to check an ArtifactError's kind and message.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactError } from '../../src/artifacts/store';
import type { ArtifactErrorKind } from '../../src/artifacts/store';
import { EnvSchema } from '../../src/config';
import { outputVideoPath } from '../../src/support/paths';
import { useTempDir } from './temp-dir';

/** Over 3 MB and not a multiple of any part size: a multipart upload has a short last part. */
export const SIZE = 3 * 1024 * 1024 + 12_345;

/** A folder for the file's tests and a test video of SIZE random bytes (a byte-identical round trip then means something). */
export function useArtifactFixture(ready: (dir: string, video: Buffer) => void) {
  let dir = '';
  let video = Buffer.alloc(0);
  useTempDir('vidflow-artifacts-', (d) => {
    dir = d;
    video = randomBytes(SIZE);
    ready(dir, video);
  });
  return {
    /** Writes the test video (or `bytes`) where the stitcher would have put it for `workflowId`. */
    stitched: (outputDir: string, workflowId: string, bytes: Buffer = video) =>
      writeStitched(outputDir, workflowId, bytes),
    /** The worker's settings for `env`, with the output folder in the fixture's folder. */
    config: (env: Record<string, string>) => configIn(dir, env),
  };
}

/** Writes `bytes` where the stitcher would have put the video of `workflowId`. */
async function writeStitched(outputDir: string, workflowId: string, bytes: Buffer): Promise<string> {
  const path = outputVideoPath(outputDir, workflowId);
  await mkdir(outputDir, { recursive: true });
  await writeFile(path, bytes);
  return path;
}

export async function expectArtifactError(p: Promise<unknown>, kind: ArtifactErrorKind, ...words: string[]) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ArtifactError, `expected ArtifactError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    for (const w of words) assert.ok(err.message.includes(w), `"${w}" missing from: ${err.message}`);
    return true;
  });
}

/** The worker's settings for `env`, with the output folder under `dir`. */
function configIn(dir: string, env: Record<string, string>) {
  return EnvSchema.parse({ VIDFLOW_OUTPUT_DIR: join(dir, 'cfg-out'), ...env });
}
