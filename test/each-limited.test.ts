/**
 * eachLimited: how the prediction tracker paces its Temporal calls (heartbeats, completions) and
 * its GETs. In lockstep batches one slow call held back the whole next batch; under a busy server
 * 300 heartbeats every 10 s in batches of 16 fell behind generateClip's 30 s heartbeat timeout
 * (bench:load: 10 generations retried after a heartbeat timeout with every run cached).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { eachLimited } from '../src/activities/prediction-reads';

test('a slow call does not hold back the next ones: each starts as soon as a place is free', async () => {
  const t0 = Date.now();
  const startedAt = new Map<string, number>();
  const ms: Record<string, number> = { slow: 400, a: 10, b: 10, c: 10 };
  await eachLimited(['slow', 'a', 'b', 'c'], 2, async (k) => {
    startedAt.set(k, Date.now() - t0);
    await sleep(ms[k]);
  });
  // Lockstep batches of 2 would start b and c only after the slow one (400 ms).
  assert.ok(startedAt.get('c')! < 200, `c started at ${startedAt.get('c')} ms`);
  assert.deepEqual([...startedAt.keys()], ['slow', 'a', 'b', 'c'], 'in the given order');
});

test('never more than the limit at once, and every item once', async () => {
  let running = 0;
  let peak = 0;
  const done: number[] = [];
  const items = Array.from({ length: 50 }, (_, i) => i);
  await eachLimited(items, 7, async (i) => {
    running++;
    peak = Math.max(peak, running);
    await sleep(i % 5);
    running--;
    done.push(i);
  });
  assert.equal(peak, 7);
  assert.deepEqual(
    done.sort((x, y) => x - y),
    items,
  );
});

test('the first error rejects, after the calls already started have settled; no new call starts', async () => {
  const settled: number[] = [];
  const started: number[] = [];
  await assert.rejects(
    eachLimited([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      if (i === 1) throw new Error('boom');
      await sleep(30);
      settled.push(i);
    }),
    /boom/,
  );
  assert.deepEqual(started, [0, 1], 'no call started after the error');
  assert.deepEqual(settled, [0], 'the call in flight settled before the rejection');
});

test('no items: resolves at once', async () => {
  let calls = 0;
  await eachLimited([], 4, () => {
    calls++;
    return Promise.resolve();
  });
  assert.equal(calls, 0);
});
