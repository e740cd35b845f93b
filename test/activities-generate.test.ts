/**
 * generateClip against the Replicate emulator with the real `replicate` client and our fetch
 * wrapper: the lifecycle, resuming and adopting instead of paying twice, the failure catalogue,
 * and errors on create (429s waited out without a tight loop, 402, 503, a dropped answer).
 * Outages while polling and cancellation: activities-generate-polling; the per-worker cap:
 * activities-generate-cap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MODEL_ATTEMPTS } from '../src/activities/generate';
import { KLING_MODEL } from '../src/emulators';
import { fromReplicateError } from '../src/providers/errors';
import { REPLICATE_TOKEN, harness } from './helpers/activity-env';
import { expectFailure } from './helpers/failures';
import { INPUT, KLING_INPUT, lastHeartbeat, useGenerateKit } from './helpers/generate-kit';

const { emu, activities, generate, rep, only, createDirect } = useGenerateKit();

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
