/**
 * `--reference IMAGE` of a storyboard run: an http(s) URL is passed on as is; a local file is
 * uploaded by the CLI to Replicate's Files API (free; the offline emulator's in offline mode), so
 * every keyframe prediction can take it by URL. Checked before anything starts; uploaded once,
 * just before the run starts, so a refused run uploads nothing.
 */
import { readFile, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { Config } from '../config';
import { createReplicate } from '../providers/clients';
import { CliError } from './errors';

/** Replicate's Files API takes up to 100 MB; a reference image is a few MB at most. */
export const MAX_REFERENCE_BYTES = 20 * 1024 * 1024;
const IMAGE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
};

export type Reference = { url: string } | { file: string };

/** What `--reference` names, checked at once (exit 2): a URL, or a readable image file of a known type. */
export function referenceFromFlag(value: string | undefined): Reference | undefined {
  if (value === undefined) return undefined;
  if (/^https?:\/\//i.test(value)) return { url: value };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new CliError(`--reference must be an http(s) URL or a local image file, got "${value}"`, 2);
  }
  const file = resolve(value);
  if (!IMAGE_TYPES[extname(file).toLowerCase()]) {
    throw new CliError(`--reference must be a PNG, JPEG or WebP image (by its extension), got "${value}"`, 2);
  }
  let size: number;
  try {
    const s = statSync(file);
    if (!s.isFile()) throw new Error('not a file');
    size = s.size;
  } catch {
    throw new CliError(`--reference: no such image file "${value}"`, 2);
  }
  if (size > MAX_REFERENCE_BYTES) {
    throw new CliError(
      `--reference: "${value}" is ${(size / 1e6).toFixed(1)} MB; at most ${MAX_REFERENCE_BYTES / 1e6} MB`,
      2,
    );
  }
  return { file };
}

/** The reference's URL: a local file is uploaded to Replicate's Files API (cfg says where). */
export async function referenceUrl(cfg: Config, ref: Reference): Promise<string> {
  if ('url' in ref) return ref.url;
  await stat(ref.file); // gone since the check: say so before connecting
  const type = IMAGE_TYPES[extname(ref.file).toLowerCase()]!;
  const blob = new Blob([await readFile(ref.file)], { type });
  try {
    const uploaded = await createReplicate(cfg).files.create(blob, { purpose: 'vidflow-reference' });
    return uploaded.urls.get;
  } catch (err) {
    throw new CliError(`--reference: uploading "${ref.file}" to Replicate failed: ${(err as Error).message}`, 1);
  }
}

/** The input with a local reference uploaded and in place (a URL is in it already). */
export async function withReference<T extends object>(
  cfg: Config,
  input: T,
  ref: Reference | undefined,
): Promise<T & { reference?: string }> {
  if (!ref || 'url' in ref) return input;
  return { ...input, reference: await referenceUrl(cfg, ref) };
}
