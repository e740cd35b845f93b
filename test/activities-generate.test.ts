/**
 * generateClip against the Replicate emulator with the real `replicate` client and our fetch
 * wrapper: the lifecycle, resuming and adopting instead of paying twice, the failure catalogue,
 * 429s waited out without a tight loop, cancellation that cancels at Replicate only when the run asked for it,
 * and the per-worker cap on concurrent generations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledFailure } from '@temporalio/activity';
import type { Info } from '@temporalio/activity';
import { createGenerateActivities, MAX_MODEL_ATTEMPTS, PROVIDER_ERROR_BUDGET_MS } from '../src/activities/generate';
import type { GenerateDeps } from '../src/activities/generate';
import { fromReplicateError } from '../src/providers/errors';
import { KLING_MODEL } from '../src/emulators';
import type { PredictionJson } from '../src/emulators';
import type { GenerateClipInput, GenerateClipResult } from '../src/shared/schemas';
import { REPLICATE_TOKEN, harness, useEmulators, waitUntil } from './helpers/activity-env';
import type { Harness } from './helpers/activity-env';
import { expectFailure } from './helpers/failures';

const emu = useEmulators({
  eachTest: { replicate: { startingMs: 50, processingMs: 250, clipWidth: 320, clipHeight: 180 } },
});

const INPUT: GenerateClipInput = {
  workflowId: 'gen-test',
  sceneIndex: 1,
  sceneCount: 3,
  prompt: 'A red kite over green hills at noon, slow dolly-in',
  model: 'kling-v2.5-turbo-pro',
  seconds: 5,
  aspectRatio: '16:9',
};
/** What Kling receives for INPUT: its real field names. */
const KLING_INPUT = { prompt: INPUT.prompt, duration: 5, aspect_ratio: '16:9' };

/** The activity as a plain function (as the worker calls it), with fast polling. */
function activities(deps: Partial<GenerateDeps> = {}, token = REPLICATE_TOKEN) {
  const acts = createGenerateActivities({
    replicate: emu.replicate(token),
    pollIntervalMs: 20,
    maxPollIntervalMs: 40,
    ...deps,
  });
  return { generateClip: (input: GenerateClipInput) => acts.generateClip(input) };
}

function generate(
  input: GenerateClipInput = INPUT,
  info: Partial<Info> = {},
  deps: Partial<GenerateDeps> = {},
): { h: Harness; result: Promise<GenerateClipResult> } {
  const h = harness(info);
  const { generateClip } = activities(deps);
  return { h, result: h.run(generateClip, input) };
}

const rep = () => emu.state.replicate;
const only = (): PredictionJson => {
  const ps = rep().predictions;
  assert.equal(ps.length, 1, 'exactly one prediction exists');
  return ps[0]!;
};
/** A prediction made straight at the emulator, as a crashed attempt would have left it. */
const createDirect = (input: Record<string, unknown> = KLING_INPUT) =>
  emu.replicate().predictions.create({ model: KLING_MODEL, input });

const lastHeartbeat = (h: Harness): unknown => h.heartbeats.at(-1);

