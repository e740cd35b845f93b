/**
 * The emulators against the real `openai` and `replicate` clients: if a shape or status drifts
 * from what the SDKs expect, these fail here rather than as a confusing pipeline failure.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { LengthFinishReasonError } from 'openai/core/error';
import { zodResponseFormat } from 'openai/helpers/zod';
import Replicate, { parseProgressFromLogs } from 'replicate';
import type { ApiError, Prediction } from 'replicate';
import { z } from 'zod';
import { inputKey } from '../src/emulators';
import type { EmulatorConfigPatch } from '../src/emulators';
import { useEmulators } from './helpers/activity-env';
import { durationOf, frameColor } from './helpers/video';

const run = promisify(execFile);

const OPENAI_KEY = 'sk-test-emulator-key-0123456789-wxyz';
const REPLICATE_TOKEN = 'r8_test-emulator-token-0123456789-qrst';
const KLING = 'kwaivgi/kling-v2.5-turbo-pro';
const PlanSchema = z.object({ scenes: z.array(z.object({ prompt: z.string() })).length(3) });
const FAST: EmulatorConfigPatch = {
  replicate: { startingMs: 50, processingMs: 200, clipWidth: 160, clipHeight: 90 },
};

const logLines: string[] = [];
const emu = useEmulators({ log: (line) => logLines.push(line), eachTest: FAST });
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-emulators-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const openai = (apiKey = OPENAI_KEY) => new OpenAI({ apiKey, baseURL: emu.openaiBaseUrl, maxRetries: 0 });
const replicate = (auth = REPLICATE_TOKEN) => new Replicate({ auth, baseUrl: emu.replicateBaseUrl });

const planRequest = (prompt = 'a beautiful sunset over the sea') => ({
  model: 'gpt-4o-mini',
  messages: [
    {
      role: 'system' as const,
      content: 'Split the video idea into exactly 3 scene prompts for a text-to-video model.',
    },
    { role: 'user' as const, content: prompt },
  ],
  response_format: zodResponseFormat(PlanSchema, 'plan'),
});

/** replicate exports ApiError only as a type, so check the name it sets. */
function apiError(err: unknown): ApiError {
  assert.ok(err instanceof Error && err.name === 'ApiError', `expected ApiError, got ${String(err)}`);
  return err as ApiError;
}

/** The JSON body of a replicate ApiError (the client has already read the response into the message). */
function problemBody(e: unknown): Record<string, unknown> {
  const err = apiError(e);
  const json = err.message.slice(err.message.indexOf('{'), err.message.lastIndexOf('}') + 1);
  return JSON.parse(json) as Record<string, unknown>;
}

