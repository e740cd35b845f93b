/**
 * The SDK slots of a real vidflow worker. Its own queue carries every run's downloads and stitches;
 * a stitch waiting for the worker's stitch slot holds an activity slot while it waits, so the
 * SDK's default of 100 let a queue of waiting stitches (100 runs: ~70 at once) keep the runs'
 * downloads from starting (bench:load measured downloads waiting 6.7 s p95 for a slot).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvSchema } from '../src/config';
import { MAX_SCENES } from '../src/shared/schemas';
import { createVidflowWorker } from '../src/worker/worker';
import { OPENAI_KEY, useEmulators, waitUntil } from './helpers/activity-env';
import { localEnv } from './helpers/temporal';

const emu = useEmulators({ eachTest: {} });
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-slots-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function slotsOf(options: { tuner: unknown }): number {
  const supplier = (options.tuner as { activityTaskSlotSupplier?: { type: string; numSlots?: number } })
    .activityTaskSlotSupplier;
  assert.equal(supplier?.type, 'fixed-size');
  return supplier.numSlots ?? 0;
}

test('a worker home to 100 runs has own-queue slots for all their waiting stitches and every clip download at once', async () => {
  const env = await localEnv();
  const cfg = EnvSchema.parse({
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_TASK_QUEUE: `test-slots-${process.pid}`,
    OPENAI_API_KEY: OPENAI_KEY,
    OPENAI_BASE_URL: emu.openaiBaseUrl,
    REPLICATE_API_TOKEN: 'r8_test-slots-token-0123456789',
    REPLICATE_BASE_URL: emu.replicateBaseUrl,
    VIDFLOW_WORK_DIR: join(dir, 'work'),
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
    VIDFLOW_WORKER_ID: 'slots',
  });
  const { worker, connection } = await createVidflowWorker({ cfg, log: () => undefined });
  try {
    const runs = 100;
    assert.ok(
      slotsOf(worker.own.options) >= runs * (1 + MAX_SCENES),
      `own queue: ${slotsOf(worker.own.options)} slots for ${runs} waiting stitches and ${runs * MAX_SCENES} downloads`,
    );
    // The shared queue keeps the SDK's default: its activities (plan, claim, cancels) are short.
    assert.equal(slotsOf(worker.shared.options), 100);
  } finally {
    const run = worker.run();
    await waitUntil(() => worker.getState() === 'RUNNING', 10_000, 'the worker running');
    worker.shutdown();
    await run;
    await connection.close();
    await env.teardown();
  }
});
