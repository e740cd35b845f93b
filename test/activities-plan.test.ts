/**
 * planScenes against the OpenAI emulator with the real `openai` client: structured, fenced and
 * prose-wrapped answers are used; unusable answers fall back to the plain split with a reason;
 * API errors become catalogue failures with the right retry behaviour and no secret in them. The
 * default (reasoning) model gets a low reasoning effort and no sampling parameters, an older model
 * a temperature; a scene over the video model's prompt limit never reaches the plan.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledFailure } from '@temporalio/activity';
import type OpenAI from 'openai';
import { createPlanActivities } from '../src/activities/plan';
import type { OpenAIMode } from '../src/emulators';
import { fallbackScenes } from '../src/shared/fallback-plan';
import { DEFAULT_PLANNER_MODEL } from '../src/shared/models';
import type { Plan, PlanInput } from '../src/shared/schemas';
import { OPENAI_KEY, harness, useEmulators } from './helpers/activity-env';
import { expectFailure } from './helpers/failures';

const emu = useEmulators({ eachTest: {} });

const INPUT: PlanInput = {
  prompt: 'A lighthouse keeper climbs the stairs at dusk and lights the lamp for a passing ship.',
  scenes: 4,
  sceneSeconds: 5,
  maxScenePromptChars: 2500,
};

/** The activity as a plain function, as the worker calls it. */
function planner(openai: OpenAI | undefined, openaiModel = DEFAULT_PLANNER_MODEL): (input: PlanInput) => Promise<Plan> {
  const acts = createPlanActivities({ openai, openaiModel });
  return (input) => acts.planScenes(input);
}

function plan(mode: OpenAIMode, input: PlanInput = INPUT, apiKey = OPENAI_KEY, model?: string): Promise<Plan> {
  emu.configure({ openai: { mode } });
  return harness().run(planner(emu.openai(apiKey), model), input);
}

interface SentBody {
  response_format?: { type?: string };
  model?: string;
  temperature?: number;
  top_p?: number;
  reasoning_effort?: string;
}

test('structured output with the default model (gpt-6-luna, reasoning): N scenes, low effort, no temperature', async () => {
  const result = await plan('ok');
  assert.equal(result.planner, 'openai');
  assert.equal(result.note, undefined);
  assert.equal(result.scenes.length, INPUT.scenes);
  assert.equal(new Set(result.scenes).size, INPUT.scenes, 'scenes are distinct');
  for (const s of result.scenes) assert.ok(s.trim().length > 0);
  const body = emu.state.openai.lastBody as SentBody;
  assert.equal(body.response_format?.type, 'json_schema');
  assert.equal(body.model, 'gpt-6-luna');
  assert.equal(body.reasoning_effort, 'low');
  // The emulator answers 400 unsupported_parameter to these, as OpenAI does for reasoning models.
  assert.ok(!('temperature' in body) && !('top_p' in body), 'no sampling parameters for a reasoning model');
  assert.equal(emu.state.openai.chatCompletions, 1);
});

test('a storyboard plan (look: true) carries the shared look from the model; a plain plan asks for none', async () => {
  const result = await plan('ok', { ...INPUT, look: true });
  assert.equal(result.planner, 'openai');
  assert.equal(result.scenes.length, INPUT.scenes);
  for (const field of ['character', 'setting', 'light', 'lens'] as const) {
    assert.ok((result.look?.[field] ?? '').trim().length > 0, `look.${field} is written`);
  }
  assert.match(JSON.stringify(emu.state.openai.lastBody), /"look"/);
  const plain = await plan('ok');
  assert.equal(plain.look, undefined);
  assert.doesNotMatch(JSON.stringify(emu.state.openai.lastBody), /"look"/);
});

test('gpt-4o-mini (not reasoning) still plans: a temperature, no reasoning_effort (which it refuses)', async () => {
  const result = await plan('ok', INPUT, OPENAI_KEY, 'gpt-4o-mini');
  assert.equal(result.planner, 'openai');
  assert.equal(result.scenes.length, INPUT.scenes);
  const body = emu.state.openai.lastBody as SentBody;
  assert.equal(body.model, 'gpt-4o-mini');
  assert.equal(body.temperature, 0.7);
  assert.ok(!('reasoning_effort' in body));
});

test('a model that does not exist: ProviderRejected (404), non-retryable, so the workflow falls back at once', async () => {
  const err = await expectFailure(plan('ok', INPUT, OPENAI_KEY, 'gpt-9-nonexistent'), 'ProviderRejected');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /404/);
});