async function pollUntil(
  client: Replicate,
  id: string,
  done: (p: Prediction) => boolean,
  seen: Prediction[] = [],
): Promise<Prediction> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const p = await client.predictions.get(id);
    seen.push(p);
    if (done(p)) return p;
    if (Date.now() > deadline) throw new Error(`prediction ${id} stuck in ${p.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const terminal = (p: Prediction) => ['succeeded', 'failed', 'canceled', 'aborted'].includes(p.status);

async function ffprobeDuration(file: string): Promise<number> {
  return durationOf(file);
}

/** Average RGB of the top-left 8x8 corner of the first frame (away from the moving white box). */
async function cornerColour(file: string): Promise<number[]> {
  return frameColor(file, 0, { size: 8 });
}

// ---- OpenAI ---------------------------------------------------------------------------------

void test('openai: chat.completions.parse with a zod 4 schema gets 3 distinct scene prompts of the idea', async () => {
  const completion = await openai().chat.completions.parse(planRequest());
  assert.match(completion.id, /^chatcmpl-/);
  assert.equal(completion.object, 'chat.completion');
  const choice = completion.choices[0];
  assert.equal(choice?.finish_reason, 'stop');
  const scenes = choice?.message.parsed?.scenes ?? [];
  assert.equal(scenes.length, 3);
  assert.equal(new Set(scenes.map((s) => s.prompt)).size, 3);
  for (const s of scenes) assert.match(s.prompt, /sunset over the sea/);
  assert.ok(completion.usage && completion.usage.total_tokens > 0);

  // Deterministic: the same request gives the same plan.
  const again = await openai().chat.completions.parse(planRequest());
  assert.deepEqual(again.choices[0]?.message.parsed, choice?.message.parsed);
  assert.equal(emu.state.openai.chatCompletions, 2);
  assert.equal((emu.state.openai.lastBody as { model?: string }).model, 'gpt-4o-mini');
});

void test('openai: responses.create with text.format json_schema, and N from the text without a schema', async () => {
  const schema = {
    type: 'object',
    properties: {
      scenes: {
        type: 'array',
        minItems: 4,
        maxItems: 4,
        items: { type: 'object', properties: { prompt: { type: 'string' } }, required: ['prompt'] },
      },
    },
    required: ['scenes'],
    additionalProperties: false,
  };
  const res = await openai().responses.create({
    model: 'gpt-4o-mini',
    input: [{ role: 'user', content: 'a fox in the snow' }],
    text: { format: { type: 'json_schema', name: 'plan', schema, strict: true } },
  });
  assert.match(res.id, /^resp_/);
  assert.equal(res.status, 'completed');
  const plan = JSON.parse(res.output_text) as { scenes: { prompt: string }[] };
  assert.equal(plan.scenes.length, 4);
  assert.match(plan.scenes[0]?.prompt ?? '', /fox in the snow/);

  const free = await openai().responses.create({
    model: 'gpt-4o-mini',
    input: 'Write exactly 2 scenes for: "a red kite"',
  });
  const freePlan = JSON.parse(free.output_text) as { scenes: { prompt: string }[] };
  assert.equal(freePlan.scenes.length, 2);
  assert.match(freePlan.scenes[1]?.prompt ?? '', /a red kite/);
  assert.equal(emu.state.openai.responses, 2);
});

void test('openai: fenced, prose and garbage modes break strict parsing the way a chatty model does', async () => {
  emu.configure({ openai: { nextModes: ['fenced', 'prose', 'garbage', 'fenced'] } });
  const { response_format: _rf, ...plain } = planRequest();
  const fenced = (await openai().chat.completions.create(plain)).choices[0]?.message.content ?? '';
  assert.throws(() => JSON.parse(fenced) as unknown, SyntaxError);
  const block = /```json\n([\s\S]+?)\n```/.exec(fenced)?.[1];
  assert.equal((JSON.parse(block ?? '') as { scenes: unknown[] }).scenes.length, 3);

  const prose = (await openai().chat.completions.create(plain)).choices[0]?.message.content ?? '';
  const embedded = prose.slice(prose.indexOf('{'), prose.lastIndexOf('}') + 1);
  assert.notEqual(embedded, prose);
  assert.equal((JSON.parse(embedded) as { scenes: unknown[] }).scenes.length, 3);

  const garbage = (await openai().chat.completions.create(plain)).choices[0]?.message.content ?? '';
  assert.ok(!garbage.includes('{'), 'garbage has no JSON in it');

  // The SDK's parse() runs JSON.parse on the content, so a fenced answer rejects.
  await assert.rejects(openai().chat.completions.parse(planRequest()), SyntaxError);
  assert.deepEqual(emu.state.openai.modesServed, ['fenced', 'prose', 'garbage', 'fenced']);
});

void test('openai: refusal, wrongCount and length surface as the SDK reports them', async () => {
  emu.configure({ openai: { nextModes: ['refusal', 'wrongCount', 'length'] } });
  const refused = await openai().chat.completions.parse(planRequest());
  assert.equal(refused.choices[0]?.message.parsed, null);
  assert.equal(refused.choices[0]?.message.content, null);
  assert.match(refused.choices[0]?.message.refusal ?? '', /can't help/);

  await assert.rejects(openai().chat.completions.parse(planRequest()), z.ZodError);
  await assert.rejects(openai().chat.completions.parse(planRequest()), LengthFinishReasonError);
  // Queue drained: back to ok.
  const ok = await openai().chat.completions.parse(planRequest());
  assert.equal(ok.choices[0]?.message.parsed?.scenes.length, 3);
});

void test('openai: 401 is AuthenticationError with a masked key; a missing key is refused too', async () => {
  emu.configure({ openai: { rejectKey: OPENAI_KEY } });
  const err = await openai()
    .chat.completions.parse(planRequest())
    .then(
      () => assert.fail('expected 401'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof OpenAI.AuthenticationError);
  assert.equal(err.status, 401);
  assert.equal(err.code, 'invalid_api_key');
  assert.ok(!err.message.includes(OPENAI_KEY), 'the full key must not be echoed');
  assert.ok(err.message.includes(`sk-${'*'.repeat(OPENAI_KEY.length - 7)}wxyz`), err.message);

  const res = await fetch(`${emu.openaiBaseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(res.status, 401);
  const body = (await res.json()) as { error: { type: string } };
  assert.equal(body.error.type, 'invalid_request_error');
  assert.equal(emu.state.openai.unauthorized, 2);
});

