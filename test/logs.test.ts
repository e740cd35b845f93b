/**
 * Worker logs as an operator reads them: a real `vidflow worker` process, one run end to end.
 * With LOG_FORMAT=json every line on stderr is one JSON object (a log collector must not choke on
 * a plain start-up line), each step of the run is a line carrying the workflow id, and the
 * per-scene steps carry the scene index. Text mode is the same lines, readable by a person.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../src/client/dev-server';
import type { DevServer } from '../src/client/dev-server';
import { formatEntry } from '../src/worker/logging';
import { freePort } from './helpers/crash';
import { startEmulatorProcess, startWorkerProcess, vidflow } from './helpers/processes';
import type { EmulatorProcess, WorkerProcess } from './helpers/processes';

interface JsonLine {
  time: string;
  level: string;
  msg: string;
  workflowId?: string;
  activityType?: string;
  [key: string]: unknown;
}

test('formatEntry: text is "[hh:mm:ss] <workflow id> | message"; json keeps the metadata', () => {
  const entry = {
    level: 'INFO' as const,
    message: 'scene 2: clip ready',
    timestampNanos: BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)) * 1_000_000n,
    meta: { workflowId: 'vidflow-abc', activityType: 'generateClip', sdkComponent: 'activity' },
  };
  assert.match(formatEntry(entry, 'text'), /^\[\d\d:\d\d:\d\d\] vidflow-abc \| scene 2: clip ready$/);
  const json = JSON.parse(formatEntry(entry, 'json')) as JsonLine;
  assert.equal(json.time, '2026-01-02T03:04:05.000Z');
  assert.equal(json.level, 'info');
  assert.equal(json.msg, 'scene 2: clip ready');
  assert.equal(json.workflowId, 'vidflow-abc');
  assert.equal(json.activityType, 'generateClip');
  assert.equal('sdkComponent' in json, false, 'SDK-internal tag dropped');
  assert.match(formatEntry({ ...entry, level: 'WARN' }, 'text'), /\] WARN vidflow-abc \| /);
  // A reason in `error` (Core's connection warnings, a failed activity) is kept on the text line, shortened.
  const core = { ...entry, level: 'WARN' as const, message: 'gRPC call poll_activity_task_queue retried 8 times' };
  const refused = `Status { code: Unavailable, message: "tcp connect error" ${'x'.repeat(400)} }`;
  const line = formatEntry({ ...core, meta: { target: 'temporalio_client::retry', error: refused } }, 'text');
  assert.match(line, /retried 8 times: Status \{ code: Unavailable, message: "tcp connect error"/);
  assert.ok(line.endsWith('…') && line.length < 300, `shortened: ${line.length} characters`);
  assert.match(formatEntry({ ...entry, meta: { error: new Error('boom') } }, 'text'), /clip ready: boom$/);
});

describe('a worker process with LOG_FORMAT=json, one run', () => {
  // A server of its own: the test stops it under the worker, so that Core's connection warnings
  // (logged by the SDK's native side) must come through as JSON too.
  let temporal: DevServer;
  let emu: EmulatorProcess;
  let worker: WorkerProcess;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let workflowId = '';
  let lines: JsonLine[] = [];
  let metrics = '';
  let metricsAddress = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vidflow-logs-'));
    const [port, uiPort] = [await freePort(), await freePort()];
    metricsAddress = `127.0.0.1:${await freePort()}`;
    temporal = await startDevServer({ port, uiPort, detached: false, dbFile: join(dir, 'temporal.db') });
    emu = await startEmulatorProcess({
      replicate: { startingMs: 100, processingMs: 300, clipWidth: 160, clipHeight: 90 },
    });
    env = {
      PATH: process.env.PATH,
      HOME: dir,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: `logs-${process.pid}`,
      OPENAI_API_KEY: 'sk-test-logs',
      OPENAI_BASE_URL: emu.openaiBaseUrl,
      REPLICATE_API_TOKEN: 'r8_test_logs',
      REPLICATE_BASE_URL: emu.replicateBaseUrl,
      VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
      VIDFLOW_WORK_DIR: join(dir, 'work'),
      VIDFLOW_POLL_INTERVAL_MS: '100',
      LOG_FORMAT: 'json',
      VIDFLOW_METRICS_ADDRESS: metricsAddress,
    };
    worker = startWorkerProcess(env);
    await worker.ready;
    const started = await vidflow(['start', 'a sunset over the sea', '--scenes', '2', '--auto-approve', '--json'], env);
    assert.equal(started.code, 0, started.stderr);
    workflowId = (JSON.parse(started.stdout) as { workflowId: string }).workflowId;
    const result = await vidflow(['result', workflowId, '--json'], env);
    assert.equal(result.code, 0, result.stderr);
    metrics = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    // The server goes away under the worker: Core retries its polls and warns, on its own side.
    await temporal.stop?.();
    for (let i = 0; i < 200 && !/retried \d+ times/.test(worker.logs()); i++)
      await new Promise((r) => setTimeout(r, 200));
    await worker.kill('SIGTERM');
    lines = worker
      .logs()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        try {
          return JSON.parse(l) as JsonLine;
        } catch {
          assert.fail(`a line that is not JSON:\n${l}`);
        }
      });
  });

  after(async () => {
    await worker?.kill();
    await emu?.stop();
    await temporal?.stop?.();
    await rm(dir, { recursive: true, force: true });
  });

  test('every line is a JSON object with time, level and msg, the start-up line included', () => {
    assert.ok(lines.length >= 8, `only ${lines.length} lines`);
    for (const l of lines) {
      assert.ok(!Number.isNaN(Date.parse(l.time)), `time: ${JSON.stringify(l)}`);
      assert.match(l.level, /^(trace|debug|info|warn|error)$/);
      assert.equal(typeof l.msg, 'string');
    }
    assert.ok(
      lines.some((l) => l.msg.startsWith('worker: polling task queues')),
      'the start-up line is JSON too',
    );
    const core = lines.find((l) => /retried \d+ times/.test(l.msg));
    assert.ok(core, "Core's connection warning after the server stopped came through (as JSON)");
    assert.equal(core.level, 'warn');
    assert.match(String(core.error), /Unavailable|connect/i, 'with its reason');
    const stopped = lines.findIndex((l) => /retried \d+ times/.test(l.msg));
    const warnings = lines
      .slice(0, stopped < 0 ? undefined : stopped)
      .filter((l) => l.level === 'warn' || l.level === 'error');
    assert.deepEqual(
      warnings.map((l) => l.msg),
      [],
      'a clean run logs no warning before the server stops (the activity-only own queue is not one)',
    );
  });

  test('each step of the run is a line with the workflow id; per-scene steps name scene 1 and 2', () => {
    const run = lines.filter((l) => l.workflowId === workflowId);
    const msgs = run.map((l) => l.msg);
    const has = (re: RegExp, what: string) =>
      assert.ok(
        msgs.some((m) => re.test(m)),
        `no line for ${what} among:\n${msgs.join('\n')}`,
      );
    for (const scene of [1, 2]) {
      has(new RegExp(`scene ${scene}\\b.*(prediction|generat)`, 'i'), `scene ${scene}'s generation`);
      has(new RegExp(`scene ${scene}\\b.*download`, 'i'), `scene ${scene}'s download`);
    }
    has(/plan/i, 'the plan');
    has(/stitch/i, 'the stitch');
    const activities = new Set(run.map((l) => l.activityType).filter(Boolean));
    for (const a of ['planScenes', 'generateClip', 'downloadClip', 'stitchClips']) {
      assert.ok(activities.has(a), `no ${a} line (had ${[...activities].join(', ')})`);
    }
  });

  test('VIDFLOW_METRICS_ADDRESS serves the SDK metrics for Prometheus, with the run counted', () => {
    // Worker-side workflow task time, apart from the server's: what bench:load reads. Activities
    // run on the shared queue, the provider queue (<queue>-provider) and the worker's own (<queue>@id).
    const count = (name: string) =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith(`${name}_count{`) && l.includes(`task_queue="${env.TEMPORAL_TASK_QUEUE}`))
        .reduce((acc, l) => acc + Number(l.split(' ').at(-1)), 0);
    assert.ok(count('temporal_workflow_task_execution_latency') >= 3, 'workflow tasks of the run were timed');
    assert.ok(count('temporal_activity_execution_latency') >= 4, 'activities of the run were timed');
  });
});
