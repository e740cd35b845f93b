/**
 * The Replicate emulator's faults against the real `replicate` client (outcomes, expired outputs,
 * broken downloads, dropped connections, webhooks, delays, skew, outages), and the control API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import type { ApiError, Prediction } from 'replicate';
import { inputKey } from '../src/emulators';
import {
  assertNoSecretsLogged,
  KLING,
  OPENAI_KEY,
  planRequest,
  pollUntil,
  REPLICATE_TOKEN,
  terminal,
  useEmulatorClients,
} from './helpers/emulator-clients';
import { useTempDir } from './helpers/temp-dir';
import { durationOf } from './helpers/video';

const clients = useEmulatorClients();
const { emu, replicate } = clients;
let dir: string;
useTempDir('vidflow-emulators-test-', (d) => {
  dir = d;
});

void test('replicate: failed, flagged, canceled and aborted outcomes', async () => {
  emu.configure({ replicate: { nextOutcome: ['failed', 'flagged', 'canceled', 'aborted'] } });
  const client = replicate();
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    ids.push((await client.predictions.create({ model: KLING, input: { prompt: `outcome ${i}` } })).id);
  }
  const ends = await Promise.all(ids.map((id) => pollUntil(client, id, terminal)));
  assert.deepEqual(
    ends.map((p) => p.status),
    ['failed', 'failed', 'canceled', 'aborted'],
  );
  assert.match(String(ends[0]?.error), /Prediction failed/);
  assert.equal(
    ends[1]?.error,
    'The input or output was flagged as sensitive. Please try again with different inputs. (E005)',
  );
  assert.ok(ends.every((p) => p.output === null));
});

void test('replicate: output expires (404, data_removed) after outputTtlMs', async () => {
  emu.configure({ replicate: { outputTtlMs: 400 } });
  const client = replicate();
  const p = await client.predictions.create({ model: KLING, input: { prompt: 'short-lived' }, wait: 5 });
  assert.equal(p.status, 'succeeded');
  const url = p.output as string;
  assert.equal((await fetch(url, { method: 'HEAD' })).status, 200);
  await new Promise((r) => setTimeout(r, 450));
  assert.equal((await fetch(url)).status, 404);
  const gone = await client.predictions.get(p.id);
  assert.equal(gone.data_removed, true);
  assert.equal(gone.output, null);
  assert.equal(gone.status, 'succeeded');
});

void test('replicate: broken, truncated and throttled downloads', async () => {
  emu.configure({ replicate: { nextDownload: ['broken', 'truncated'] } });
  const p = await replicate().predictions.create({ model: KLING, input: { prompt: 'files' }, wait: 5 });
  const url = p.output as string;

  const broken = await fetch(url);
  assert.equal(broken.headers.get('content-type'), 'video/mp4');
  const brokenFile = join(dir, 'broken.mp4');
  await writeFile(brokenFile, Buffer.from(await broken.arrayBuffer()));
  assert.throws(() => durationOf(brokenFile));

  const truncated = await fetch(url);
  assert.equal(truncated.status, 200);
  await assert.rejects(truncated.arrayBuffer());

  const size = Number((await fetch(url, { method: 'HEAD' })).headers.get('content-length'));
  emu.configure({ replicate: { downloadBytesPerSecond: Math.ceil(size / 0.4) } });
  const started = Date.now();
  const throttled = await fetch(url);
  let chunks = 0;
  let received = 0;
  for await (const chunk of throttled.body as AsyncIterable<Uint8Array>) {
    chunks++;
    received += chunk.length;
  }
  assert.equal(received, size);
  assert.ok(chunks >= 4, `progress should be observable, got ${chunks} chunk(s)`);
  assert.ok(Date.now() - started >= 300, 'throttle respected');
  assert.deepEqual(emu.state.replicate.faultsServed, ['download:broken', 'download:truncated']);
});

void test('replicate: a network drop after create makes the client retry and pay twice', async () => {
  emu.configure({ replicate: { nextCreate: ['drop'] } });
  const input = { prompt: 'double payment', duration: 5 };
  const p = await replicate().predictions.create({ model: KLING, input });
  assert.equal(p.status, 'starting');
  const s = emu.state.replicate;
  assert.equal(s.predictionsCreated, 2);
  assert.equal(s.createdByInput[inputKey(input)], 2);
  assert.equal(s.predictions.length, 2);
  assert.equal(s.predictions[1]?.id, p.id);
});

void test('replicate: webhook and webhook_events_filter are kept and returned by create, get and list', async () => {
  const client = replicate();
  const webhook = 'https://hooks.example.invalid/replicate?run=wf-1&scene=2&gen=0';
  const created = await client.predictions.create({
    model: KLING,
    input: { prompt: 'with a webhook' },
    webhook,
    webhook_events_filter: ['completed'],
  });
  assert.equal(created.webhook, webhook);
  const got = await client.predictions.get(created.id);
  assert.equal(got.webhook, webhook, 'query parameters survive');
  assert.deepEqual((got as Prediction & { webhook_events_filter?: string[] }).webhook_events_filter, ['completed']);
  const listed = (await client.predictions.list()).results.find((p) => p.id === created.id);
  assert.equal(listed?.webhook, webhook);
  await assert.rejects(
    client.predictions.create({
      model: KLING,
      input: { prompt: 'bad filter' },
      webhook,
      webhook_events_filter: ['finished' as never],
    }),
    (err: ApiError) => err.response?.status === 422,
  );
});

void test('replicate: createAnswerDelayMs holds the answer after the prediction exists', async () => {
  emu.configure({ replicate: { createAnswerDelayMs: 400 } });
  const started = Date.now();
  const pending = replicate().predictions.create({ model: KLING, input: { prompt: 'held answer' } });
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(emu.state.replicate.predictionsCreated, 1, 'created before the answer left');
  const p = await pending;
  assert.ok(Date.now() - started >= 380, `answered after ${Date.now() - started} ms`);
  assert.equal(p.id, emu.state.replicate.predictions[0]?.id);
});

void test('replicate: clockSkewMs shifts the timestamps Replicate reports (negative: Replicate is behind)', async () => {
  emu.configure({ replicate: { clockSkewMs: -5000 } });
  const before = Date.now();
  const p = await replicate().predictions.create({ model: KLING, input: { prompt: 'skewed' } });
  const skew = Date.parse(p.created_at) - before;
  assert.ok(skew <= -4900 && skew >= -5100, `created_at is ${skew} ms from the real clock`);
  assert.throws(() => emu.configure({ replicate: { latencyMs: -1 } }), /expected a number >= 0/);
});

void test('replicate: an outage window fails the chosen routes until outageUntil, with Retry-After', async () => {
  emu.configure({ replicate: { outageUntil: Date.now() + 500, outageRoutes: ['get'], retryAfterSeconds: 0 } });
  const raw = (path: string) =>
    fetch(`${emu.replicateBaseUrl}${path}`, { headers: { authorization: `Bearer ${REPLICATE_TOKEN}` } });
  const p = await replicate().predictions.create({ model: KLING, input: { prompt: 'outage' } });
  const during = await raw(`/predictions/${p.id}`);
  assert.equal(during.status, 503);
  assert.equal(during.headers.get('retry-after'), '0');
  assert.equal((await raw('/predictions')).status, 200, 'list is not in outageRoutes');
  await new Promise((r) => setTimeout(r, 550));
  assert.equal((await raw(`/predictions/${p.id}`)).status, 200, 'over after outageUntil');
  assert.deepEqual(emu.state.replicate.faultsServed, ['get:unavailable']);
  assert.throws(() => emu.configure({ replicate: { outageRoutes: ['poll' as never] } }), /not one of/);
});

// ---- control API, separate process, secrets ---------------------------------------------------

void test('control API: a separate emulator process is configured, observed and stopped over HTTP', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulators/main.ts', '--port', '0'], {
    cwd: join(__dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
    });
    const urls = JSON.parse(line) as { openaiBaseUrl: string; replicateBaseUrl: string; controlUrl: string };
    assert.match(urls.openaiBaseUrl, /^http:\/\/127\.0\.0\.1:\d+\/openai\/v1$/);

    const post = (path: string, body: unknown) =>
      fetch(`${urls.controlUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
    const typo = await post('/configure', { openai: { mode: 'ratelimited' } });
    assert.equal(typo.status, 400);
    assert.match(((await typo.json()) as { error: string }).error, /not one of/);
    assert.equal((await post('/configure', { openai: { mode: 'refusal' } })).status, 200);

    const client = new OpenAI({ apiKey: OPENAI_KEY, baseURL: urls.openaiBaseUrl, maxRetries: 0 });
    const refused = await client.chat.completions.parse(planRequest());
    assert.ok(refused.choices[0]?.message.refusal);
    const state = (await (await fetch(`${urls.controlUrl}/state`)).json()) as { openai: { requests: number } };
    assert.equal(state.openai.requests, 1);
    assert.equal((await post('/reset', {})).status, 200);
    const after = (await (await fetch(`${urls.controlUrl}/state`)).json()) as { openai: { requests: number } };
    assert.equal(after.openai.requests, 0);
  } finally {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});

void test('configure refuses unknown options and changes nothing when it does', () => {
  assert.throws(() => emu.configure({ replicate: { startingMs: 1, bogus: 1 } as never }), /bogus: unknown option/);
  assert.throws(() => emu.configure({ replicate: { clipWidth: 161 } }), /even integer/);
  assert.equal(emu.config.replicate.startingMs, 50);
});

void test('no key or token appears in logs or state', () => {
  // Runs last: the log collected every request of this file.
  assertNoSecretsLogged(clients, 10);
});