void test('openai: 429 rate limit carries retry-after; quota and 500 map to their SDK errors', async () => {
  emu.configure({ openai: { retryAfterSeconds: 7, nextModes: ['rateLimited', 'quota', 'serverError'] } });
  const limited = await openai()
    .chat.completions.parse(planRequest())
    .catch((e: unknown) => e);
  assert.ok(limited instanceof OpenAI.RateLimitError);
  assert.equal(limited.code, 'rate_limit_exceeded');
  assert.equal(limited.headers.get('retry-after'), '7');
  assert.equal(limited.headers.get('x-should-retry'), null);

  const quota = await openai()
    .chat.completions.parse(planRequest())
    .catch((e: unknown) => e);
  assert.ok(quota instanceof OpenAI.RateLimitError);
  assert.equal(quota.code, 'insufficient_quota');
  assert.equal(quota.headers.get('retry-after'), null);

  const server = await openai()
    .chat.completions.parse(planRequest())
    .catch((e: unknown) => e);
  assert.ok(server instanceof OpenAI.InternalServerError);
  assert.equal(server.status, 500);
});

void test('openai: latency makes a client timeout fire; the default client retries a 429 after retry-after', async () => {
  emu.configure({ openai: { latencyMs: 400 } });
  const slow = new OpenAI({ apiKey: OPENAI_KEY, baseURL: emu.openaiBaseUrl, maxRetries: 0, timeout: 100 });
  await assert.rejects(slow.chat.completions.parse(planRequest()), OpenAI.APIConnectionTimeoutError);

  emu.configure({ openai: { latencyMs: 0, retryAfterSeconds: 1, nextModes: ['rateLimited'] } });
  const retrying = new OpenAI({ apiKey: OPENAI_KEY, baseURL: emu.openaiBaseUrl, maxRetries: 1 });
  const started = Date.now();
  const ok = await retrying.chat.completions.parse(planRequest());
  assert.equal(ok.choices[0]?.message.parsed?.scenes.length, 3);
  assert.ok(Date.now() - started >= 900, 'the SDK waited for retry-after');
  assert.deepEqual(emu.state.openai.modesServed.slice(-2), ['rateLimited', 'ok']);
});

