/**
 * Replays recorded histories (test/histories/*.json, made by scripts/record-histories.ts)
 * through the current workflow code. A change that would break running workflows (a new
 * activity call, a reordered step, a timer) fails here with a determinism error, before it
 * reaches a cluster with runs in flight. Such a change needs `patched()`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { workflowBundle } from './helpers/temporal';

test('every recorded history replays through the current workflow code', async () => {
  const dir = join(__dirname, 'histories');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  assert.ok(files.length >= 4, `expected recorded histories in ${dir}`);
  const histories = await Promise.all(
    files.map(async (f) => ({
      workflowId: f.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(await readFile(join(dir, f), 'utf8'))),
    })),
  );
  const failures: string[] = [];
  let replayed = 0;
  for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
    replayed++;
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  assert.equal(replayed, files.length);
  assert.deepEqual(failures, []);
});

test('no recorded history names a folder of the machine it was recorded on', async () => {
  const dir = join(__dirname, 'histories');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const stackTraces = (v: unknown): string[] => {
    if (Array.isArray(v)) return v.flatMap(stackTraces);
    if (!v || typeof v !== 'object') return [];
    return Object.entries(v).flatMap(([k, x]) => (k === 'stackTrace' && typeof x === 'string' ? [x] : stackTraces(x)));
  };
  let traces = 0;
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    assert.doesNotMatch(text, /\/(work|home|root|tmp|Users)\//, `${f} names an absolute path`);
    for (const trace of stackTraces(JSON.parse(text))) {
      traces++;
      assert.doesNotMatch(trace, /(^|[\s(]|file:\/\/)\/\w/m, `${f}: an absolute path in a stack trace`);
    }
  }
  assert.ok(traces > 0, 'the histories hold stack traces to check');
});