test('lifecycle: creates one prediction with Kling fields and Cancel-After, heartbeats its id before polling', async () => {
  let getsWhenIdRecorded: number | undefined;
  const h = harness();
  h.env.on('heartbeat', (d: { predictionId?: string } | undefined) => {
    if (d?.predictionId && getsWhenIdRecorded === undefined) getsWhenIdRecorded = rep().requests.get;
  });
  const { generateClip } = activities({ predictionDeadlineSeconds: 900 });
  const result = await h.run(generateClip, INPUT);

  const p = only();
  assert.equal(p.status, 'succeeded');
  assert.ok(p.output);
  assert.deepEqual(result, { predictionId: p.id, outputUrl: p.output });
  assert.match(result.outputUrl, new RegExp(`/replicate/files/${p.id}/output\\.mp4$`));
  assert.deepEqual(p.input, KLING_INPUT);
  assert.equal(p.model, KLING_MODEL);
  assert.ok(p.deadline, 'the emulator recorded a Cancel-After deadline');
  const deadlineSecs = (Date.parse(p.deadline) - Date.parse(p.created_at)) / 1000;
  assert.ok(Math.abs(deadlineSecs - 900) < 2, `deadline is ${deadlineSecs} s after creation`);

  assert.deepEqual(
    Object.keys(h.heartbeats[0] as object).sort(),
    ['creatingSince', 'sceneIndex'],
    'creatingSince before the create',
  );
  assert.equal(getsWhenIdRecorded, 0, 'the prediction id was heartbeated before the first poll');
  assert.ok(rep().requests.get >= 1);
  assert.deepEqual(lastHeartbeat(h), { predictionId: p.id, status: 'succeeded', sceneIndex: 1 });
  assert.equal(rep().requests.create, 1);
});

test('resume: heartbeatDetails {predictionId} polls that prediction and creates none', async () => {
  const existing = await createDirect();
  const { h, result } = generate(INPUT, { attempt: 2, heartbeatDetails: { predictionId: existing.id } });
  const r = await result;
  assert.equal(r.predictionId, existing.id);
  assert.equal(rep().predictionsCreated, 1, 'no second prediction');
  assert.equal(rep().requests.create, 1, 'only the direct create');
  assert.ok(h.messages().some((m) => m.includes(`resuming prediction ${existing.id}`)));
});

test('adopt: predictions with identical input but not our key (other runs, the web UI) are never adopted', async () => {
  await createDirect();
  await createDirect();
  const { result } = generate(INPUT, { attempt: 2, heartbeatDetails: { creatingSince: new Date().toISOString() } });
  const r = await result;
  assert.equal(rep().predictionsCreated, 3, 'a prediction of its own was paid for');
  assert.equal(r.predictionId, rep().predictions[2]!.id);
  assert.ok(rep().requests.list >= 1, 'it did look');
});

test(`the model's ${MAX_MODEL_ATTEMPTS}rd failure of a scene is final, counted through the heartbeat`, async () => {
  emu.configure({ replicate: { nextOutcome: Array.from({ length: MAX_MODEL_ATTEMPTS }, () => 'failed' as const) } });
  let details: unknown;
  for (let failure = 1; failure <= MAX_MODEL_ATTEMPTS; failure++) {
    const run = generate(INPUT, { attempt: failure, ...(details ? { heartbeatDetails: details } : {}) });
    const err = await expectFailure(run.result, 'PredictionFailed');
    const final = failure === MAX_MODEL_ATTEMPTS;
    assert.equal(err.nonRetryable, final, `failure ${failure}`);
    if (final)
      assert.match(err.message, new RegExp(`failure ${MAX_MODEL_ATTEMPTS} of ${MAX_MODEL_ATTEMPTS}: giving up`));
    details = lastHeartbeat(run.h);
    assert.equal((details as { modelFailures?: number }).modelFailures, failure > 1 ? failure - 1 : undefined);
  }
  assert.equal(rep().predictionsCreated, MAX_MODEL_ATTEMPTS, 'one prediction paid per model failure');
});

test('crashes and handovers do not spend the model budget: attempt 7 resuming a live prediction that fails is retried', async () => {
  emu.configure({ replicate: { nextOutcome: ['failed'] } });
  const first = generate();
  await expectFailure(first.result, 'PredictionFailed');
  // Six crashed or handed-over attempts later, the retry resumes that (failed) prediction, pays
  // for a new one, and that one fails too: only the second failure of the model.
  emu.configure({ replicate: { nextOutcome: ['failed'] } });
  const late = generate(INPUT, { attempt: 7, heartbeatDetails: lastHeartbeat(first.h) });
  const err = await expectFailure(late.result, 'PredictionFailed');
  assert.equal(err.nonRetryable, false, 'by attempt number this would have been final');
  assert.equal((lastHeartbeat(late.h) as { modelFailures?: number }).modelFailures, 1);
});

