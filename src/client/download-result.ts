/**
 * `vidflow result <id> --download`: fetches the finished video from the artifact store the worker
 * published it to, so the person who asked for it gets it even when another machine stitched it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config';
import { safeStem } from '../support/paths';
import { fileUri } from '../artifacts/local-store';
import { ArtifactError, createArtifactStore } from '../artifacts/store';
import type { ArtifactStore } from '../artifacts/store';
import { CliError } from './errors';

export interface DownloadResultOptions {
  /** Where to save; default `./<safe id>.mp4`. */
  out?: string | undefined;
  /** Progress lines (standard error). */
  progress?: (line: string) => void;
  /** Replace a file already at the destination (otherwise refused, exit 2). */
  force?: boolean | undefined;
  /** For tests. */
  store?: ArtifactStore;
}

/** Where `--download` saves, and a refusal (exit 2) when a file is already there and not to be replaced. */
export function downloadTarget(workflowId: string, out: string | undefined, force = false): string {
  const dest = resolve(out ?? `${safeStem(workflowId)}.mp4`);
  if (!force && existsSync(dest)) {
    throw new CliError(`${dest} already exists: choose another --out, or add --force to replace it`, 2);
  }
  return dest;
}

const MB = 1e6;

/** The uri of a run's video: the published one, or for older results the worker's local path. */
export function artifactUriOf(result: { path: string; artifactUri?: string }): string {
  if (result.artifactUri) return result.artifactUri;
  // Results from before the artifact store: the path is on the worker that stitched, which is
  // this machine for `vidflow run` and single-host setups.
  return fileUri('localhost', resolve(result.path));
}

export async function downloadResult(
  cfg: Config,
  workflowId: string,
  result: { path: string; artifactUri?: string },
  opts: DownloadResultOptions = {},
): Promise<{ path: string; sizeBytes: number; uri: string }> {
  const uri = artifactUriOf(result);
  const dest = downloadTarget(workflowId, opts.out, opts.force);
  const store = opts.store ?? createArtifactStore(cfg);
  const progress = opts.progress ?? (() => {});
  progress(`downloading ${uri} to ${dest}`);
  let lastStep = -1;
  const started = Date.now();
  try {
    const { sizeBytes } = await store.download(uri, dest, (bytes, total) => {
      // A line per 10 % (or per 10 MB without a total): readable in a log as well as a terminal.
      const step = total ? Math.floor((bytes / total) * 10) : Math.floor(bytes / (10 * MB));
      if (step === lastStep) return;
      lastStep = step;
      progress(
        total
          ? `  ${Math.floor((bytes / total) * 100)} % (${(bytes / MB).toFixed(1)} / ${(total / MB).toFixed(1)} MB)`
          : `  ${(bytes / MB).toFixed(1)} MB`,
      );
    });
    progress(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { path: dest, sizeBytes, uri };
  } catch (err) {
    if (err instanceof ArtifactError) {
      const hint =
        err.kind === 'not-found' && !result.artifactUri
          ? ` (run ${workflowId} finished before the artifact store existed, or on another machine: its video was ${result.path} on the worker)`
          : '';
      throw new CliError(`cannot download the video of ${workflowId}: ${err.message}${hint}`, 1);
    }
    throw err;
  }
}
