/**
 * The local folder store (publish, download, file URIs from another host) and
 * `vidflow result --download` (downloadResult) on top of it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { outputVideoPath, safeStem } from '../src/support/paths';
import { createLocalStore, fileUri } from '../src/artifacts/local-store';
import { createArtifactStore } from '../src/artifacts/store';
import { downloadResult } from '../src/client/download-result';
import { CliError } from '../src/client/errors';
import { TEST_AWS_ENV } from './helpers/s3-server';
import { expectArtifactError, SIZE, useArtifactFixture } from './helpers/artifact-kit';

let dir: string;
let video: Buffer;
const { stitched, config } = useArtifactFixture((d, v) => {
  dir = d;
  video = v;
});

describe('local folder store', () => {
  test('put names the file where it is (no copy), as file://<host><path>; download copies it back', async () => {
    const outputDir = join(dir, 'local-1');
    const path = await stitched(outputDir, 'run-local-1');
    const store = createLocalStore({ outputDir });
    const put = await store.put(path, 'run-local-1');
    assert.equal(put.uri, `file://${hostname().toLowerCase()}${path}`);
    assert.equal(put.sizeBytes, SIZE);
    assert.deepEqual(await readdir(outputDir), ['run-local-1.mp4'], 'no copy made');
    assert.deepEqual(await store.put(path, 'run-local-1'), put, 'idempotent');

    const progress: number[] = [];
    const dest = join(dir, 'local-dl', 'got.mp4');
    const got = await store.download(put.uri, dest, (b) => progress.push(b));
    assert.equal(got.sizeBytes, SIZE);
    assert.ok((await readFile(dest)).equals(video), 'byte-identical');
    assert.equal(progress.at(-1), SIZE);
    assert.deepEqual(await readdir(join(dir, 'local-dl')), ['got.mp4'], 'no temp file left');
  });

  test('put of a file elsewhere copies it into the output folder under the run id', async () => {
    const outputDir = join(dir, 'local-2');
    const elsewhere = join(dir, 'elsewhere.mp4');
    await writeFile(elsewhere, video);
    const put = await createLocalStore({ outputDir }).put(elsewhere, 'id with spaces/../x');
    const target = outputVideoPath(outputDir, 'id with spaces/../x');
    assert.equal(put.uri, fileUri(hostname().toLowerCase(), target));
    assert.ok((await readFile(target)).equals(video));
  });

  test('a file uri from another host that is not readable here says where the video is and what to set', async () => {
    const store = createLocalStore({ outputDir: join(dir, 'local-3') });
    await expectArtifactError(
      store.download('file://render-box-7/data/output/run-9.mp4', join(dir, 'x.mp4')),
      'elsewhere',
      'host render-box-7',
      '/data/output/run-9.mp4',
      'VIDFLOW_S3_BUCKET',
      'AWS_ACCESS_KEY_ID',
    );
    assert.ok(!existsSync(join(dir, 'x.mp4')));
  });

  test('refuses s3:// (no S3 configured) and other schemes', async () => {
    const store = createLocalStore({ outputDir: join(dir, 'local-4') });
    await expectArtifactError(
      store.download('s3://b/videos/x.mp4', join(dir, 'y.mp4')),
      'refused',
      'VIDFLOW_S3_BUCKET',
    );
    await expectArtifactError(store.download('https://example.com/x.mp4', join(dir, 'y.mp4')), 'refused', 'https');
    await expectArtifactError(store.download('/just/a/path.mp4', join(dir, 'y.mp4')), 'refused');
  });

  test('createArtifactStore: local by default, S3 when VIDFLOW_S3_BUCKET is set; describe() holds no secret', () => {
    const local = createArtifactStore(config({}));
    assert.equal(local.remote, false);
    assert.match(local.describe(), /local folder/);
    const s3 = createArtifactStore(
      config({ VIDFLOW_S3_BUCKET: 'bkt', VIDFLOW_S3_ENDPOINT: 'http://127.0.0.1:9000', ...TEST_AWS_ENV }),
    );
    assert.equal(s3.remote, true);
    assert.equal(s3.describe(), 'S3 s3://bkt/videos/ at http://127.0.0.1:9000 (path-style), region us-east-1');
    assert.ok(!s3.describe().includes(TEST_AWS_ENV.AWS_SECRET_ACCESS_KEY));
    assert.ok(!s3.describe().includes(TEST_AWS_ENV.AWS_ACCESS_KEY_ID));
  });
});

describe('vidflow result --download (downloadResult)', () => {
  test('a result without artifactUri falls back to its path here; default file ./<id>.mp4; progress lines', async () => {
    const path = await stitched(join(dir, 'cli-1'), 'run-cli-1');
    const cwd = process.cwd();
    const work = join(dir, 'cli-1-cwd');
    await mkdir(work, { recursive: true });
    process.chdir(work);
    try {
      const lines: string[] = [];
      const saved = await downloadResult(config({}), 'run cli/1', { path }, { progress: (l) => lines.push(l) });
      assert.equal(saved.path, join(work, `${safeStem('run cli/1')}.mp4`));
      assert.equal(saved.sizeBytes, SIZE);
      assert.ok((await readFile(saved.path)).equals(video));
      assert.ok(
        lines.some((l) => l.includes('100 %')),
        lines.join('\n'),
      );
    } finally {
      process.chdir(cwd);
    }
  });

  test('an existing file at --out is kept: refused with exit 2 unless force, which replaces it', async () => {
    const path = await stitched(join(dir, 'cli-3'), 'run-cli-3');
    const dest = join(dir, 'cli-3-mine.mp4');
    await writeFile(dest, 'a video of my own');
    await assert.rejects(
      downloadResult(config({}), 'run-cli-3', { path }, { out: dest }),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && /already exists: .*--force/.test(e.message),
    );
    assert.equal(await readFile(dest, 'utf8'), 'a video of my own', 'untouched');
    const saved = await downloadResult(config({}), 'run-cli-3', { path }, { out: dest, force: true });
    assert.equal(saved.sizeBytes, SIZE);
    assert.ok((await readFile(dest)).equals(video), 'replaced with --force');
  });

  test('a video on another machine is a CliError (exit 1) naming host, path and the S3 settings', async () => {
    await assert.rejects(
      downloadResult(
        config({}),
        'run-cli-2',
        { path: '/data/output/run-cli-2.mp4', artifactUri: 'file://worker-b/data/output/run-cli-2.mp4' },
        { out: join(dir, 'cli-2.mp4') },
      ),
      (err: unknown) => {
        assert.ok(err instanceof CliError);
        assert.equal(err.exitCode, 1);
        assert.match(err.message, /host worker-b at \/data\/output\/run-cli-2\.mp4.*VIDFLOW_S3_BUCKET/);
        return true;
      },
    );
  });
});
