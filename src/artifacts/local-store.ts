/**
 * The default store: the output folder itself. A video is published where the stitcher wrote it,
 * and its uri names the machine as well as the path, because a path alone would send a person
 * looking on the wrong machine once workers run on several.
 */
import { createReadStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { outputVideoPath } from '../support/paths';
import type { ArtifactStore } from './types';
import { ArtifactError, S3_SETTINGS_HINT, uriScheme } from './types';
import { streamToFile } from './stream-file';

export interface LocalStoreOptions {
  outputDir: string;
  /** Overrides the machine name in uris (tests pretend to be another host). */
  host?: string;
}

function thisHost(): string {
  return hostname().toLowerCase();
}

/** `file://<host><absolute path>`, the path percent-encoded the way a file URL wants it. */
export function fileUri(host: string, absPath: string): string {
  const encoded = absPath
    .split('/')
    .map((seg) => encodeURIComponent(seg))
    .join('/');
  return `file://${host}${encoded}`;
}

function parseFileUri(uri: string): { host: string; path: string } {
  if (uriScheme(uri) !== 'file') throw new ArtifactError('refused', `not a file:// uri: ${uri}`);
  const rest = uri.slice('file://'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw new ArtifactError('refused', `file uri without a path: ${uri}`);
  let path: string;
  try {
    path = decodeURIComponent(rest.slice(slash));
  } catch (err) {
    throw new ArtifactError('refused', `malformed file uri: ${uri}`, { cause: err });
  }
  if (path.includes('\0')) throw new ArtifactError('refused', 'refusing a file uri with a NUL byte');
  return { host: rest.slice(0, slash).toLowerCase(), path };
}

export function createLocalStore(opts: LocalStoreOptions): ArtifactStore {
  const host = (opts.host ?? thisHost()).toLowerCase();
  return {
    remote: false,
    describe: () => `local folder ${resolve(opts.outputDir)} on ${host} (file:// uris; single machine)`,

    async put(localFile, workflowId) {
      const target = outputVideoPath(opts.outputDir, workflowId);
      const source = resolve(localFile);
      let size: number;
      try {
        size = (await stat(source)).size;
      } catch (err) {
        throw new ArtifactError('not-found', `no video at ${source} on ${host}`, { cause: err });
      }
      if (source !== target) {
        // Only when a caller hands a file from elsewhere: the stitcher already writes to target.
        await mkdir(dirname(target), { recursive: true });
        const temp = `${target}.${process.pid}.part`;
        try {
          await copyFile(source, temp);
          await rename(temp, target);
        } catch (err) {
          await rm(temp, { force: true });
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
            throw new ArtifactError('disk-full', `no space left copying the video to ${target}`, { cause: err });
          }
          throw err;
        }
      }
      return { uri: fileUri(host, target), sizeBytes: size };
    },

    async download(uri, destFile, onProgress) {
      const scheme = uriScheme(uri);
      if (scheme === 's3') {
        throw new ArtifactError(
          'refused',
          `${uri} is in S3, and no S3 store is configured here: set ${S3_SETTINGS_HINT} as the workers have them`,
        );
      }
      if (scheme !== 'file') {
        throw new ArtifactError('refused', `unsupported artifact uri scheme "${scheme}:" (expected file:// or s3://)`);
      }
      const { host: at, path } = parseFileUri(uri);
      const sameHost = at === '' || at === 'localhost' || at === host;
      let readable = true;
      try {
        await access(path, constants.R_OK);
      } catch {
        readable = false;
      }
      if (!readable) {
        if (sameHost) throw new ArtifactError('not-found', `the video ${path} is no longer on this machine (${host})`);
        throw new ArtifactError(
          'elsewhere',
          `the video is on host ${at} at ${path}, which this machine (${host}) cannot read. ` +
            `Copy it from there, or, for workers on other machines, use the S3 store: set ${S3_SETTINGS_HINT} ` +
            'on every worker and where you run vidflow',
        );
      }
      // Readable here even from another host's uri: a shared mount at the same path is fine.
      const total = (await stat(path)).size;
      if (resolve(destFile) === resolve(path)) return { sizeBytes: total };
      return streamToFile(createReadStream(path), destFile, { total, onProgress, what: `copy of ${path}` });
    },
  };
}
