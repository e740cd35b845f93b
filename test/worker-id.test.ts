/**
 * A worker's id names its disk: kept in `<work folder>/.worker-id`, shared by every process on
 * that folder and kept across a new host name (a container recreated by a redeploy), so runs in
 * flight keep their home queue instead of waiting out workerTimeout and downloading again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defaultWorkerId, diskWorkerId, WORKER_ID_FILE } from '../src/worker/worker-id';
import { ROOT } from './helpers/processes';
import { localEnv } from './helpers/temporal';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-worker-id-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('first start writes the id (host name + folder hash, as before); later starts read it back', async () => {
  const work = join(dir, 'a');
  const id = await diskWorkerId(work);
  assert.equal(id, defaultWorkerId(work), 'seeded with the id earlier versions used');
  assert.equal((await readFile(join(work, WORKER_ID_FILE), 'utf8')).trim(), id);
  // What another host name would have made does not matter once the folder has an id.
  await writeFile(join(work, WORKER_ID_FILE), 'kept-from-the-first-container\n');
  assert.equal(await diskWorkerId(work), 'kept-from-the-first-container');
});

test('many starts at once on a new folder agree on one id, and leave no temporary file', async () => {
  // Twenty folders, thirty starts each, all in one millisecond: a temporary name made of pid and
  // time was shared by the calls, and one's clean-up removed it before another's link (ENOENT).
  for (let round = 0; round < 20; round++) {
    const work = join(dir, `race-${round}`);
    const ids = await Promise.all(Array.from({ length: 30 }, () => diskWorkerId(work)));
    assert.equal(new Set(ids).size, 1, ids.join(', '));
    assert.deepEqual(await readdir(work), [WORKER_ID_FILE]);
  }
});

test('another work folder (another disk) gets another id', async () => {
  assert.notEqual(await diskWorkerId(join(dir, 'disk-1')), await diskWorkerId(join(dir, 'disk-2')));
});

test('a file that holds no valid id is a clear error naming it and the way out', async () => {
  const work = join(dir, 'bad');
  await diskWorkerId(work);
  await writeFile(join(work, WORKER_ID_FILE), 'not a valid id!\n');
  await assert.rejects(diskWorkerId(work), /\.worker-id holds no valid worker id: remove it, or set VIDFLOW_WORKER_ID/);
});

// A new UTS namespace gives a process its own host name, as a recreated container has: needs root.
const uts =
  process.getuid?.() === 0 && spawnSync('unshare', ['--uts', 'true']).status === 0
    ? false
    : 'needs root and unshare --uts to give a worker process another host name';

describe('real worker processes under two host names on one work folder', { skip: uts }, () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await localEnv();
  });
  after(async () => {
    await env.teardown();
  });

  test('both poll the same own queue: a redeployed container keeps its runs', async () => {
    const work = join(dir, 'shared-volume');
    const idOf = async (host: string): Promise<string> => {
      // `vidflow worker` under another host name (unshare execs sh, sh execs node: one pid),
      // stopped once its start-up line says which queues it polls.
      const child = spawn('unshare', ['--uts', 'sh', '-c', `hostname ${host} && exec node bin/vidflow.js worker`], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          TEMPORAL_ADDRESS: env.address,
          TEMPORAL_TASK_QUEUE: `worker-id-${process.pid}`,
          REPLICATE_API_TOKEN: 'r8_test_worker_id',
          REPLICATE_BASE_URL: 'http://127.0.0.1:9/v1',
          VIDFLOW_WORK_DIR: work,
          VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
        },
      });
      let out = '';
      const id = await new Promise<string>((resolvePromise, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no start-up line from the worker on ${host}:\n${out}`)),
          60_000,
        );
        const onData = (d: Buffer) => {
          out += d.toString();
          const m = /\(worker id ([^)]+)\)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolvePromise(m[1]!);
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the worker on ${host} exited (${String(code)}) before polling:\n${out}`));
        });
      });
      child.removeAllListeners('exit');
      child.kill('SIGINT');
      await once(child, 'exit');
      return id;
    };
    const first = await idOf('container-a1b2');
    const second = await idOf('container-c3d4');
    assert.match(first, /^container-a1b2-/, 'the first start seeds the id with its host name');
    assert.equal(second, first, 'the recreated container (new host name) keeps the id');
  });
});
