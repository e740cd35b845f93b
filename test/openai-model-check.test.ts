/**
 * The worker's start warning about the planner model, with the real `openai` client against the
 * emulator (which serves `GET /models/{id}` with `shutdown_date`), and once through a real worker
 * start. No warning for a current model, none (and no failure) without a key or with OpenAI out of
 * reach; the warning names the model, the date and the setting to change.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { EnvSchema } from '../src/config';
import type { Config } from '../src/config';
import { plannerModelWarning, warnAboutPlannerModel } from '../src/providers/openai-model-check';
import { DEFAULT_PLANNER_MODEL } from '../src/shared/models';
import { createVidflowWorker } from '../src/worker/worker';
import { OPENAI_KEY, useEmulators, waitUntil } from './helpers/activity-env';
import { localEnv } from './helpers/temporal';

const emu = useEmulators({ eachTest: {} });
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-model-check-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const DAY_BEFORE = new Date('2026-12-02T12:00:00Z');

test('the default is gpt-6-luna, and OpenAI (the emulator) lists no shutdown date for it: no warning', async () => {
  assert.equal(EnvSchema.parse({}).OPENAI_MODEL, 'gpt-6-luna');
  assert.equal(DEFAULT_PLANNER_MODEL, 'gpt-6-luna');
  assert.equal(await plannerModelWarning(emu.openai(), DEFAULT_PLANNER_MODEL, { now: DAY_BEFORE }), undefined);
  assert.equal(emu.state.openai.modelLookups, 1, 'it did ask');
});

test('gpt-4o-mini: the warning names the model, the date and OPENAI_MODEL, and suggests the replacement', async () => {
  const w = await plannerModelWarning(emu.openai(), 'gpt-4o-mini', { now: DAY_BEFORE });
  assert.ok(w, 'a warning');
  assert.match(w, /gpt-4o-mini/);
  assert.match(w, /leaves the OpenAI API on 2027-01-14/);
  assert.match(w, /Set OPENAI_MODEL/);
  assert.match(w, /gpt-6-luna/);
  const later = await plannerModelWarning(emu.openai(), 'gpt-4.1', { now: new Date('2027-02-01T00:00:00Z') });
  assert.match(later ?? '', /gpt-4\.1 was shut down on 2027-01-14/);
});

test('a model OpenAI does not know: a warning, since every plan would fail over', async () => {
  const w = await plannerModelWarning(emu.openai(), 'gpt-4o-mni');
  assert.match(w ?? '', /does not know the planner model gpt-4o-mni.*OPENAI_MODEL/);
});

test('no key, a rejected key, a closed port, a server that never answers: no warning, no failure', async () => {
  assert.equal(await plannerModelWarning(undefined, 'gpt-4o-mini'), undefined);
  emu.configure({ openai: { rejectKey: 'sk-revoked-0000000000000000' } });
  assert.equal(await plannerModelWarning(emu.openai('sk-revoked-0000000000000000'), 'gpt-4o-mini'), undefined);

  const closed = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const refused = new OpenAI({ apiKey: OPENAI_KEY, baseURL: `http://127.0.0.1:${closed}/v1`, maxRetries: 0 });
  assert.equal(await plannerModelWarning(refused, 'gpt-4o-mini'), undefined);

  // Accepts the connection and never answers: the short timeout ends the check.
  const sockets: Socket[] = [];
  const silent: Server = createServer((sock) => sockets.push(sock));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = silent.address() as { port: number };
    const hung = new OpenAI({ apiKey: OPENAI_KEY, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    const started = Date.now();
    assert.equal(await plannerModelWarning(hung, 'gpt-4o-mini', { timeoutMs: 300 }), undefined);
    assert.ok(Date.now() - started < 3000, `gave up after ${Date.now() - started} ms`);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }

  // From the configuration, as the worker calls it: no key, nothing asked, nothing logged.
  const lines: string[] = [];
  await warnAboutPlannerModel(
    EnvSchema.parse({ OPENAI_MODEL: 'gpt-4o-mini', OPENAI_BASE_URL: emu.openaiBaseUrl }),
    (l) => lines.push(l),
  );
  assert.deepEqual(lines, []);
  assert.equal(emu.state.openai.modelLookups, 1, 'only the rejected-key lookup reached the emulator');
});

test('a real worker start with OPENAI_MODEL=gpt-4o-mini logs the warning; model lookups leave `requests` alone', async () => {
  const env = await localEnv();
  const cfg: Config = EnvSchema.parse({
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_TASK_QUEUE: `test-model-check-${process.pid}`,
    OPENAI_API_KEY: OPENAI_KEY,
    OPENAI_BASE_URL: emu.openaiBaseUrl,
    OPENAI_MODEL: 'gpt-4o-mini',
    REPLICATE_API_TOKEN: 'r8_test-model-check-token-0123456789',
    REPLICATE_BASE_URL: emu.replicateBaseUrl,
    VIDFLOW_WORK_DIR: join(dir, 'work'),
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
    VIDFLOW_WORKER_ID: 'model-check',
  });
  const lines: string[] = [];
  const { worker, connection } = await createVidflowWorker({ cfg, log: (l) => lines.push(l) });
  try {
    await waitUntil(() => lines.some((l) => l.includes('gpt-4o-mini')), 10_000, 'the model warning');
    const warning = lines.find((l) => l.includes('gpt-4o-mini')) ?? '';
    assert.match(warning, /^warning: the planner model gpt-4o-mini leaves the OpenAI API on 2027-01-14.*OPENAI_MODEL/);
    assert.ok(
      lines.some((l) => l.startsWith('worker: polling')),
      'the worker started as usual',
    );
    assert.equal(emu.state.openai.modelLookups, 1);
    assert.equal(emu.state.openai.requests, 0, 'plan-request counters untouched (crash tests count them)');
  } finally {
    const run = worker.run();
    await waitUntil(() => worker.getState() === 'RUNNING', 10_000, 'the worker running');
    worker.shutdown();
    await run;
    await connection.close();
    await env.teardown();
  }
});