test('failed: PredictionFailed, retryable; a retry with that id in its heartbeat pays for a new prediction', async () => {
  emu.configure({ replicate: { nextOutcome: ['failed'] } });
  const first = generate();
  const err = await expectFailure(first.result, 'PredictionFailed');
  assert.equal(err.nonRetryable, false);
  const failedId = only().id;
  assert.match(err.message, new RegExp(failedId));
  assert.deepEqual(lastHeartbeat(first.h), { predictionId: failedId, status: 'failed', sceneIndex: 1 });

  const retry = generate(INPUT, { attempt: 2, heartbeatDetails: lastHeartbeat(first.h) });
  const r = await retry.result;
  assert.equal(rep().predictionsCreated, 2);
  assert.notEqual(r.predictionId, failedId);
});

test('flagged (E005): ContentFlagged, non-retryable', async () => {
  emu.configure({ replicate: { outcome: 'flagged' } });
  const err = await expectFailure(generate().result, 'ContentFlagged');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /E005/);
});

for (const outcome of ['aborted', 'canceled'] as const) {
  test(`${outcome} at Replicate: PredictionCanceled`, async () => {
    emu.configure({ replicate: { outcome } });
    const err = await expectFailure(generate().result, 'PredictionCanceled');
    assert.match(err.message, new RegExp(`was ${outcome}`));
    assert.equal(only().status, outcome);
  });
}

test('401: ProviderAuth, non-retryable, says to check .env, never contains the token', async () => {
  emu.configure({ replicate: { rejectToken: REPLICATE_TOKEN } });
  const err = await expectFailure(generate().result, 'ProviderAuth');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /^REPLICATE_API_TOKEN was rejected \(401\): check your \.env/);
  assert.ok(!err.message.includes(REPLICATE_TOKEN));
  assert.equal(rep().predictionsCreated, 0);
});

test('422 from Replicate (a duration Kling does not take): ProviderRejected, non-retryable, names the field', async () => {
  const err = await expectFailure(generate({ ...INPUT, seconds: 7 }).result, 'ProviderRejected');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /422/);
  assert.match(err.message, /input\.duration/);
  assert.equal(rep().predictionsCreated, 0);
});

test('422 for a 2501-character prompt sent straight to the emulator maps to ProviderRejected', async () => {
  let caught: unknown;
  try {
    await createDirect({ ...KLING_INPUT, prompt: 'x'.repeat(2501) });
  } catch (err) {
    caught = err;
  }
  const mapped = fromReplicateError(caught);
  assert.equal(mapped?.type, 'ProviderRejected');
  assert.equal(mapped.nonRetryable, true);
  assert.match(mapped.message, /String length must be less than or equal to 2500/);
});

test('a prompt over 2500 characters is refused by the activity itself (InvalidInput), nothing sent', async () => {
  const err = await expectFailure(generate({ ...INPUT, prompt: 'y'.repeat(2501) }).result, 'InvalidInput');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /2501 characters/);
  assert.equal(rep().requests.create, 0);
});

test('429s on create are waited out in the attempt (Retry-After, heartbeating): one attempt, one prediction', async () => {
  emu.configure({ replicate: { nextCreate: ['rateLimited', 'rateLimited'], retryAfterSeconds: 1 } });
  const started = Date.now();
  const { h, result } = generate();
  const r = await result;
  const waited = Date.now() - started;
  assert.equal(r.predictionId, only().id, 'the attempt itself got its clip: no attempt spent on the 429s');
  assert.equal(rep().requests.create, 3, "two 429s, then the create; the client's own tight retry loop stays disarmed");
  assert.equal(rep().predictionsCreated, 1);
  assert.equal(rep().faultsServed.filter((f) => f === 'create:rateLimited').length, 2);
  assert.ok(waited >= 2000, `Retry-After: 1 honoured twice, waited ${waited} ms`);
  const creating = h.heartbeats.filter((b) => (b as { creatingSince?: string } | undefined)?.creatingSince);
  assert.ok(creating.length >= 2, `heartbeats while waiting out the 429s: ${creating.length}`);
});

