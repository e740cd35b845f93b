/**
 * The S3 store against a real S3-compatible server (moto, started here on a loopback port), and the
 * publishVideo activity in MockActivityEnvironment publishing to it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createPublishActivities } from '../src/activities/publish';
import type { PublishVideoInput } from '../src/activities/publish';
import { outputVideoPath } from '../src/support/paths';
import { createLocalStore, fileUri } from '../src/artifacts/local-store';
import { classifyS3Error, createS3Store } from '../src/artifacts/s3-store';
import type { ArtifactStore } from '../src/artifacts/store';
import { downloadResult } from '../src/client/download-result';
import { harness } from './helpers/activity-env';
import { expectFailure } from './helpers/failures';
import { freePort } from './helpers/crash';
import { s3SkipReason, startS3Server, TEST_AWS_ENV } from './helpers/s3-server';
import type { S3Server } from './helpers/s3-server';
import { expectArtifactError, SIZE, useArtifactFixture } from './helpers/artifact-kit';

let dir: string;
let video: Buffer;
const { stitched, config } = useArtifactFixture((d, v) => {
  dir = d;
  video = v;
});

const skip = s3SkipReason();

describe('S3 store against a real S3-compatible server (moto)', { skip }, () => {
  let s3: S3Server;
  let denied: S3Server;

  before(async () => {
    [s3, denied] = await Promise.all([startS3Server(), startS3Server({ denyAll: true })]);
    // Stores built without a client find these through the SDK's standard credential chain.
    Object.assign(process.env, TEST_AWS_ENV);
  });
  after(async () => {
    await Promise.all([s3?.stop(), denied?.stop()]);
  });

  /** A client like the store's, recording each command it sends and the body of each PutObject. */
  function countingClient(endpoint = s3.endpoint) {
    const commands: string[] = [];
    const bodies: unknown[] = [];
    const client = new S3Client({
      endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      credentials: { accessKeyId: TEST_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: TEST_AWS_ENV.AWS_SECRET_ACCESS_KEY },
    });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName ?? '?');
        if (context.commandName === 'PutObjectCommand') bodies.push((args.input as { Body?: unknown }).Body);
        return next(args);
      },
      { step: 'initialize', name: 'vidflowTestCounter' },
    );
    return { client, commands, bodies };
  }

  function storeFor(outputDir: string, client?: S3Client, bucket = s3.bucket, endpoint = s3.endpoint): ArtifactStore {
    return createS3Store(
      { bucket, prefix: 'videos', region: 'us-east-1', endpoint, ...(client ? { client } : {}) },
      createLocalStore({ outputDir }),
    );
  }

  async function head(key: string) {
    const { client } = countingClient();
    return client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
  }

  test('put streams the file with its length and type; a second put uploads nothing', async () => {
    const outputDir = join(dir, 's3-1');
    const path = await stitched(outputDir, 'run-s3-1');
    const { client, commands, bodies } = countingClient();
    const store = storeFor(outputDir, client);
    const progress: number[] = [];
    const first = await store.put(path, 'run-s3-1', { onProgress: (b) => progress.push(b) });
    assert.deepEqual(first, { uri: `s3://${s3.bucket}/videos/run-s3-1.mp4`, sizeBytes: SIZE });
    assert.deepEqual(commands, ['HeadObjectCommand', 'PutObjectCommand']);
    assert.ok(bodies[0] instanceof Readable, 'the body is a stream, not a buffer');
    assert.ok(progress.length > 3, `sent in chunks (${progress.length} progress calls)`);
    assert.equal(progress.at(-1), SIZE);
    const h1 = await head('videos/run-s3-1.mp4');
    assert.equal(h1.ContentLength, SIZE);
    assert.equal(h1.ContentType, 'video/mp4');

    // LastModified has one-second resolution: wait past it so an upload would show.
    await new Promise((r) => setTimeout(r, 1100));
    commands.length = 0;
    const second = await store.put(path, 'run-s3-1');
    assert.deepEqual(second, first);
    assert.deepEqual(commands, ['HeadObjectCommand'], 'no PutObject the second time');
    const h2 = await head('videos/run-s3-1.mp4');
    assert.equal(h2.ETag, h1.ETag);
    assert.equal(h2.LastModified?.getTime(), h1.LastModified?.getTime());
  });

  test('put after the local copy was removed succeeds from HeadObject; a different size uploads again', async () => {
    const outputDir = join(dir, 's3-2');
    const path = await stitched(outputDir, 'run-s3-2');
    const { client, commands } = countingClient();
    const store = storeFor(outputDir, client);
    const first = await store.put(path, 'run-s3-2');
    await rm(path);
    commands.length = 0;
    assert.deepEqual(await store.put(path, 'run-s3-2'), first);
    assert.deepEqual(commands, ['HeadObjectCommand']);

    const shorter = video.subarray(0, 1000);
    await writeFile(path, shorter);
    commands.length = 0;
    assert.equal((await store.put(path, 'run-s3-2')).sizeBytes, 1000);
    assert.deepEqual(commands, ['HeadObjectCommand', 'PutObjectCommand']);

    await rm(path);
    await expectArtifactError(store.put(path, 'run-s3-never'), 'not-found', 'run-s3-never');
  });

  test('download streams the object to the file, byte-identical, with progress and no temp file left', async () => {
    const outputDir = join(dir, 's3-3');
    const path = await stitched(outputDir, 'run-s3-3');
    const store = storeFor(outputDir);
    const { uri } = await store.put(path, 'run-s3-3');
    const destDir = join(dir, 's3-3-dl');
    const seen: { bytes: number; total?: number }[] = [];
    const got = await store.download(uri, join(destDir, 'video.mp4'), (bytes, total) => seen.push({ bytes, total }));
    assert.equal(got.sizeBytes, SIZE);
    assert.ok((await readFile(join(destDir, 'video.mp4'))).equals(video), 'byte-identical');
    assert.deepEqual(seen.at(-1), { bytes: SIZE, total: SIZE });
    assert.ok(seen.length > 1);
    assert.deepEqual(await readdir(destDir), ['video.mp4']);

    await expectArtifactError(
      store.download(`s3://${s3.bucket}/videos/nope.mp4`, join(destDir, 'nope.mp4')),
      'not-found',
    );
    assert.deepEqual(await readdir(destDir), ['video.mp4'], 'a failed download leaves nothing');
  });

  test('refuses another bucket and other schemes; file:// still goes to the local store', async () => {
    const outputDir = join(dir, 's3-4');
    const store = storeFor(outputDir);
    await expectArtifactError(
      store.download('s3://someone-elses/videos/x.mp4', join(dir, 'z.mp4')),
      'refused',
      'someone-elses',
      s3.bucket,
    );
    await expectArtifactError(store.download('gs://b/x.mp4', join(dir, 'z.mp4')), 'refused', 'gs');
    await expectArtifactError(store.download(`s3://${s3.bucket}`, join(dir, 'z.mp4')), 'refused');
    const local = await stitched(join(dir, 's3-4-local'), 'old-run');
    const got = await store.download(fileUri(hostname(), local), join(dir, 's3-4-copy.mp4'));
    assert.equal(got.sizeBytes, SIZE);
  });

  test('a missing bucket, refused credentials and an unreachable server are told apart', async () => {
    const outputDir = join(dir, 's3-5');
    const path = await stitched(outputDir, 'run-s3-5');
    await expectArtifactError(
      storeFor(outputDir, undefined, 'no-such-bucket').put(path, 'run-s3-5'),
      'no-bucket',
      'no-such-bucket',
      'VIDFLOW_S3_BUCKET',
    );
    await expectArtifactError(
      storeFor(outputDir, undefined, denied.bucket, denied.endpoint).put(path, 'run-s3-5'),
      'denied',
      'AWS_ACCESS_KEY_ID',
    );
    await expectArtifactError(
      storeFor(outputDir, undefined, denied.bucket, denied.endpoint).download(
        `s3://${denied.bucket}/videos/x.mp4`,
        join(dir, 'd.mp4'),
      ),
      'denied',
    );
    const closed = `http://127.0.0.1:${await freePort()}`;
    await expectArtifactError(storeFor(outputDir, undefined, s3.bucket, closed).put(path, 'run-s3-5'), 'unavailable');
  });

  test('a role allowed only PutObject/GetObject publishes: the 403 AWS gives its HEAD of a missing key is not a credentials error', async () => {
    const outputDir = join(dir, 's3-iam');
    const path = await stitched(outputDir, 'run-iam');
    const seen: string[] = [];
    let uploaded = 0;
    // AWS answers HeadObject of a missing key with 403 when the role lacks s3:ListBucket.
    const server = createServer((req, res) => {
      seen.push(req.method ?? '?');
      if (req.method === 'HEAD') return void res.writeHead(403).end();
      if (req.method !== 'PUT') return void res.writeHead(500).end();
      req.on('data', (d: Buffer) => (uploaded += d.length));
      req.on('end', () => res.writeHead(200, { ETag: '"etag"' }).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const put = await storeFor(outputDir, undefined, 'vidflow', endpoint).put(path, 'run-iam');
      assert.equal(put.uri, 's3://vidflow/videos/run-iam.mp4');
      assert.equal(uploaded, SIZE, 'the whole file went up');
      assert.deepEqual(seen, ['HEAD', 'PUT']);
    } finally {
      server.close();
    }
  });

  test('a wrong region or bad request is refused with the settings to check; 429/503 stay retryable', () => {
    const moved = classifyS3Error(
      { name: 'PermanentRedirect', message: 'use the eu-west-1 endpoint', $metadata: { httpStatusCode: 301 } },
      'uploading',
      'vidflow',
    );
    assert.equal(moved.kind, 'refused');
    assert.match(moved.message, /VIDFLOW_S3_REGION/);
    const header = { name: 'AuthorizationHeaderMalformed', $metadata: { httpStatusCode: 400 } };
    assert.equal(classifyS3Error(header, 'uploading', 'vidflow').kind, 'refused');
    for (const status of [429, 503, 500]) {
      assert.equal(
        classifyS3Error({ name: 'X', $metadata: { httpStatusCode: status } }, 'uploading', 'b').kind,
        'unavailable',
      );
    }
  });

  test('vidflow result --download fetches an s3:// artifact through the configured store', async () => {
    const outputDir = join(dir, 's3-cli');
    const path = await stitched(outputDir, 'run-s3-cli');
    const { uri } = await storeFor(outputDir).put(path, 'run-s3-cli');
    await rm(path);
    const cfg = config(s3.env);
    const out = join(dir, 's3-cli-dl', 'mine.mp4');
    const saved = await downloadResult(cfg, 'run-s3-cli', { path, artifactUri: uri }, { out });
    assert.deepEqual(saved, { path: out, sizeBytes: SIZE, uri });
    assert.ok((await readFile(out)).equals(video));
  });

  describe('publishVideo activity', () => {
    const run = (acts: ReturnType<typeof createPublishActivities>, input: PublishVideoInput) => {
      const h = harness();
      return { h, result: h.run((i: PublishVideoInput) => acts.publishVideo(i), input) };
    };

    test('uploads, heartbeats 0 → 100, removes the local copy; a retry returns the same uri', async () => {
      const outputDir = join(dir, 'pub-1');
      const path = await stitched(outputDir, 'run-pub-1');
      const { client, commands } = countingClient();
      const acts = createPublishActivities({ store: storeFor(outputDir, client), outputDir });
      const first = run(acts, { workflowId: 'run-pub-1', path });
      const published = await first.result;
      assert.deepEqual(published, { uri: `s3://${s3.bucket}/videos/run-pub-1.mp4`, sizeBytes: SIZE });
      const percents = (first.h.heartbeats as { percent: number }[]).map((b) => b.percent);
      assert.equal(percents[0], 0);
      assert.equal(percents.at(-1), 100);
      assert.ok(percents.length > 3, `progress heartbeats: ${percents.join(',')}`);
      assert.ok(!existsSync(path), 'local copy removed after the upload');

      commands.length = 0;
      assert.deepEqual(await run(acts, { workflowId: 'run-pub-1', path }).result, published);
      assert.deepEqual(commands, ['HeadObjectCommand'], 'the retry uploads nothing');

      const { client: check } = countingClient();
      const obj = await check.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'videos/run-pub-1.mp4' }));
      assert.ok(Buffer.from(await obj.Body!.transformToByteArray()).equals(video));
    });

    test('failure types: ConfigMissing, ProviderAuth (non-retryable), ProviderUnavailable (retryable), InvalidInput', async () => {
      const outputDir = join(dir, 'pub-2');
      const path = await stitched(outputDir, 'run-pub-2');
      const pub = (store: ArtifactStore, input: PublishVideoInput = { workflowId: 'run-pub-2', path }) =>
        run(createPublishActivities({ store, outputDir }), input).result;

      const noBucket = await expectFailure(pub(storeFor(outputDir, undefined, 'no-such-bucket')), 'ConfigMissing');
      assert.equal(noBucket.nonRetryable, true);
      const auth = await expectFailure(
        pub(storeFor(outputDir, undefined, denied.bucket, denied.endpoint)),
        'ProviderAuth',
      );
      assert.equal(auth.nonRetryable, true);
      const closed = `http://127.0.0.1:${await freePort()}`;
      const down = await expectFailure(pub(storeFor(outputDir, undefined, s3.bucket, closed)), 'ProviderUnavailable');
      assert.equal(down.nonRetryable, false);
      assert.ok(existsSync(path), 'the local copy stays when the upload failed');

      await expectFailure(pub(storeFor(outputDir), { workflowId: 'run-pub-2', path: '/etc/passwd' }), 'InvalidInput');
      await expectFailure(pub(storeFor(outputDir), { workflowId: 'other-run', path }), 'InvalidInput');
      const missing = await expectFailure(
        pub(storeFor(outputDir), { workflowId: 'gone', path: outputVideoPath(outputDir, 'gone') }),
        'OutputMissing',
      );
      assert.equal(missing.nonRetryable, true);
    });

    test('with the local store: a file:// uri and the file stays', async () => {
      const outputDir = join(dir, 'pub-3');
      const path = await stitched(outputDir, 'run-pub-3');
      const acts = createPublishActivities({ store: createLocalStore({ outputDir }), outputDir });
      const published = await run(acts, { workflowId: 'run-pub-3', path }).result;
      assert.equal(published.uri, fileUri(hostname().toLowerCase(), path));
      assert.ok(existsSync(path));
    });
  });
});
