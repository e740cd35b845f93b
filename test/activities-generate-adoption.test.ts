/**
 * Exact adoption: a generate attempt that cannot know its prediction's id (a crash between the
 * create request and the heartbeat that records the id, a heartbeat held back by the throttle, a
 * reset run that starts without heartbeat details) finds the prediction by the generation key its
 * webhook URL carries (workflow, scene, generation, try), never by matching input. Against the
 * Replicate emulator with the real client, in MockActivityEnvironment.
 *
 * A "crash between create and heartbeat" is made the way it happens: the emulator holds the create
 * answer after the prediction exists, and the attempt is cancelled by a worker shutdown meanwhile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Info } from '@temporalio/activity';
import { EnvSchema } from '../src/config';
import type { PredictionJson } from '../src/emulators';
import type { GenerateClipInput } from '../src/shared/schemas';
import { waitUntil } from './helpers/activity-env';
import { useGenerateKit } from './helpers/generate-kit';

const { emu, generate, rep } = useGenerateKit();

/** When the runs of these tests "started": the search for a run's predictions begins here. */
const RUN_STARTED_AT = new Date(Date.now() - 60_000).toISOString();

const INPUT: GenerateClipInput = {
  workflowId: 'adopt-run-a',
  sceneIndex: 1,
  sceneCount: 3,
  prompt: 'A lighthouse in a winter storm, waves breaking, slow pan',
  model: 'kling-v2.5-turbo-pro',
  seconds: 5,
  aspectRatio: '16:9',
  runStartedAt: RUN_STARTED_AT,
};

const byId = (id: string): PredictionJson => {
  const p = rep().predictions.find((x) => x.id === id);
  assert.ok(p, `prediction ${id} exists`);
  return p;
};

/**
 * An attempt killed between "created at Replicate" and "id known": the emulator creates the
 * prediction and holds the answer; the worker shuts down meanwhile. Returns the last heartbeat
 * (what the server would hand the retry) and the id of the prediction that attempt paid for.
 */
async function interruptedCreate(
  input: GenerateClipInput = INPUT,
  info: Partial<Info> = {},
): Promise<{ details: unknown; id: string }> {
  const before = rep().predictionsCreated;
  emu.configure({ replicate: { createAnswerDelayMs: 5000 } });
  const { h, result } = generate(input, info);
  result.catch(() => undefined); // checked below
  await waitUntil(() => rep().predictionsCreated === before + 1, 3000, 'the prediction to exist');
  h.cancel('WORKER_SHUTDOWN', { workerShutdown: true });
  await assert.rejects(result);
  emu.configure({ replicate: { createAnswerDelayMs: 0 } });
  const details = h.heartbeats.at(-1);
  assert.ok(!(details as { predictionId?: string } | undefined)?.predictionId, 'the id never reached a heartbeat');
  return { details, id: rep().predictions.at(-1)!.id };
}

test('two runs with identical inputs, both interrupted between create and answer: each retry keeps its own', async () => {
  const runB = { ...INPUT, workflowId: 'adopt-run-b' };
  const a = await interruptedCreate(INPUT);
  const b = await interruptedCreate(runB);
  assert.notEqual(a.id, b.id);

  const ra = await generate(INPUT, { attempt: 2, heartbeatDetails: a.details }).result;
  const rb = await generate(runB, { attempt: 2, heartbeatDetails: b.details }).result;
  assert.equal(ra.predictionId, a.id, 'run A adopted the prediction run A paid for');
  assert.equal(rb.predictionId, b.id, 'run B adopted the prediction run B paid for');
  assert.equal(rep().predictionsCreated, 2, 'two paid, two used');
});

test('two identical scenes of one run do not adopt each other', async () => {
  const scene2 = { ...INPUT, sceneIndex: 2 };
  const one = await interruptedCreate(INPUT);
  const two = await interruptedCreate(scene2);
  const r2 = await generate(scene2, { attempt: 2, heartbeatDetails: two.details }).result;
  const r1 = await generate(INPUT, { attempt: 2, heartbeatDetails: one.details }).result;
  assert.deepEqual([r1.predictionId, r2.predictionId], [one.id, two.id]);
  assert.equal(rep().predictionsCreated, 2);
});

test('a worker clock 5 s ahead of Replicate still adopts its own prediction', async () => {
  emu.configure({ replicate: { clockSkewMs: -5000 } });
  const lost = await interruptedCreate();
  const r = await generate(INPUT, { attempt: 2, heartbeatDetails: lost.details }).result;
  assert.equal(r.predictionId, lost.id);
  assert.equal(rep().predictionsCreated, 1);
});

test('however many predictions the account made since: the search pages until the time bound', async () => {
  emu.configure({ replicate: { listPageSize: 5 } });
  const lost = await interruptedCreate();
  const other = emu.replicate();
  for (let i = 0; i < 22; i++) {
    await other.predictions.create({ model: 'kwaivgi/kling-v2.5-turbo-pro', input: { prompt: `other ${i}` } });
  }
  const r = await generate(INPUT, { attempt: 2, heartbeatDetails: lost.details }).result;
  assert.equal(r.predictionId, lost.id, 'found on the 5th page');
  assert.equal(rep().predictionsCreated, 23);
});

