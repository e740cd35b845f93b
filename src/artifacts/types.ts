/**
 * The artifact store's contract and its errors, apart from store.ts so the implementations can
 * import them without a cycle.
 */
export interface PutOptions {
  /** Bytes sent so far, for heartbeats during a large upload. */
  onProgress?: (bytes: number, total: number) => void;
  signal?: AbortSignal;
}

export interface ArtifactStore {
  /** Uploads (or keeps) the local file as the run's video; idempotent: same workflowId → same key. */
  put(localFile: string, workflowId: string, opts?: PutOptions): Promise<{ uri: string; sizeBytes: number }>;
  /** Streams the artifact at uri to destFile (temp file + rename; never the whole file in memory). */
  download(
    uri: string,
    destFile: string,
    onProgress?: (bytes: number, total?: number) => void,
  ): Promise<{ sizeBytes: number }>;
  /** For the worker's start log line; never holds a secret. */
  describe(): string;
  /** Whether `put` leaves the local file redundant (so the worker may delete it to save disk). */
  readonly remote: boolean;
}

/**
 * Why a store operation failed, in words the publish activity maps onto the failure catalogue
 * and the CLI prints as they are.
 */
export type ArtifactErrorKind =
  /** Credentials missing or refused (403, bad key, no credentials found). */
  | 'denied'
  /** The configured bucket does not exist. */
  | 'no-bucket'
  /** The uri is not one this store can serve (scheme, bucket), or the input is malformed. */
  | 'refused'
  /** No object at that key, or no file at that path. */
  | 'not-found'
  /** The file is on another machine's disk and this one cannot read it. */
  | 'elsewhere'
  /** Network, timeout, 5xx, throttling: worth another try. */
  | 'unavailable'
  /** No space left writing the destination. */
  | 'disk-full';

export class ArtifactError extends Error {
  override name = 'ArtifactError';
  constructor(
    readonly kind: ArtifactErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const S3_SETTINGS_HINT =
  'VIDFLOW_S3_BUCKET (and VIDFLOW_S3_ENDPOINT, VIDFLOW_S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)';

/** The scheme of an artifact uri, lower-cased, or a refusal for something that is not a uri. */
export function uriScheme(uri: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  if (!m?.[1]) throw new ArtifactError('refused', `not an artifact uri: ${JSON.stringify(uri.slice(0, 200))}`);
  return m[1].toLowerCase();
}
