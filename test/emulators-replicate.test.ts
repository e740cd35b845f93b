/**
 * The Replicate emulator against the real `replicate` client: a prediction's life and its real MP4,
 * waits and lists, auth, rate limits, input validation, cancel and Cancel-After.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseProgressFromLogs } from 'replicate';
import type { Prediction } from 'replicate';
import { inputKey } from '../src/emulators';
import {
  apiError,
  assertNoSecretsLogged,
  FAST,
  KLING,
  pollUntil,
  problemBody,
  REPLICATE_TOKEN,
  terminal,
  useEmulatorClients,
} from './helpers/emulator-clients';
import { useTempDir } from './helpers/temp-dir';
import { durationOf, frameColor } from './helpers/video';

const run = promisify(execFile);

const clients = useEmulatorClients();
const { emu, replicate } = clients;
let dir: string;
useTempDir('vidflow-emulators-test-', (d) => {
  dir = d;
});
/** Average RGB of the top-left 8x8 corner of the first frame (away from the moving white box). */
async function cornerColour(file: string): Promise<number[]> {
  return frameColor(file, 0, { size: 8 });
}

void test('replicate: a prediction goes starting -> processing -> succeeded and its file is a real MP4', async () => {
  emu.configure({ replicate: { processingMs: 400 } });
  const client = replicate();
  const created = await client.predictions.create({
    model: KLING,
    input: { prompt: 'a lighthouse at dawn', duration: 5, aspect_ratio: '9:16' },
  });
  assert.match(created.id, /^[a-z0-9]{26}$/);
  assert.equal(created.status, 'starting');
  assert.equal(created.model, KLING);
  assert.equal(created.output, null);
  assert.equal(created.urls.get, `${emu.replicateBaseUrl}/predictions/${created.id}`);

  const seen: Prediction[] = [];
  const done = await pollUntil(client, created.id, terminal, seen);
  assert.equal(done.status, 'succeeded');
  assert.ok(
    seen.some((p) => p.status === 'processing'),
    'processing was observable',
  );
  assert.equal(parseProgressFromLogs(done)?.percentage, 1);
  assert.ok((done.metrics?.predict_time ?? 0) > 0);
  assert.ok(done.completed_at && done.started_at);
  assert.equal(typeof done.output, 'string');

  const res = await fetch(done.output as string);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'video/mp4');
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(Number(res.headers.get('content-length')), bytes.length);
  const file = join(dir, 'lifecycle.mp4');
  await writeFile(file, bytes);
  assert.ok(Math.abs(durationOf(file) - 5) < 0.1);
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file],
  ]);
  assert.equal(stdout.trim(), '90,160');
  // First distinct prompt = scene 1 = red.
  assert.deepEqual(emu.state.replicate.promptScenes['a lighthouse at dawn'], { scene: 1, color: 'red' });
  const [r, g, b] = await cornerColour(file);
  assert.ok(r! > 150 && g! < 90 && b! < 90, `expected red, got ${String([r, g, b])}`);
  assert.equal(emu.state.replicate.downloadsCompleted, 1);
});

