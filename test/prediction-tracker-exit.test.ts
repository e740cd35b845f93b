/**
 * A stopping worker hands its tracked generations over (WorkerShutdown, retried elsewhere at once)
 * and must not exit before each hand-over is reported. The SDK's client calls run in its native
 * layer, which holds nothing on Node's event loop, and the tracker's timer is unref'd: CI saw a
 * worker exit 0 between sending the failures and hearing back (graceful-shutdown.test.ts, no
 * "handed over" line). Here the client's calls answer through unref'd timers, holding the loop no
 * more than the native layer does, in a process that has nothing else keeping it alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ROOT } from './helpers/processes';

const SCRIPT = `
require('tsx/cjs');
const { PredictionTracker } = require('./src/activities/prediction-tracker.ts');
// Like the SDK's native client: the answer comes later, and nothing waiting for it keeps the loop alive.
const native = () => new Promise((resolve) => setTimeout(resolve, 200).unref());
const client = { activity: { heartbeat: native, fail: native } };
const log = { info: (m) => console.log(m), warn: (m) => console.log(m) };
const stopping = new AbortController();
const tracker = new PredictionTracker({ replicate: {}, pollMs: 60000, stopping: stopping.signal });
for (const i of [1, 2, 3]) {
  tracker.track({ taskToken: new Uint8Array([i]), client, log, tag: 'scene ' + i + '/3', workflowId: 'w',
    predictionId: 'p' + i, status: 'processing', createdAtMs: Date.now(), sceneIndex: i, modelFailures: 0 });
}
stopping.abort();
`;

test('a stopping worker stays up until every hand-over is reported, then lets the process exit', () => {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['-e', SCRIPT], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.status, 0, r.stderr);
  const handed = r.stdout.match(/lives on for the next attempt \(handed over\)/g) ?? [];
  assert.equal(handed.length, 3, `each of the 3 hand-overs reported before the exit:\n${r.stdout}`);
  // The keep-alive goes with the last report: the process exits instead of hanging on it.
  assert.ok(seconds < 15, `exited ${seconds.toFixed(1)} s after start`);
});
