/**
 * The artifact store: where a finished video goes so that the person who asked for it can fetch
 * it, whichever machine stitched it. The local folder store (default) only names the file where
 * it already is; the S3 store (VIDFLOW_S3_BUCKET set) uploads it, so workers and the CLI may sit
 * on different machines.
 */
import type { Config } from '../config';
import { createLocalStore } from './local-store';
import { createS3Store } from './s3-store';
import type { ArtifactStore } from './types';

export * from './types';

export function createArtifactStore(cfg: Config): ArtifactStore {
  const local = createLocalStore({ outputDir: cfg.VIDFLOW_OUTPUT_DIR });
  if (!cfg.VIDFLOW_S3_BUCKET) return local;
  return createS3Store(
    {
      bucket: cfg.VIDFLOW_S3_BUCKET,
      prefix: cfg.VIDFLOW_S3_PREFIX,
      region: cfg.VIDFLOW_S3_REGION,
      ...(cfg.VIDFLOW_S3_ENDPOINT ? { endpoint: cfg.VIDFLOW_S3_ENDPOINT } : {}),
    },
    // Results from before S3 was turned on still carry file:// uris: those stay downloadable.
    local,
  );
}
