/**
 * The OpenAI emulator against the real `openai` client: structured output with zod 4, the chatty
 * answers a model gives, and the errors the SDK must report as the real API's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import OpenAI from 'openai';
import { LengthFinishReasonError } from 'openai/core/error';
import { assertNoSecretsLogged, OPENAI_KEY, planRequest, useEmulatorClients } from './helpers/emulator-clients';

const clients = useEmulatorClients();
const { emu, openai } = clients;

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

void test('no key or token appears in logs or state', () => {
  // Runs last: the log collected every request of this file.
  assertNoSecretsLogged(clients, 10);
});