test('429s on create past the budget: RateLimited (retryable), no prediction', async () => {
  emu.configure({ replicate: { fault: 'rateLimited', retryAfterSeconds: 1 } });
  const err = await expectFailure(generate(INPUT, {}, { providerErrorBudgetMs: 1500 }).result, 'RateLimited');
  assert.equal(err.nonRetryable, false);
  assert.match(err.message, /create: Replicate kept failing/);
  assert.ok(rep().requests.create >= 2, `the create was asked again: ${rep().requests.create}`);
  assert.equal(rep().predictionsCreated, 0);
});

test('402 on create (out of credit): QuotaExceeded, non-retryable', async () => {
  emu.configure({ replicate: { nextCreate: ['paymentRequired'] } });
  const err = await expectFailure(generate().result, 'QuotaExceeded');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /402/);
  assert.equal(rep().predictionsCreated, 0);
});

test('503 on create: ProviderUnavailable, retryable, one request and no prediction', async () => {
  emu.configure({ replicate: { nextCreate: ['unavailable'] } });
  const err = await expectFailure(generate().result, 'ProviderUnavailable');
  assert.equal(err.nonRetryable, false);
  assert.equal(rep().requests.create, 1);
  assert.equal(rep().predictionsCreated, 0);
});

// ---- provider errors while polling: ridden out, attempts are for crashes ------------------------

/** A Replicate outage of `ms` on `routes`, starting now. */
const outage = (
  ms: number,
  routes: ('get' | 'list')[] = ['get'],
  fault: 'unavailable' | 'serverError' | 'rateLimited' | 'drop' = 'unavailable',
) => emu.configure({ replicate: { outageUntil: Date.now() + ms, outageRoutes: routes, outageFault: fault } });
const faults = (what: string) => rep().faultsServed.filter((f) => f === what).length;

test('a 3 s outage of 503s while polling: the attempt rides it out, one prediction, no failure', async () => {
  emu.configure({ replicate: { processingMs: 600, retryAfterSeconds: 0 } });
  const { h, result } = generate(INPUT, {}, { maxErrorBackoffMs: 200 });
  await waitUntil(() => rep().predictionsCreated === 1, 2000, 'the create');
  outage(3000);
  const started = Date.now();
  const r = await result;
  assert.ok(Date.now() - started >= 2900, 'it succeeded only after the outage');
  assert.equal(r.predictionId, only().id);
  assert.equal(rep().predictionsCreated, 1);
  assert.ok(faults('get:unavailable') >= 5, `rode out ${faults('get:unavailable')} errors`);
  assert.ok(h.messages().some((m) => /answered again after \d+ errors/.test(m)));
  const waitingBeats = h.heartbeats.filter((d) => (d as { predictionId?: string }).predictionId === r.predictionId);
  assert.ok(waitingBeats.length >= 5, 'heartbeated with the id while waiting');
});

test('network drops and 500s while polling are ridden out too', async () => {
  emu.configure({ replicate: { processingMs: 2000 } });
  const { result } = generate(INPUT, {}, { maxErrorBackoffMs: 100 });
  await waitUntil(() => rep().predictionsCreated === 1, 2000, 'the create');
  outage(600, ['get'], 'drop');
  await new Promise((r) => setTimeout(r, 650));
  outage(600, ['get'], 'serverError');
  await result;
  assert.ok(faults('get:drop') >= 1 && faults('get:serverError') >= 1, rep().faultsServed.join(','));
  assert.equal(rep().predictionsCreated, 1);
});

