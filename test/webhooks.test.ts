/**
 * The webhook receiver (src/webhooks/) with the real `replicate` validateWebhook, a real Temporal
 * server and worker, and the Replicate emulator sending signed webhooks the way Replicate does:
 * runs wake on the webhook long before the reconciliation poll; bad, stale, unsigned, non-JSON
 * and unknown requests are refused with a 4xx and change nothing; duplicates are answered once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createGenerateActivities } from '../src/activities/generate';
import { PredictionTracker } from '../src/activities/prediction-tracker';
import { defaultReplicateConfig } from '../src/emulators/replicate';
import { startWebhookServer } from '../src/webhooks/server';
import type { WebhookServer } from '../src/webhooks/server';
import { useEmulators } from './helpers/activity-env';
import { localEnv, uniqueTaskQueue } from './helpers/temporal';
import type { generateMany } from './helpers/workflows/generate-many';

const emu = useEmulators({
  eachTest: { replicate: { startingMs: 100, processingMs: 1500, clipWidth: 320, clipHeight: 180 } },
});
const SECRET = defaultReplicateConfig().webhookSecret;
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let hooks: WebhookServer;
const logs: string[] = [];
before(async () => {
  env = await localEnv();
  bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./helpers/workflows/generate-many'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  // As `vidflow webhooks` runs it: its own client, no tracker (completes activities by id).
  hooks = await startWebhookServer({
    client: env.client,
    secret: async () => (await emu.replicate().webhooks.default.secret.get()).key,
    port: 0,
    host: '127.0.0.1',
    log: (l) => logs.push(l),
  });
});
after(async () => {
  await hooks?.close();
  await env?.teardown();
});

const base = () => `http://127.0.0.1:${hooks.port}/replicate`;

test('webhook mode: every clip completes on its webhook, long before the 60 s reconciliation poll', async () => {
  emu.configure({ replicate: { webhookDuplicates: 1 } });
  const replicate = emu.replicate();
  const tracker = new PredictionTracker({ replicate, pollMs: 60_000, heartbeatMs: 1000 });
  const taskQueue = uniqueTaskQueue('webhooks');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: bundle,
    activities: createGenerateActivities({ replicate, tracker, webhookUrl: base() }),
  });
  const before = { ...hooks.receiver.counters };
  const started = Date.now();
  try {
    const results = await worker.runUntil(
      env.client.workflow.execute<typeof generateMany>('generateMany', {
        taskQueue,
        workflowId: `webhooks-${Date.now()}`,
        args: [
          [1, 2, 3].map((i) => ({
            sceneIndex: i,
            sceneCount: 3,
            prompt: `webhook scene ${i}: a red kite`,
            model: 'kling-v2.5-turbo-pro',
            seconds: 5,
            aspectRatio: '16:9' as const,
          })),
        ],
      }),
    );
    const secs = (Date.now() - started) / 1000;
    assert.equal(results.length, 3);
    assert.ok(secs < 20, `done in ${secs.toFixed(1)} s, not after a 60 s poll`);
    const r = emu.state.replicate;
    assert.equal(r.predictionsCreated, 3);
    assert.equal(r.requests.get, 0, 'no per-prediction polling');
    assert.ok(r.requests.list <= 1, `list reads: ${r.requests.list} (the tracker's first read only)`);
    assert.equal(hooks.receiver.counters.accepted - before.accepted, 3);
    assert.ok(hooks.receiver.counters.duplicates - before.duplicates >= 1, 'duplicates answered, not acted on');
  } finally {
    tracker.close();
  }
});

test('in the worker, a webhook for a prediction its tracker holds is settled without asking the server', async () => {
  const replicate = emu.replicate();
  const tracker = new PredictionTracker({ replicate, pollMs: 60_000, heartbeatMs: 1000 });
  let describes = 0;
  // The real client, counting the per-webhook describe the receiver used to make first.
  const client = new Proxy(env.client, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop !== 'workflow') return value;
      const wf = value as typeof env.client.workflow;
      return new Proxy(wf, {
        get(t, p, r) {
          if (p !== 'getHandle') return Reflect.get(t, p, r) as unknown;
          return (id: string) => {
            describes++;
            return t.getHandle(id);
          };
        },
      });
    },
  });
  const inWorker = await startWebhookServer({
    client,
    secret: async () => (await replicate.webhooks.default.secret.get()).key,
    port: 0,
    host: '127.0.0.1',
    tracker,
    log: (l) => logs.push(l),
  });
  const taskQueue = uniqueTaskQueue('webhooks-tracked');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: bundle,
    activities: createGenerateActivities({
      replicate,
      tracker,
      webhookUrl: `http://127.0.0.1:${inWorker.port}/replicate`,
    }),
  });
  const started = Date.now();
  try {
    const results = await worker.runUntil(
      env.client.workflow.execute<typeof generateMany>('generateMany', {
        taskQueue,
        workflowId: `webhooks-tracked-${Date.now()}`,
        args: [
          [1, 2, 3].map((i) => ({
            sceneIndex: i,
            sceneCount: 3,
            prompt: `tracked webhook scene ${i}: a green kite`,
            model: 'kling-v2.5-turbo-pro',
            seconds: 5,
            aspectRatio: '16:9' as const,
          })),
        ],
      }),
    );
    const secs = (Date.now() - started) / 1000;
    assert.equal(results.length, 3);
    assert.ok(secs < 20, `done in ${secs.toFixed(1)} s, not after a 60 s poll`);
    assert.equal(inWorker.receiver.counters.accepted, 3);
    assert.equal(describes, 0, 'no describe per webhook when the tracker holds the prediction');
  } finally {
    tracker.close();
    await inWorker.close();
  }
});

function sign(id: string, ts: number, body: string, secret = SECRET): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
}

async function post(body: string, headers: Record<string, string>, query = '') {
  const res = await fetch(`${base()}${query}`, { method: 'POST', body, headers });
  return res.status;
}

test('bad input: unsigned, bad signature, stale, not JSON, unknown prediction: 4xx, counted, nothing acted on', async () => {
  const now = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ id: 'p1', status: 'succeeded', output: 'https://x/y.mp4' });
  const c0 = { ...hooks.receiver.counters };
  assert.equal(await post(body, {}), 401);
  assert.equal(
    await post(body, {
      'webhook-id': 'msg_a',
      'webhook-timestamp': String(now),
      'webhook-signature': sign('msg_a', now, body, 'whsec_d3Jvbmc='),
    }),
    401,
  );
  const old = now - 600;
  assert.equal(
    await post(body, {
      'webhook-id': 'msg_b',
      'webhook-timestamp': String(old),
      'webhook-signature': sign('msg_b', old, body),
    }),
    401,
  );
  assert.equal(
    await post('not json', {
      'webhook-id': 'msg_c',
      'webhook-timestamp': String(now),
      'webhook-signature': sign('msg_c', now, 'not json'),
    }),
    400,
  );
  // Signed and fresh, but no vidflow key in the URL, then a key whose run does not exist.
  assert.equal(
    await post(body, {
      'webhook-id': 'msg_d',
      'webhook-timestamp': String(now),
      'webhook-signature': sign('msg_d', now, body),
    }),
    404,
  );
  const q = '?vidflow_ns=default&vidflow_workflow=nope&vidflow_scene=1&vidflow_gen=0&vidflow_try=0&vidflow_act=1';
  assert.equal(
    await post(
      body,
      { 'webhook-id': 'msg_e', 'webhook-timestamp': String(now), 'webhook-signature': sign('msg_e', now, body) },
      q,
    ),
    404,
  );
  const c = hooks.receiver.counters;
  assert.equal(c.unauthorized - c0.unauthorized, 2);
  assert.equal(c.stale - c0.stale, 1);
  assert.equal(c.badRequest - c0.badRequest, 1);
  assert.equal(c.unknown - c0.unknown, 2);
  assert.equal(c.accepted - c0.accepted, 0);
  assert.ok(!logs.join('\n').includes(SECRET.slice(6)), 'the secret is never logged');
});

test('the emulator signs like Replicate: a wrong signature on demand is refused (401)', async () => {
  const c0 = { ...hooks.receiver.counters };
  emu.configure({ replicate: { nextWebhook: ['bad'] } });
  const replicate = emu.replicate();
  const p = await replicate.request('/models/kwaivgi/kling-v2.5-turbo-pro/predictions', {
    method: 'POST',
    data: { input: { prompt: 'x' }, webhook: `${base()}?vidflow_act=1`, webhook_events_filter: ['completed'] },
  });
  assert.equal(p.status, 201);
  const until = Date.now() + 10_000;
  while (hooks.receiver.counters.unauthorized === c0.unauthorized && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(hooks.receiver.counters.unauthorized - c0.unauthorized, 1);
  assert.equal(emu.state.replicate.webhooks.badSignatures, 1);
});