void test('replicate: a clip is rendered while its prediction processes (not at its first download); a cancelled one never', async () => {
  // The download that follows a webhook must not wait for an ffmpeg render the real provider has
  // long finished: in bench:load that wait was 3.1 s per clip, counted as the worker's.
  emu.configure({ replicate: { startingMs: 300, processingMs: 1500 } });
  const client = replicate();
  const kept = await client.predictions.create({ model: KLING, input: { prompt: 'a kite over dunes', duration: 5 } });
  const dropped = await client.predictions.create({ model: KLING, input: { prompt: 'a kite at sea', duration: 5 } });
  await client.predictions.cancel(dropped.id);
  await pollUntil(client, kept.id, (p) => p.status === 'processing');
  const deadline = Date.now() + 3000;
  while (!emu.state.replicate.renderedAhead.includes(kept.id) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const during = emu.state.replicate;
  assert.deepEqual(during.renderedAhead, [kept.id], 'rendered while processing; the cancelled one not at all');
  assert.equal(during.downloads, 0, 'before any download');
  const done = await pollUntil(client, kept.id, terminal);
  assert.equal(done.status, 'succeeded');
  const res = await fetch(done.output as string);
  assert.equal(res.status, 200);
  assert.ok((await res.arrayBuffer()).byteLength > 1000);
});

void test('replicate: Prefer: wait holds until done; distinct prompts get successive colours; list is newest first', async () => {
  emu.configure({ replicate: { listPageSize: 2 } });
  const client = replicate();
  const prompts = ['scene one', 'scene two', 'scene one', 'scene three'];
  const made: Prediction[] = [];
  for (const prompt of prompts) {
    made.push(await client.predictions.create({ model: KLING, input: { prompt, duration: 10 }, wait: 5 }));
  }
  assert.deepEqual(
    made.map((p) => p.status),
    ['succeeded', 'succeeded', 'succeeded', 'succeeded'],
  );
  assert.deepEqual(
    Object.entries(emu.state.replicate.promptScenes).map(([p, s]) => `${p}=${s.color}`),
    ['scene one=red', 'scene two=green', 'scene three=blue'],
  );
  assert.equal(emu.state.replicate.createdByInput[inputKey({ prompt: 'scene one', duration: 10 })], 2);

  const pages: string[][] = [];
  for await (const page of client.paginate(() => client.predictions.list())) pages.push(page.map((p) => p.id));
  assert.deepEqual(pages, [
    [made[3]!.id, made[2]!.id],
    [made[1]!.id, made[0]!.id],
  ]);
});

void test('replicate: 401 is an ApiError with status 401 and never echoes the token', async () => {
  emu.configure({ replicate: { rejectToken: REPLICATE_TOKEN } });
  const err = apiError(
    await replicate()
      .predictions.create({ model: KLING, input: { prompt: 'x' } })
      .catch((e: unknown) => e),
  );
  assert.equal(err.response.status, 401);
  assert.deepEqual(problemBody(err), {
    title: 'Unauthenticated',
    detail: 'You did not pass a valid authentication token',
    status: 401,
  });
  assert.ok(!err.message.includes(REPLICATE_TOKEN));
  assert.equal(emu.state.replicate.predictionsCreated, 0);
});

void test('replicate: 429 carries Retry-After; the client retries a one-shot 429 by itself', async () => {
  emu.configure({ replicate: { fault: 'rateLimited', retryAfterSeconds: 3 } });
  const err = apiError(
    await replicate()
      .predictions.create({ model: KLING, input: { prompt: 'x' } })
      .catch((e: unknown) => e),
  );
  assert.equal(err.response.status, 429);
  assert.equal(err.response.headers.get('retry-after'), '3');
  assert.equal(problemBody(err).title, 'Request was throttled');
  // replicate 1.4.0 makes 6 attempts without backoff (docs/provider-facts.md, "The replicate 1.4.0 client").
  assert.equal(emu.state.replicate.requests.create, 6);

  emu.reset();
  emu.configure({ ...FAST, replicate: { nextCreate: ['rateLimited'] } });
  const p = await replicate().predictions.create({ model: KLING, input: { prompt: 'x' } });
  assert.equal(p.status, 'starting');
  assert.deepEqual(emu.state.replicate.faultsServed, ['create:rateLimited']);
  assert.equal(emu.state.replicate.requests.create, 2);
});

void test("replicate: createsPerMinute, the account's create limit per sliding minute: past it a 429, nothing created", async () => {
  emu.configure({ replicate: { createsPerMinute: 2, retryAfterSeconds: 5 } });
  const create = () =>
    fetch(`${emu.replicateBaseUrl}/models/${KLING}/predictions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${REPLICATE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { prompt: 'x' } }),
    });
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await create()).status);
  const limited = await create();
  assert.deepEqual(statuses, [201, 201, 429]);
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '5');
  assert.equal(emu.state.replicate.predictionsCreated, 2);
  assert.deepEqual(emu.state.replicate.faultsServed, ['create:rateLimited', 'create:rateLimited']);
  emu.reset();
  emu.configure(FAST);
  assert.equal((await create()).status, 201, 'reset forgets the window (and the limit)');
});

void test('replicate: bad inputs get 422 with invalid_fields; an unknown model gets 404; 402 and 5xx', async () => {
  const client = replicate();
  const cases: [Record<string, unknown>, string, string][] = [
    [{ prompt: 'x', duration: 7 }, 'input.duration', 'enum'],
    [{ prompt: 'x', aspect_ratio: '4:3' }, 'input.aspect_ratio', 'enum'],
    [{ duration: 5 }, 'input', 'required'],
    [{ prompt: 'x', seed: 1 }, 'input', 'additional_property_not_allowed'],
    [{ prompt: 'x'.repeat(2501) }, 'input.prompt', 'string_lte'],
  ];
  for (const [input, field, type] of cases) {
    const body = problemBody(await client.predictions.create({ model: KLING, input }).catch((e: unknown) => e));
    assert.equal(body.status, 422);
    assert.equal(body.title, 'Input validation failed');
    assert.deepEqual(
      (body.invalid_fields as { field: string; type: string }[]).map((f) => [f.field, f.type]),
      [[field, type]],
      JSON.stringify(input).slice(0, 80),
    );
    assert.match(String(body.detail), new RegExp(`^- ${field.replace('.', '\\.')}: `));
  }
  const missing = apiError(
    await client.predictions
      .create({ model: 'kwaivgi/no-such-model', input: { prompt: 'x' } })
      .catch((e: unknown) => e),
  );
  assert.equal(missing.response.status, 404);
  assert.ok(typeof problemBody(missing).detail === 'string');

  emu.configure({ replicate: { nextCreate: ['paymentRequired'] } });
  const poor = problemBody(
    await client.predictions.create({ model: KLING, input: { prompt: 'x' } }).catch((e: unknown) => e),
  );
  assert.equal(poor.title, 'Insufficient credit');
  assert.equal(poor.status, 402);
  // GETs retry 5xx in the client; six 503s exhaust it.
  const p = await client.predictions.create({ model: KLING, input: { prompt: 'x' } });
  emu.configure({ replicate: { nextGet: Array(6).fill('unavailable') as 'unavailable'[] } });
  const down = apiError(await client.predictions.get(p.id).catch((e: unknown) => e));
  assert.equal(down.response.status, 503);
  assert.equal(emu.state.replicate.predictionsCreated, 1);
});

void test('replicate: cancel stops a running prediction', async () => {
  emu.configure({ replicate: { processingMs: 10_000 } });
  const client = replicate();
  const p = await client.predictions.create({ model: KLING, input: { prompt: 'long one' } });
  await pollUntil(client, p.id, (x) => x.status === 'processing');
  const canceled = await client.predictions.cancel(p.id);
  assert.equal(canceled.status, 'canceled');
  assert.equal(canceled.output, null);
  assert.equal((await client.predictions.get(p.id)).status, 'canceled');
  // Cancelling a finished prediction changes nothing.
  assert.equal((await client.predictions.cancel(p.id)).status, 'canceled');
  assert.equal(emu.state.replicate.cancels, 2);
  const missing = await client.predictions.cancel('nosuchprediction').catch((e: unknown) => e);
  assert.equal(apiError(missing).response.status, 404);
});

void test('replicate: Cancel-After aborts before start and cancels after start, with a deadline', async () => {
  emu.configure({ replicate: { startingMs: 300, processingMs: 2000 } });
  const client = replicate();
  const create = async (cancelAfter: string) => {
    const res = await client.request(`/models/${KLING}/predictions`, {
      method: 'POST',
      headers: { 'Cancel-After': cancelAfter },
      data: { input: { prompt: `deadline ${cancelAfter}` } },
    });
    return (await res.json()) as Prediction & { deadline?: string };
  };
  const early = await create('100ms');
  const late = await create('0.6');
  assert.ok(early.deadline && Date.parse(early.deadline) - Date.parse(early.created_at) === 100);
  const aborted = await pollUntil(client, early.id, terminal);
  assert.equal(aborted.status, 'aborted');
  assert.equal(aborted.started_at, undefined);
  const canceled = await pollUntil(client, late.id, terminal);
  assert.equal(canceled.status, 'canceled');
  assert.ok(canceled.started_at);

  const bad = await client
    .request(`/models/${KLING}/predictions`, {
      method: 'POST',
      headers: { 'Cancel-After': 'soon' },
      data: { input: { prompt: 'x' } },
    })
    .catch((e: unknown) => e);
  assert.equal(apiError(bad).response.status, 400);
});

void test('no key or token appears in logs or state', () => {
  // Runs last: the log collected every request of this file.
  assertNoSecretsLogged(clients, 10);
});