test('429 while polling: the attempt waits the Retry-After and polls on; no failure, no tight loop', async () => {
  emu.configure({ replicate: { processingMs: 300, retryAfterSeconds: 1 } });
  const { result } = generate();
  await waitUntil(() => rep().predictionsCreated === 1, 2000, 'the create');
  outage(2500, ['get'], 'rateLimited');
  const r = await result;
  assert.equal(r.predictionId, only().id);
  const limited = faults('get:rateLimited');
  assert.ok(limited >= 2 && limited <= 4, `${limited} throttled polls in 2.5 s with Retry-After: 1`);
});

test('an outage longer than the budget fails the attempt (retryable, id kept); the retry resumes the prediction', async () => {
  emu.configure({ replicate: { processingMs: 300, retryAfterSeconds: 0 } });
  const first = generate(INPUT, {}, { providerErrorBudgetMs: 500, maxErrorBackoffMs: 100 });
  await waitUntil(() => rep().predictionsCreated === 1, 2000, 'the create');
  outage(1500);
  const err = await expectFailure(first.result, 'ProviderUnavailable');
  assert.equal(err.nonRetryable, false);
  assert.match(err.message, /kept failing for \d+ s/);
  const details = lastHeartbeat(first.h) as { predictionId?: string };
  assert.equal(details.predictionId, only().id);
  await new Promise((r) => setTimeout(r, 1100));
  const r = await generate(INPUT, { attempt: 2, heartbeatDetails: details }).result;
  assert.equal(r.predictionId, details.predictionId);
  assert.equal(rep().predictionsCreated, 1);
});

test('a 401 while polling is not ridden out: ProviderAuth at once', async () => {
  emu.configure({ replicate: { processingMs: 2000 } });
  const { result } = generate();
  await waitUntil(() => rep().predictionsCreated === 1, 2000, 'the create');
  emu.configure({ replicate: { nextGet: ['unauthorized'] } });
  await expectFailure(result, 'ProviderAuth');
});

test('a list outage while a retry searches for its prediction is ridden out too', async () => {
  emu.configure({ replicate: { retryAfterSeconds: 0 } });
  outage(1000, ['list']);
  const r = await generate(INPUT, { attempt: 2 }, { maxErrorBackoffMs: 100 }).result;
  assert.ok(faults('list:unavailable') >= 2);
  assert.equal(r.predictionId, only().id);
});

test('the default budget rides out a 2-minute outage and ends within 15 minutes', () => {
  assert.ok(PROVIDER_ERROR_BUDGET_MS >= 2 * 60_000 && PROVIDER_ERROR_BUDGET_MS <= 15 * 60_000);
});

test('drop on create (prediction made, answer lost): retryable failure, one prediction; the retry adopts it', async () => {
  emu.configure({ replicate: { nextCreate: ['drop'] } });
  const first = generate();
  const err = await expectFailure(first.result, 'ProviderUnavailable');
  assert.equal(err.nonRetryable, false);
  assert.equal(rep().requests.create, 1, 'no blind re-send of the create');
  assert.equal(rep().predictionsCreated, 1);
  const details = lastHeartbeat(first.h) as { creatingSince?: string; predictionId?: string };
  assert.ok(details.creatingSince && !details.predictionId);

  const retry = generate(INPUT, { attempt: 2, heartbeatDetails: details });
  const r = await retry.result;
  assert.equal(r.predictionId, only().id, 'adopted, no second prediction');
  assert.equal(rep().requests.create, 1);
});

async function startLongGeneration(): Promise<{ h: Harness; result: Promise<GenerateClipResult>; id: string }> {
  emu.configure({ replicate: { processingMs: 20_000 } });
  const { h, result } = generate();
  result.catch(() => undefined); // checked by the caller
  await waitUntil(() => h.heartbeats.some((d) => (d as { predictionId?: string }).predictionId), 3000, 'the id');
  return { h, result, id: only().id };
}

test('cancellation requested by the run: the prediction is cancelled at Replicate within a second', async () => {
  const { h, result, id } = await startLongGeneration();
  const cancelledAt = Date.now();
  h.cancel('CANCELLED', { cancelRequested: true });
  await assert.rejects(result, (err: unknown) => err instanceof CancelledFailure);
  await waitUntil(() => rep().predictions[0]?.status === 'canceled', 1000, 'the prediction to be canceled');
  assert.ok(Date.now() - cancelledAt < 1000);
  assert.equal(rep().cancels, 1);
  assert.equal(only().id, id);
});