void test('openai: GET /models and /models/{id} give shutdown_date (a date for gpt-4o-mini, null for gpt-6-luna)', async () => {
  const client = openai();
  const mini = (await client.models.retrieve('gpt-4o-mini')) as { id: string; object: string; shutdown_date?: unknown };
  assert.equal(mini.id, 'gpt-4o-mini');
  assert.equal(mini.object, 'model');
  assert.equal(mini.shutdown_date, '2027-01-14');
  const luna = (await client.models.retrieve('gpt-6-luna')) as { shutdown_date?: unknown };
  assert.equal(luna.shutdown_date, null);

  const listed: { id: string; shutdown_date?: unknown }[] = [];
  for await (const m of client.models.list()) listed.push(m);
  assert.ok(listed.length >= 4);
  for (const m of listed) assert.ok('shutdown_date' in m, `${m.id} carries shutdown_date`);
  assert.equal(listed.find((m) => m.id === 'gpt-4.1-mini')?.shutdown_date, '2027-01-14');

  const missing = await client.models.retrieve('gpt-9-nonexistent').catch((e: unknown) => e);
  assert.ok(missing instanceof OpenAI.NotFoundError);
  assert.equal(missing.code, 'model_not_found');
  // The same for a completion with that model.
  const chat = await client.chat.completions
    .create({ ...planRequest(), model: 'gpt-9-nonexistent' })
    .catch((e: unknown) => e);
  assert.ok(chat instanceof OpenAI.NotFoundError);

  const unauth = await fetch(`${emu.openaiBaseUrl}/models/gpt-4o-mini`);
  assert.equal(unauth.status, 401, 'the key is checked as on any endpoint');
  // Lookups are counted apart: tests that count plan requests stay exact beside a worker's start check.
  assert.equal(emu.state.openai.modelLookups, 5);
  assert.equal(emu.state.openai.requests, 1);
});

void test('openai: a reasoning model refuses temperature and top_p with 400 unsupported_parameter naming the field', async () => {
  for (const [param, value] of [
    ['temperature', 0.7],
    ['top_p', 0.9],
  ] as const) {
    const err = await openai()
      .chat.completions.create({ ...planRequest(), model: 'gpt-6-luna', [param]: value })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, `${param}: ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.param, param);
    assert.equal(err.code, 'unsupported_parameter');
    assert.equal(err.type, 'invalid_request_error');
    assert.equal(
      err.error && (err.error as { message?: string }).message,
      `Unsupported parameter: '${param}' is not supported with this model.`,
    );
  }
  // Responses API: the same rule.
  const viaResponses = await openai()
    .responses.create({ model: 'o4-mini', input: 'a dog surfing', temperature: 0.2 })
    .catch((e: unknown) => e);
  assert.ok(viaResponses instanceof OpenAI.BadRequestError);
  assert.equal(viaResponses.param, 'temperature');

  // What the planner sends instead is accepted, and the effort shows in the usage.
  const ok = await openai().chat.completions.create({ ...planRequest(), model: 'gpt-6-luna', reasoning_effort: 'low' });
  assert.equal(ok.choices[0]?.finish_reason, 'stop');
  assert.equal(ok.usage?.completion_tokens_details?.reasoning_tokens, 64);

  // A non-reasoning model takes temperature and refuses reasoning_effort.
  const old = await openai().chat.completions.create({ ...planRequest(), temperature: 0.7 });
  assert.equal(old.choices[0]?.finish_reason, 'stop');
  const effort = await openai()
    .chat.completions.create({ ...planRequest(), reasoning_effort: 'low' })
    .catch((e: unknown) => e);
  assert.ok(effort instanceof OpenAI.BadRequestError);
  assert.equal(effort.param, 'reasoning_effort');
  assert.equal(effort.code, 'unsupported_parameter');
});

// ---- Replicate ------------------------------------------------------------------------------

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
  assert.ok(Math.abs((await ffprobeDuration(file)) - 5) < 0.1);
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
  await assert.rejects(ffprobeDuration(brokenFile));

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
  assert.ok(logLines.length > 20);
  const everything = logLines.join('\n') + JSON.stringify(emu.state);
  assert.ok(!everything.includes(OPENAI_KEY));
  assert.ok(!everything.includes(REPLICATE_TOKEN));
});