test('the creating marker lost (no heartbeat details at all): attempt 2 still finds its prediction by key', async () => {
  const lost = await interruptedCreate();
  const { h, result } = generate(INPUT, { attempt: 2 }); // heartbeatDetails: undefined
  const r = await result;
  assert.equal(r.predictionId, lost.id);
  assert.equal(rep().predictionsCreated, 1);
  assert.ok(h.messages().some((m) => m.includes(`adopted prediction ${lost.id}`)));
});

test('a reset run (mayExist, attempt 1, no heartbeat) resumes the prediction of the run it replaced', async () => {
  const replaced = await generate(INPUT).result; // the old run's generation, finished
  const { h, result } = generate({ ...INPUT, mayExist: true });
  const r = await result;
  assert.deepEqual(r, replaced, 'same prediction, same output');
  assert.equal(rep().predictionsCreated, 1, 'nothing paid again');
  assert.ok(h.messages().some((m) => m.includes(`adopted prediction ${replaced.predictionId}`)));
});

test('a first attempt of a run with no predecessor does not search at all', async () => {
  await generate(INPUT).result;
  assert.equal(rep().requests.list, 0);
  assert.equal(rep().predictionsCreated, 1);
});

test('a redo (next generation) never adopts the clip of the generation before, even with identical input', async () => {
  const gen0 = await generate(INPUT).result;
  const redo = { ...INPUT, generation: 1 };
  emu.configure({ replicate: { nextCreate: ['unavailable'] } }); // the redo's first create fails, nothing made
  const first = generate(redo);
  await assert.rejects(first.result);
  const r = await generate(redo, { attempt: 2, heartbeatDetails: first.h.heartbeats.at(-1) }).result;
  assert.notEqual(r.predictionId, gen0.predictionId, 'the redo is a new clip');
  assert.equal(rep().predictionsCreated, 2);
});

test('after a failed prediction, the next try is adopted by its own key, not paid again', async () => {
  emu.configure({ replicate: { nextOutcome: ['failed'] } });
  const first = generate(INPUT);
  await assert.rejects(first.result);
  const failedDetails = first.h.heartbeats.at(-1);
  // Attempt 2 pays for try 1, but is killed before its id is heartbeated: the server still holds
  // the heartbeat naming the failed prediction (the new marker was throttled away).
  const lost = await interruptedCreate(INPUT, { attempt: 2, heartbeatDetails: failedDetails });
  const r = await generate(INPUT, { attempt: 3, heartbeatDetails: failedDetails }).result;
  assert.equal(r.predictionId, lost.id);
  assert.equal(rep().predictionsCreated, 2, 'one failed, one adopted: none paid twice');
});

test('every prediction carries its generation key in a webhook that cannot resolve, completed events only', async () => {
  const r = await generate({ ...INPUT, generation: 2 }).result;
  const p = byId(r.predictionId);
  assert.ok(p.webhook, 'a webhook was sent');
  const url = new URL(p.webhook);
  assert.equal(url.origin, 'https://vidflow-adoption.invalid');
  assert.deepEqual(
    [...url.searchParams.entries()].filter(([k]) => k.startsWith('vidflow_')),
    [
      ['vidflow_ns', 'default'],
      ['vidflow_workflow', INPUT.workflowId],
      ['vidflow_scene', '1'],
      ['vidflow_gen', '2'],
      ['vidflow_try', '0'],
    ],
  );
  assert.deepEqual(p.webhook_events_filter, ['completed']);
});

test('a configured webhook URL is used as the base, its own query kept', async () => {
  const r = await generate(INPUT, {}, { webhookUrl: 'https://hooks.example.com/replicate?token=abc' }).result;
  const url = new URL(byId(r.predictionId).webhook!);
  assert.equal(`${url.origin}${url.pathname}`, 'https://hooks.example.com/replicate');
  assert.equal(url.searchParams.get('token'), 'abc');
  assert.equal(url.searchParams.get('vidflow_workflow'), INPUT.workflowId);
});

test('a prediction of our key created before the search bound is not adopted, and the search stops there', async () => {
  emu.configure({ replicate: { listPageSize: 2 } });
  await interruptedCreate();
  for (let i = 0; i < 6; i++) {
    await emu.replicate().predictions.create({
      model: 'kwaivgi/kling-v2.5-turbo-pro',
      input: { prompt: `older ${i}` },
    });
  }
  // A reset run whose chain started 20 minutes from now: everything above is older than its bound.
  const later = { ...INPUT, mayExist: true, runStartedAt: new Date(Date.now() + 20 * 60_000).toISOString() };
  const r = await generate(later).result;
  assert.equal(rep().predictionsCreated, 8, 'a new one was paid for');
  assert.equal(r.predictionId, rep().predictions.at(-1)!.id);
  assert.equal(rep().requests.list, 1, 'the first page was already older than the bound');
});

test('VIDFLOW_WEBHOOK_URL: https only, empty means unset', () => {
  assert.equal(EnvSchema.parse({ VIDFLOW_WEBHOOK_URL: ' ' }).VIDFLOW_WEBHOOK_URL, undefined);
  assert.equal(
    EnvSchema.parse({ VIDFLOW_WEBHOOK_URL: 'https://hooks.example.com/r?x=1' }).VIDFLOW_WEBHOOK_URL,
    'https://hooks.example.com/r?x=1',
  );
  const http = EnvSchema.safeParse({ VIDFLOW_WEBHOOK_URL: 'http://hooks.example.com/r' });
  assert.equal(http.success, false);
  assert.match(JSON.stringify(http.error?.issues), /https URL/);
});