test('cancellation requested while the create is in flight: the prediction it made is found and cancelled', async () => {
  emu.configure({ replicate: { latencyMs: 300, processingMs: 20_000 } });
  const { h, result } = generate(INPUT, {}, { lateCreateGraceMs: 2000 });
  result.catch(() => undefined); // checked below
  await waitUntil(() => rep().requests.create === 1, 2000, 'the create request');
  h.cancel('CANCELLED', { cancelRequested: true });
  await assert.rejects(result);
  assert.equal(rep().predictionsCreated, 1, 'the aborted create still made one');
  assert.equal(only().status, 'canceled');
  assert.ok(h.messages().some((m) => m.includes('cancelled while it was being created')));
});

test('worker shutdown while the create is in flight: the prediction is left for the retry to adopt', async () => {
  emu.configure({ replicate: { latencyMs: 300, processingMs: 20_000 } });
  const { h, result } = generate(INPUT, {}, { lateCreateGraceMs: 2000 });
  result.catch(() => undefined); // checked below
  await waitUntil(() => rep().requests.create === 1, 2000, 'the create request');
  h.cancel('WORKER_SHUTDOWN', { workerShutdown: true });
  await assert.rejects(result);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(rep().cancels, 0);
  emu.configure({ replicate: { latencyMs: 0 } });
  const retry = generate(INPUT, { attempt: 2, heartbeatDetails: lastHeartbeat(h) });
  retry.result.catch(() => undefined);
  await waitUntil(() => retry.h.messages().some((m) => m.includes('adopted prediction')), 2000, 'adoption');
  retry.h.cancel('WORKER_SHUTDOWN', { workerShutdown: true });
  await assert.rejects(retry.result);
  assert.equal(rep().predictionsCreated, 1);
});

test('cancellation by a worker shutdown: the prediction lives on for the next attempt', async () => {
  const { h, result } = await startLongGeneration();
  h.cancel('WORKER_SHUTDOWN', { workerShutdown: true });
  await assert.rejects(result, (err: unknown) => err instanceof CancelledFailure);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(rep().cancels, 0);
  assert.ok(['starting', 'processing'].includes(only().status));
  assert.ok(h.messages().some((m) => m.includes('lives on for the next attempt')));
});

test('cancellation by a timeout: the prediction lives on too', async () => {
  const { h, result } = await startLongGeneration();
  h.cancel('TIMED_OUT', { timedOut: true });
  await assert.rejects(result);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(rep().cancels, 0);
});

// ---- the per-worker cap -------------------------------------------------------------------------

test('cap 1: a second generation waits (heartbeating, logging) and creates only after the first finished', async () => {
  emu.configure({ replicate: { processingMs: 400 } });
  const { generateClip } = activities({ maxConcurrentGenerations: 1 });
  const h1 = harness();
  const h2 = harness({ heartbeatDetails: undefined });
  const p1 = h1.run(generateClip, INPUT);
  let firstDoneAt = 0;
  void p1.then(() => (firstDoneAt = Date.now()));
  await waitUntil(() => rep().predictionsCreated === 1, 3000, 'the first create');
  const p2 = h2.run(generateClip, { ...INPUT, sceneIndex: 2, prompt: 'A blue boat on a calm lake' });
  const [r1, r2] = await Promise.all([p1, p2]);

  assert.notEqual(r1.predictionId, r2.predictionId);
  const second = rep().predictions.find((p) => p.id === r2.predictionId)!;
  assert.ok(Date.parse(second.created_at) >= firstDoneAt - 5, 'created after the first one finished');
  assert.ok(h2.messages().some((m) => m === 'scene 2/3: waiting for a generation slot (1 in use)'));
  const waitingBeats = h2.heartbeats.filter((d) => d === undefined).length;
  assert.ok(waitingBeats >= 3, `heartbeated while waiting (${waitingBeats})`);
  assert.ok(!h1.messages().some((m) => m.includes('waiting for a generation slot')));
});