test('a scene over the video model limit is shortened at a word boundary before approval, and the note says so', async () => {
  const result = await plan('longScene');
  assert.equal(result.planner, 'openai', 'one long scene does not throw the whole plan away');
  assert.equal(result.scenes.length, INPUT.scenes);
  for (const s of result.scenes) assert.ok(s.length <= INPUT.maxScenePromptChars, `scene of ${s.length} characters`);
  const long = result.scenes[2] ?? '';
  assert.ok(long.length > INPUT.maxScenePromptChars - 120, `kept most of it (${long.length})`);
  assert.match(long, /\p{L}…$/u, 'cut after a whole word, marked');
  assert.match(long, /lighthouse keeper/, 'the subject at the start survives');
  assert.match(result.note ?? '', /scene 3 shortened to the model's 2500-character prompt limit/);
  // Before: the zod limit made this plan unusable, and the plain split took its place.
});

test('a smaller model limit is applied the same way (the limit comes from the input, i.e. the model table)', async () => {
  const result = await plan('longScene', { ...INPUT, maxScenePromptChars: 300 });
  for (const s of result.scenes) assert.ok(s.length <= 300, `scene of ${s.length} characters: ${s}`);
  assert.match(result.note ?? '', /scene 3 shortened to the model's 300-character prompt limit/);
});

for (const mode of ['fenced', 'prose'] as const) {
  test(`${mode} JSON is extracted and used`, async () => {
    const result = await plan(mode, { ...INPUT, scenes: 3 });
    assert.equal(result.planner, 'openai');
    assert.equal(result.scenes.length, 3);
    assert.ok(!result.scenes.some((s) => s.includes('```') || s.includes('{')), 'no JSON syntax leaked into a scene');
  });
}

const unusable: [OpenAIMode, RegExp][] = [
  ['garbage', /no JSON object found/],
  ['wrongCount', /expected exactly 4 scenes/],
  ['refusal', /refused/],
  ['length', /cut off \(finish_reason=length\)/],
  ['contentFilter', /content filter/],
];
for (const [mode, reason] of unusable) {
  test(`${mode}: falls back to the plain split with a note naming the reason`, async () => {
    const result = await plan(mode);
    assert.equal(result.planner, 'fallback');
    assert.match(result.note ?? '', reason);
    assert.equal(result.scenes.length, INPUT.scenes);
    assert.deepEqual(result.scenes, fallbackScenes(INPUT.prompt, INPUT.scenes, INPUT.maxScenePromptChars));
  });
}

test('an unusable answer for a 4,000-character prompt falls back to scenes that each fit the model', async () => {
  const prompt = `A lighthouse keeper ${'climbs the winding iron stairs slowly '.repeat(110)}`.slice(0, 4000);
  const result = await plan('garbage', { ...INPUT, prompt, scenes: 3 });
  assert.equal(result.planner, 'fallback');
  assert.equal(result.scenes.length, 3);
  for (const s of result.scenes) assert.ok(s.length <= INPUT.maxScenePromptChars, `scene of ${s.length} characters`);
});

test('401: ProviderAuth, non-retryable, names OPENAI_API_KEY and .env, never contains the key', async () => {
  const err = await expectFailure(plan('unauthorized'), 'ProviderAuth');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /OPENAI_API_KEY/);
  assert.match(err.message, /check your \.env/);
  assert.ok(!err.message.includes(OPENAI_KEY), 'the key must not be in the message');
  assert.ok(!err.message.includes(OPENAI_KEY.slice(8, -4)), 'not even the middle of the key');
});

test('401 for a revoked key (rejectKey) says the same', async () => {
  emu.configure({ openai: { rejectKey: 'sk-revoked-0000000000000000' } });
  const err = await expectFailure(plan('ok', INPUT, 'sk-revoked-0000000000000000'), 'ProviderAuth');
  assert.ok(!err.message.includes('sk-revoked-0000000000000000'));
});

test('429: RateLimited, retryable, nextRetryDelay from Retry-After; the client did not retry by itself', async () => {
  emu.configure({ openai: { retryAfterSeconds: 7 } });
  const err = await expectFailure(plan('rateLimited'), 'RateLimited');
  assert.equal(err.nonRetryable, false);
  assert.equal(err.nextRetryDelay, 7000);
  assert.equal(emu.state.openai.requests, 1);
});

test('insufficient_quota: QuotaExceeded, non-retryable (billing, not rate)', async () => {
  const err = await expectFailure(plan('quota'), 'QuotaExceeded');
  assert.equal(err.nonRetryable, true);
  assert.equal(err.nextRetryDelay, undefined);
});

test('500: ProviderUnavailable, retryable', async () => {
  const err = await expectFailure(plan('serverError'), 'ProviderUnavailable');
  assert.equal(err.nonRetryable, false);
  assert.equal(emu.state.openai.requests, 1);
});

test('no client (no OPENAI_API_KEY): ConfigMissing, non-retryable, nothing sent', async () => {
  const err = await expectFailure(harness().run(planner(undefined), INPUT), 'ConfigMissing');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /OPENAI_API_KEY/);
  assert.equal(emu.state.openai.requests, 0);
});

test('cancellation aborts the request in flight and is reported as a cancellation, not a failure', async () => {
  emu.configure({ openai: { latencyMs: 2000 } });
  const h = harness();
  const started = Date.now();
  const p = h.run(planner(emu.openai()), INPUT);
  setTimeout(() => h.cancel('CANCELLED', { cancelRequested: true }), 100);
  // Temporal reports an attempt as cancelled only for a CancelledFailure (or an AbortError); anything
  // else becomes a retryable failure named after its class.
  await assert.rejects(p, (err: unknown) => err instanceof CancelledFailure);
  assert.ok(Date.now() - started < 1500, 'did not wait for the answer');
});
