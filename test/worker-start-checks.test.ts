/**
 * What a worker and `vidflow start` check before anything runs. The worker asks Replicate whether
 * REPLICATE_API_TOKEN is valid (GET /v1/account, free): a refused token stops it with the seed
 * guide's advice (r8_, no spaces, copied whole) and exit 2; an unreachable Replicate is reported
 * after a few tries, with what was tried. `vidflow start` on a namespace where no worker has
 * registered the VideoStage search attribute registers it instead of failing with the server's
 * INVALID_ARGUMENT.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { startDevServer } from '../src/client/dev-server';
import type { DevServer } from '../src/client/dev-server';
import { startEmulators } from '../src/emulators';
import type { Emulators } from '../src/emulators';
import { checkReplicateToken, ReplicateTokenRefused } from '../src/providers/replicate-token-check';
import { freePort } from './helpers/crash';
import { startEmulatorProcess, temporalCli, vidflow } from './helpers/processes';
import { eventually } from './helpers/temporal';

let emu: Emulators;
let server: DevServer | undefined;
let address: string;
let dir: string;

before(async () => {
  emu = await startEmulators();
  dir = await mkdtemp(join(tmpdir(), 'vidflow-checks-'));
  address = process.env.TEMPORAL_TEST_ADDRESS ?? '';
  if (!address) {
    const port = 24000 + (process.pid % 9000);
    server = await startDevServer({ port, uiPort: port + 1, detached: false, dbFile: join(dir, 'temporal.db') });
    address = server.address;
  }
});
after(async () => {
  await emu.close();
  await server?.stop?.();
  await rm(dir, { recursive: true, force: true });
});

const GOOD = 'r8_0123456789abcdefghijklmnopqrstuvwxyzAB';

test('a valid token is verified with one free GET /account', async () => {
  emu.reset();
  const logs: string[] = [];
  const r = await checkReplicateToken({ REPLICATE_API_TOKEN: GOOD, REPLICATE_BASE_URL: emu.replicateBaseUrl }, (l) =>
    logs.push(l),
  );
  assert.equal(r, 'ok');
  assert.deepEqual(logs, ['Replicate token verified (account emulator)']);
  assert.equal(emu.state.replicate.requests.other, 1);
  assert.equal(emu.state.replicate.predictionsCreated, 0);
});

test("a refused token gives the seed guide's advice, with hints from its shape and never the token", async () => {
  for (const [token, hints] of [
    [GOOD, [/starts with r8_ \(yours does\)/, /copied whole, not cut$/m]],
    ['r8_cut0123', [/yours is 10 characters; Replicate's are usually 40/]],
    ['Token r8_0123456789abcdefghijklmnopqrstuvwxyz', [/yours does NOT/, /yours HAS whitespace inside/]],
  ] as const) {
    emu.reset();
    emu.configure({ replicate: { rejectToken: token } });
    const err = await checkReplicateToken(
      { REPLICATE_API_TOKEN: token, REPLICATE_BASE_URL: emu.replicateBaseUrl },
      () => undefined,
    ).then(
      () => assert.fail('a refused token must throw'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ReplicateTokenRefused);
    assert.match(
      err.message,
      /^REPLICATE_API_TOKEN was refused by Replicate \(401 on GET http:\/\/127\.0\.0\.1:\d+\/replicate\/v1\/account\)/,
    );
    assert.match(err.message, /it starts with r8_/);
    assert.match(err.message, /no spaces/);
    assert.match(err.message, /copied whole, not cut/);
    for (const h of hints) assert.match(err.message, h);
    assert.ok(!err.message.includes(token.slice(3, 12)), 'no piece of the token');
    assert.equal(emu.state.replicate.requests.other, 1, 'asked once: a refusal is final');
  }
});

test('an unreachable Replicate is reported after the first failures, with what was tried; the check does not throw', async () => {
  const logs: string[] = [];
  const closed = `http://127.0.0.1:${await freePort()}/v1`; // nothing listens there
  const r = await checkReplicateToken({ REPLICATE_API_TOKEN: GOOD, REPLICATE_BASE_URL: closed }, (l) => logs.push(l), {
    backoffMs: 50,
  });
  assert.equal(r, 'unreachable');
  assert.equal(logs.length, 1);
  assert.match(
    logs[0]!,
    /^warning: Replicate could not be asked whether REPLICATE_API_TOKEN is valid: GET http:\/\/127\.0\.0\.1:\d+\/v1\/account failed 3 times in \d+\.\d s \(ECONNREFUSED; ECONNREFUSED; ECONNREFUSED\)/,
  );
  assert.match(logs[0]!, /generations retry until Replicate answers/);

  emu.reset();
  emu.configure({ replicate: { fault: 'unavailable' } });
  const outage: string[] = [];
  assert.equal(
    await checkReplicateToken(
      { REPLICATE_API_TOKEN: GOOD, REPLICATE_BASE_URL: emu.replicateBaseUrl },
      (l) => outage.push(l),
      {
        backoffMs: 50,
      },
    ),
    'unreachable',
  );
  assert.match(outage[0]!, /failed 3 times .*\(503 .*Service Unavailable/);
  assert.equal(emu.state.replicate.requests.other, 3);
});

test('vidflow worker with a refused token exits 2 with the advice, before polling', async () => {
  const revoked = 'r8_revoked0123456789abcdefghijklmnopqrstu';
  const emuProc = await startEmulatorProcess({ replicate: { rejectToken: revoked } });
  try {
    const r = await vidflow(
      ['worker'],
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_TASK_QUEUE: `checks-${process.pid}`,
        REPLICATE_API_TOKEN: revoked,
        REPLICATE_BASE_URL: emuProc.replicateBaseUrl,
        VIDFLOW_WORK_DIR: join(dir, 'work'),
        VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
      },
      60_000,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /REPLICATE_API_TOKEN was refused by Replicate \(401/);
    assert.match(r.stderr, /it starts with r8_/);
    assert.doesNotMatch(r.stderr, /worker: polling/);
    assert.ok(!r.stderr.includes(revoked.slice(3)), 'the token is not printed');
  } finally {
    await emuProc.stop();
  }
});

test('vidflow start on a namespace without VideoStage registers it and starts (no raw INVALID_ARGUMENT)', async () => {
  const namespace = `ux-ns-${randomBytes(3).toString('hex')}`;
  const connection = await Connection.connect({ address });
  try {
    // As a person would make one; the retention is the CLI's default.
    const made = temporalCli(['operator', 'namespace', 'create', '--address', address, '--namespace', namespace]);
    assert.equal(made.code, 0, made.stderr);
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
    };
    // A namespace just registered takes a moment to be served.
    await eventually(
      async () => {
        const listed = await connection.operatorService.listSearchAttributes({ namespace }).catch(() => undefined);
        return listed !== undefined;
      },
      30_000,
      'the new namespace',
    );
    const r = await vidflow(['start', 'a lighthouse at dusk', '--json'], env, 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`namespace ${namespace} has no search attribute VideoStage yet: registering it`));
    assert.doesNotMatch(r.stderr, /INVALID_ARGUMENT/);
    const { workflowId } = JSON.parse(r.stdout) as { workflowId: string };
    const list = await vidflow(['list'], env, 60_000);
    assert.match(list.stdout, new RegExp(`^${workflowId}\\s+planning\\s+.*a lighthouse at dusk$`, 'm'));
    const again = await vidflow(['start', 'a second lighthouse', '--json'], env, 60_000);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /registering/, 'once per namespace');
  } finally {
    await connection.close();
  }
});