test('an unusable cap (NaN from a bad setting) falls back to the default instead of no limit', async () => {
  emu.configure({ replicate: { processingMs: 400 } });
  const { generateClip } = activities({ maxConcurrentGenerations: Number('eight') });
  const hs = Array.from({ length: 9 }, () => harness());
  const runs = hs.map((h, i) => h.run(generateClip, { ...INPUT, sceneIndex: i + 1, prompt: `prompt ${i}` }));
  await waitUntil(() => rep().predictionsCreated === 8, 3000, 'eight creates');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(rep().predictionsCreated, 8, 'the ninth waits');
  await Promise.all(runs);
});

test('cap 2: two run at once, the third waits', async () => {
  emu.configure({ replicate: { processingMs: 400 } });
  const { generateClip } = activities({ maxConcurrentGenerations: 2 });
  const hs = [harness(), harness(), harness()];
  const runs = hs.map((h, i) => h.run(generateClip, { ...INPUT, sceneIndex: i + 1, prompt: `scene number ${i}` }));
  await waitUntil(() => rep().predictionsCreated === 2, 3000, 'two creates');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(rep().predictionsCreated, 2, 'the third is held back');
  await Promise.all(runs);
  assert.equal(rep().predictionsCreated, 3);
  assert.ok(hs[2]!.messages().some((m) => m.includes('waiting for a generation slot (2 in use)')));
});

test('cap: a waiting resume keeps the previous heartbeat, so a crash while waiting still resumes', async () => {
  emu.configure({ replicate: { processingMs: 400 } });
  const existing = await createDirect({ ...KLING_INPUT, prompt: 'resumed scene' });
  const { generateClip } = activities({ maxConcurrentGenerations: 1 });
  const h1 = harness();
  const p1 = h1.run(generateClip, INPUT);
  await waitUntil(() => rep().predictionsCreated === 2, 3000, 'the first create');
  const details = { predictionId: existing.id, status: 'processing' };
  const h2 = harness({ attempt: 2, heartbeatDetails: details });
  const p2 = h2.run(generateClip, { ...INPUT, prompt: 'resumed scene' });
  await waitUntil(() => h2.heartbeats.length >= 2, 3000, 'waiting heartbeats');
  assert.deepEqual(h2.heartbeats[0], details);
  const [, r2] = await Promise.all([p1, p2]);
  assert.equal(r2.predictionId, existing.id);
  assert.equal(rep().predictionsCreated, 2);
});

test('cap: a failure releases the slot; a cancelled waiter gives up its place', async () => {
  emu.configure({ replicate: { processingMs: 300, nextOutcome: ['flagged'] } });
  const { generateClip } = activities({ maxConcurrentGenerations: 1 });
  const h1 = harness();
  const h2 = harness();
  const h3 = harness();
  const p1 = h1.run(generateClip, INPUT);
  p1.catch(() => undefined); // checked below
  await waitUntil(() => rep().predictionsCreated === 1, 3000, 'the first create');
  const p2 = h2.run(generateClip, { ...INPUT, prompt: 'two' });
  p2.catch(() => undefined); // checked below
  const p3 = h3.run(generateClip, { ...INPUT, prompt: 'three' });
  await waitUntil(() => h2.messages().some((m) => m.includes('waiting for a generation slot')), 2000, 'h2 waiting');
  h2.cancel('CANCELLED', { cancelRequested: true });
  await assert.rejects(p2, (err: unknown) => err instanceof CancelledFailure);
  await expectFailure(p1, 'ContentFlagged');
  const r3 = await p3;
  assert.equal(rep().predictionsCreated, 2, 'the cancelled waiter never created one');
  assert.equal(rep().predictions[1]!.id, r3.predictionId);
});
