/**
 * A real S3-compatible server for tests: moto's server (PyPI `moto[server]`, installed by
 * scripts/setup.sh into .vidflow/moto) on a free loopback port, with a fresh bucket. Used by the
 * artifact store tests and by end-to-end tests where workers on "different machines" share only
 * the bucket.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort } from './crash';

const ROOT = resolve(__dirname, '..', '..');

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** What a worker or the CLI needs to use this bucket (VIDFLOW_S3_* and AWS_*). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface S3ServerOptions {
  bucket?: string;
  /** Refuse every signed request (moto's IAM enforcement with no known keys): for access-denied tests. */
  denyAll?: boolean;
}

/** moto_server from MOTO_SERVER_PATH, the project's venv, or PATH. */
export function findMotoServer(): string | undefined {
  const fromEnv = process.env.MOTO_SERVER_PATH;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const local = resolve(ROOT, '.vidflow/moto/bin/moto_server');
  if (existsSync(local)) return local;
  const which = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

/**
 * Why the S3 tests cannot run here, or undefined when they can. Only a machine without Python is
 * a reason to skip: setup.sh installs moto wherever python3 exists, so a missing moto_server
 * there is a setup bug that should fail loudly, not be skipped.
 */
export function s3SkipReason(): string | undefined {
  if (findMotoServer()) return undefined;
  const py = spawnSync('sh', ['-c', 'command -v python3 || command -v python'], { encoding: 'utf8' });
  if (py.status !== 0 || !py.stdout.trim()) return 'no python3: moto (the S3 server for tests) cannot be installed';
  return undefined;
}

export const TEST_AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'vidflow-test-key',
  AWS_SECRET_ACCESS_KEY: 'vidflow-test-secret',
  AWS_REGION: 'us-east-1',
} as const;

export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const bin = findMotoServer();
  if (!bin) throw new Error('moto_server not found: run `bash scripts/setup.sh` (installs it into .vidflow/moto)');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket = opts.bucket ?? 'vidflow-test';
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      ...(opts.denyAll ? { INITIAL_NO_AUTH_ACTION_COUNT: '0' } : {}),
    },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const until = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${stderr}`);
      try {
        const res = await fetch(`${endpoint}/moto-api/`);
        await res.arrayBuffer();
        break;
      } catch {
        if (Date.now() > until) throw new Error(`moto_server did not answer at ${endpoint} in 30 s: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (!opts.denyAll) {
      const client = new S3Client({
        endpoint,
        forcePathStyle: true,
        region: TEST_AWS_ENV.AWS_REGION,
        credentials: {
          accessKeyId: TEST_AWS_ENV.AWS_ACCESS_KEY_ID,
          secretAccessKey: TEST_AWS_ENV.AWS_SECRET_ACCESS_KEY,
        },
      });
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      client.destroy();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    bucket,
    env: {
      VIDFLOW_S3_BUCKET: bucket,
      VIDFLOW_S3_ENDPOINT: endpoint,
      VIDFLOW_S3_REGION: TEST_AWS_ENV.AWS_REGION,
      VIDFLOW_S3_PREFIX: 'videos/',
      ...TEST_AWS_ENV,
    },
    stop,
  };
}
