/**
 * Exact adoption with real processes: a `vidflow worker` is SIGKILLed while Replicate (the
 * emulator, in its own process) holds the answers to create requests whose predictions already
 * exist, so no heartbeat ever named them. A new worker must find each prediction by the generation
 * key in its webhook URL and adopt exactly its own: never another run's with the same prompt, and
 * without relying on the "creating" heartbeat, which the SDK's throttle may not have sent.
 *
 * Each kill costs generate's 30 s heartbeat timeout before the retry; the two cases run at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { startDevServer } from '../src/client/dev-server';
import type { DevServer } from '../src/client/dev-server';
import type { EmulatorState } from '../src/emulators';
import { keyOf } from '../src/providers/prediction-keys';
import {
  assertPaidOnceAndInPlace,
  describeActivities,
  emulatorState,
  freePort,
  resultWithHistory,
  seconds,
  startCase,
  startRun,
  waitForEmulator,
} from './helpers/crash';
import type { CrashCase } from './helpers/crash';
import { workflowBundle } from './helpers/temporal';
import { durationOf } from './helpers/video';

const SMALL = { startingMs: 300, processingMs: 3000, clipWidth: 320, clipHeight: 180 };
/** Longer than anything here: the held answers never reach the killed worker. */
const HOLD_MS = 120_000;

let address: string;
let ownServer: DevServer | undefined;
let ownServerDir: string | undefined;
let connection: Connection | undefined;
let client: Client;
const cases: CrashCase[] = [];

before(async () => {
  address = process.env.TEMPORAL_TEST_ADDRESS ?? '';
  if (!address) {
    ownServerDir = await mkdtemp(join(tmpdir(), 'vidflow-adoption-server-'));
    ownServer = await startDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      detached: false,
      dbFile: join(ownServerDir, 'temporal.db'),
    });
    address = ownServer.address;
  }
  connection = await Connection.connect({ address });
  client = new Client({ connection });
});

after(async () => {
  for (const c of cases) await c.close();
  await connection?.close();
  await ownServer?.stop?.();
  if (ownServerDir) await rm(ownServerDir, { recursive: true, force: true });
});

/** A case whose workers load one prebuilt workflow bundle, so a restarted worker polls in seconds. */
async function newCase(name: string, emulator: unknown, env: NodeJS.ProcessEnv = {}): Promise<CrashCase> {
  const c = await startCase({ address, name, emulator });
  cases.push(c);
  const bundlePath = join(c.dir, 'workflow-bundle.js');
  await writeFile(bundlePath, (await workflowBundle()).code);
  Object.assign(c.env, { VIDFLOW_WORKFLOW_BUNDLE: bundlePath }, env);
  return c;
}

/** What the server holds as the last heartbeat of each pending generate activity. */
async function generateHeartbeats(workflowId: string): Promise<unknown[]> {
  const desc = await client.workflow.getHandle(workflowId).describe();
  return (desc.raw.pendingActivities ?? [])
    .filter((a) => a.activityType?.name === 'generateClip')
    .map((a) => {
      const payload = a.heartbeatDetails?.payloads?.[0];
      return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
    });
}

const workflowOf = (state: EmulatorState, id: string): string | undefined =>
  keyOf(state.replicate.predictions.find((p) => p.id === id) ?? {})?.workflowId;

describe('SIGKILL while Replicate holds the create answers', { concurrency: 2 }, () => {
  test('two runs with identical prompts: 6 predictions, each run keeps its own three', async (t) => {
    const c = await newCase('adopt-twins', { replicate: { ...SMALL, createAnswerDelayMs: HOLD_MS } });
    await c.startWorker();
    const prompt = 'a lighthouse in a winter storm (two identical runs)';
    const a = await startRun(c.env, prompt, ['--auto-approve']);
    const b = await startRun(c.env, prompt, ['--auto-approve']);
    await waitForEmulator(c.emu, (s) => s.replicate.predictionsCreated === 6, 'six predictions, answers held');
    await c.killWorker();
    const killedAt = Date.now();
    await c.emu.configure({ replicate: { createAnswerDelayMs: 0 } });
    await c.startWorker();

    const ra = await resultWithHistory(c, a, address);
    const rb = await resultWithHistory(c, b, address);
    t.diagnostic(`run A: ${describeActivities(ra.acts)}`);
    const state = await emulatorState(c.emu);
    assert.equal(state.replicate.predictionsCreated, 6, 'nothing paid after the kill');
    assert.deepEqual(Object.values(state.replicate.createdByInput), [2, 2, 2], 'the runs sent identical inputs');
    const idsA = ra.result.scenes.map((s) => s.predictionId);
    const idsB = rb.result.scenes.map((s) => s.predictionId);
    assert.equal(new Set([...idsA, ...idsB]).size, 6, `no clip shared: A ${idsA.join(',')} B ${idsB.join(',')}`);
    assert.deepEqual(
      idsA.map((id) => workflowOf(state, id)),
      [a, a, a],
      'run A used the predictions run A paid for',
    );
    assert.deepEqual(
      idsB.map((id) => workflowOf(state, id)),
      [b, b, b],
    );
    for (const r of [ra.result, rb.result]) assert.ok(Math.abs(durationOf(r.path) - 14.0) <= 0.1);
    const adopted = (c.workers[1]!.logs().match(/adopted prediction/g) ?? []).length;
    assert.equal(adopted, 6, `the new worker adopted all six:\n${c.workers[1]!.logs()}`);
    t.diagnostic(`completed ${seconds(killedAt)} after the kill`);
  });

  test('the creating heartbeat held back by the throttle: the retry still finds its prediction', async (t) => {
    // One generation at a time: the scene that waits heartbeats every 200 ms for its slot, so the
    // heartbeat it sends before its create falls into a busy throttle window (2 s) and is held.
    // The slot is held while polling only on the synchronous path: with the prediction tracker a
    // slot covers the create alone, and all three creates would go out back to back.
    const c = await newCase(
      'adopt-throttled',
      { replicate: SMALL },
      { VIDFLOW_MAX_CONCURRENT_GENERATIONS: '1', VIDFLOW_ASYNC_GENERATION: 'false' },
    );
    await c.startWorker();
    const id = await startRun(c.env, 'paper lanterns rising over a river (creating marker held back)', [
      '--auto-approve',
    ]);
    await waitForEmulator(c.emu, (s) => s.replicate.predictionsCreated === 1, 'the first prediction');
    await c.emu.configure({ replicate: { createAnswerDelayMs: HOLD_MS } });
    await waitForEmulator(c.emu, (s) => s.replicate.predictionsCreated === 2, 'the second create, answer held', 30_000);
    await c.killWorker();
    const killedAt = Date.now();
    const beats = await generateHeartbeats(id);
    const markers = beats.filter((d) => (d as { creatingSince?: string } | undefined)?.creatingSince).length;
    t.diagnostic(`heartbeats at the server after the kill: ${JSON.stringify(beats)}`);
    await c.emu.configure({ replicate: { createAnswerDelayMs: 0 } });
    await c.startWorker();

    const { result, acts } = await resultWithHistory(c, id, address);
    t.diagnostic(`activities: ${describeActivities(acts)}`);
    const state = await emulatorState(c.emu);
    assertPaidOnceAndInPlace(result, state);
    assert.match(c.workers[1]!.logs(), /adopted prediction/, 'the prediction in flight at the kill was adopted');
    t.diagnostic(`creating markers that reached the server: ${markers} of ${beats.length}`);
    t.diagnostic(`completed ${seconds(killedAt)} after the kill`);
  });
});
