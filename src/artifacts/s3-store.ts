/**
 * The S3-compatible store (AWS S3, MinIO, …): the worker uploads the finished video and the CLI
 * downloads it from anywhere that reaches the bucket. Credentials come from the SDK's standard
 * chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance or task roles) and are
 * never read, logged or put in a uri here.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { safeStem } from '../support/paths';
import { byteCounter, streamToFile } from './stream-file';
import type { ArtifactStore, PutOptions } from './types';
import { ArtifactError, S3_SETTINGS_HINT, uriScheme } from './types';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix, e.g. `videos/`; a missing trailing slash is added. */
  prefix: string;
  region: string;
  /** MinIO or another S3-compatible server; implies path-style addressing. */
  endpoint?: string;
  /** For tests: a client built elsewhere. */
  client?: S3Client;
}

const DENIED_CODES = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
  'AllAccessDisabled',
]);

/** Sorts an SDK or network error into the store's error kinds. */
export function classifyS3Error(err: unknown, what: string, bucket: string): ArtifactError {
  if (err instanceof ArtifactError) return err;
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const detail = `${name || e.code || 'error'}${status ? ` ${status}` : ''}`;
  if (DENIED_CODES.has(name) || status === 403) {
    return new ArtifactError(
      'denied',
      `${what}: S3 refused the credentials for bucket ${bucket} (${detail}); check AWS_ACCESS_KEY_ID / ` +
        'AWS_SECRET_ACCESS_KEY or the role, and the bucket policy',
      { cause: err },
    );
  }
  if (name === 'NoSuchBucket') {
    return new ArtifactError(
      'no-bucket',
      `${what}: bucket ${bucket} does not exist (VIDFLOW_S3_BUCKET${status ? `, ${status}` : ''}); create it or fix the setting`,
      { cause: err },
    );
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new ArtifactError('not-found', `${what}: no such object (${detail})`, { cause: err });
  }
  const message = e.message ?? String(err);
  // A wrong region (301 PermanentRedirect, 400 AuthorizationHeaderMalformed), a bad bucket name, an
  // object too large: the same request fails the same way, so saying "try again" would only wait.
  if (status !== undefined && status >= 300 && status < 500 && status !== 408 && status !== 429) {
    return new ArtifactError(
      'refused',
      `${what}: S3 refused the request for bucket ${bucket} (${detail}: ${message}); check VIDFLOW_S3_REGION, VIDFLOW_S3_ENDPOINT and VIDFLOW_S3_BUCKET`,
      { cause: err },
    );
  }
  return new ArtifactError('unavailable', `${what}: S3 is unavailable (${detail}: ${message}); try again`, {
    cause: err,
  });
}

function parseS3Uri(uri: string): { bucket: string; key: string } {
  if (uriScheme(uri) !== 's3') throw new ArtifactError('refused', `not an s3:// uri: ${uri}`);
  const rest = uri.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (!bucket || !key) throw new ArtifactError('refused', `an s3 uri needs a bucket and a key: ${uri}`);
  return { bucket, key };
}

export function createS3Store(opts: S3StoreOptions, fileStore: ArtifactStore): ArtifactStore {
  const prefix = opts.prefix === '' || opts.prefix.endsWith('/') ? opts.prefix : `${opts.prefix}/`;
  const client =
    opts.client ??
    new S3Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
      // Temporal's retry policy owns retries for the worker, and a streamed body cannot be
      // replayed by the SDK anyway.
      maxAttempts: 1,
      // Since SDK 3.729 uploads carry CRC32 trailers by default, which several S3-compatible
      // servers refuse; ask for checksums only where the API requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  const where = `s3://${opts.bucket}/${prefix}`;

  async function head(key: string): Promise<number | undefined> {
    try {
      const h = await client.send(new HeadObjectCommand({ Bucket: opts.bucket, Key: key }));
      return h.ContentLength ?? 0;
    } catch (err) {
      const c = classifyS3Error(err, `checking ${where}`, opts.bucket);
      // HEAD has no body: a missing bucket also reads 404 here. PutObject tells the two apart.
      if (c.kind === 'not-found') return undefined;
      // Without s3:ListBucket, S3 answers a HEAD of a missing key with 403, not 404: that says
      // nothing about the credentials (a put-and-get-only role is enough), so let PutObject decide.
      if (c.kind === 'denied') return undefined;
      throw c;
    }
  }

  return {
    remote: true,
    describe: () => `S3 ${where}${opts.endpoint ? ` at ${opts.endpoint} (path-style)` : ''}, region ${opts.region}`,

    async put(localFile: string, workflowId: string, putOpts: PutOptions = {}) {
      const key = `${prefix}${safeStem(workflowId)}.mp4`;
      const uri = `s3://${opts.bucket}/${key}`;
      let size: number | undefined;
      try {
        size = (await stat(localFile)).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      const existing = await head(key);
      // Same size means a previous attempt finished (S3 writes are all-or-nothing); with no local
      // file the upload happened and the worker already removed its copy.
      if (existing !== undefined && (size === undefined || existing === size)) return { uri, sizeBytes: existing };
      if (size === undefined) {
        throw new ArtifactError('not-found', `no video at ${localFile} on this worker, and none at ${uri}`);
      }
      const file = createReadStream(localFile);
      const body = file.pipe(byteCounter((b) => putOpts.onProgress?.(b, size)));
      // pipe() does not pass a read error on: without this the upload would wait out the heartbeat.
      file.once('error', (e) => body.destroy(e));
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: opts.bucket,
            Key: key,
            Body: body,
            ContentLength: size,
            ContentType: 'video/mp4',
          }),
          putOpts.signal ? { abortSignal: putOpts.signal } : {},
        );
      } catch (err) {
        file.destroy();
        body.destroy();
        throw classifyS3Error(err, `uploading to ${uri}`, opts.bucket);
      }
      return { uri, sizeBytes: size };
    },

    async download(uri, destFile, onProgress) {
      const scheme = uriScheme(uri);
      if (scheme === 'file') return fileStore.download(uri, destFile, onProgress);
      if (scheme !== 's3') {
        throw new ArtifactError('refused', `unsupported artifact uri scheme "${scheme}:" (expected s3:// or file://)`);
      }
      const { bucket, key } = parseS3Uri(uri);
      if (bucket !== opts.bucket) {
        throw new ArtifactError(
          'refused',
          `${uri} is in bucket ${bucket}, but this store is bucket ${opts.bucket}: set ${S3_SETTINGS_HINT} as the workers have them`,
        );
      }
      let res;
      try {
        res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        throw classifyS3Error(err, `downloading ${uri}`, bucket);
      }
      if (!(res.Body instanceof Readable)) {
        throw new ArtifactError('unavailable', `downloading ${uri}: the SDK returned no stream`);
      }
      try {
        return await streamToFile(res.Body, destFile, {
          ...(res.ContentLength !== undefined ? { total: res.ContentLength } : {}),
          onProgress,
          what: `downloading ${uri}`,
        });
      } catch (err) {
        res.Body.destroy();
        if (err instanceof ArtifactError) throw err;
        throw classifyS3Error(err, `downloading ${uri}`, bucket);
      }
    },
  };
}
