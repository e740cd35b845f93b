/**
 * generateClip while its prediction runs: provider errors while polling are ridden out (attempts
 * are for crashes), and cancellation cancels at Replicate only when the run asked for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledFailure } from '@temporalio/activity';
import { PROVIDER_ERROR_BUDGET_MS } from '../src/activities/generate';
import type { GenerateClipResult } from '../src/shared/schemas';
import { waitUntil } from './helpers/activity-env';
import type { Harness } from './helpers/activity-env';
import { expectFailure } from './helpers/failures';
import { INPUT, lastHeartbeat, useGenerateKit } from './helpers/generate-kit';

const { emu, generate, rep, only } = useGenerateKit();

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
