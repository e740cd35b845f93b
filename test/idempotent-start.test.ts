/**
 * `vidflow start --id X` is idempotent: repeating it (a retried script, a double click, two
 * terminals at once) while the run is going, or after it finished, never starts a second run and
 * never pays for a second set of predictions. Real processes: dev server, worker, CLI, emulators.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { emulatorState, resultOf, startCase, waitForStage } from './helpers/crash';
import type { CrashCase } from './helpers/crash';
import { temporalCli, vidflow } from './helpers/processes';
import type { CliResult } from './helpers/processes';
import { useTemporalServer } from './helpers/temporal-server';
import { durationOf } from './helpers/video';

let c: CrashCase;
const temporal = useTemporalServer('idempotent-start');
let address: string;

before(async () => {
  address = await temporal.address();
  c = await startCase({
    address,
    name: 'idempotent-start',
    emulator: { replicate: { startingMs: 200, processingMs: 800, clipWidth: 320, clipHeight: 180 } },
  });
  await c.startWorker();
});

after(async () => {
  await c?.close();
});

interface StartJson {
  workflowId: string;
  runId: string;
  existed?: boolean;
}

function parse(r: CliResult): StartJson {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StartJson;
}

/** Executions with this workflow id, open or closed, as the Temporal CLI lists them. */
function executions(workflowId: string): { runId: string; status: string }[] {
  const r = temporalCli([
    'workflow',
    'list',
    '--address',
    address,
    '--query',
    `WorkflowId = '${workflowId}'`,
    '--output',
    'json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rows = (r.stdout.trim() ? JSON.parse(r.stdout) : []) as {
    execution: { runId: string };
    status: string;
  }[];
  return rows.map((row) => ({ runId: row.execution.runId, status: row.status }));
}

test('starting the same id twice while it runs, and again after it completed, starts one run only', async (t) => {
  const id = `idem-${process.pid}-${Date.now().toString(36)}`;
  const prompt = 'a windmill in a tulip field (idempotent start)';

  const first = parse(await vidflow(['start', prompt, '--id', id, '--json'], c.env));
  assert.equal(first.workflowId, id);
  assert.equal(first.existed, undefined, 'the first start starts the run');
  // Without --auto-approve the run waits here: surely still running for the repeats.
  await waitForStage(c.env, id, 'awaiting_approval');

  // Two repeats at the same moment (the race a double click makes), one with another prompt:
  // neither may start a run, and the other prompt must not replace the first.
  const [again, other] = await Promise.all([
    vidflow(['start', prompt, '--id', id, '--json'], c.env),
    vidflow(['start', 'something else entirely', '--id', id, '--json', '--auto-approve'], c.env),
  ]);
  for (const r of [again, other]) {
    const j = parse(r);
    assert.deepEqual(j, {
      workflowId: id,
      runId: first.runId,
      webUiUrl: (j as { webUiUrl?: string }).webUiUrl,
      existed: true,
    });
    assert.match(r.stderr, new RegExp(`run ${id} already exists \\(RUNNING\\); not starting another`));
  }
  const human = await vidflow(['start', prompt, '--id', id], c.env);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`^exists: ${id}$`, 'm'));

  let runs = executions(id);
  assert.deepEqual(runs, [{ runId: first.runId, status: 'WORKFLOW_EXECUTION_STATUS_RUNNING' }]);
  assert.equal((await emulatorState(c.emu)).replicate.predictionsCreated, 0, 'still waiting for approval');

  const approve = await vidflow(['approve', id], c.env);
  assert.equal(approve.code, 0, approve.stderr);
  const result = await resultOf(c.env, id, 180_000);
  assert.ok(Math.abs(durationOf(result.path) - 14.0) <= 0.1);
  assert.ok(
    result.scenes.every((s) => !s.prompt.includes('something else')),
    "the run kept the first start's plan",
  );
  const before = await emulatorState(c.emu);
  assert.equal(before.replicate.predictionsCreated, 3);
  assert.equal(before.openai.requests, 1, 'planned once');

  // After completion: REJECT_DUPLICATE keeps the id taken; the existing (completed) run is returned.
  const late = await vidflow(['start', prompt, '--id', id, '--json', '--auto-approve'], c.env);
  const lateJson = parse(late);
  assert.equal(lateJson.existed, true);
  assert.equal(lateJson.runId, first.runId);
  assert.match(late.stderr, new RegExp(`run ${id} already exists \\(COMPLETED\\); not starting another`));

  // Give a wrongly started run time to plan and create predictions before counting.
  await new Promise((r) => setTimeout(r, 3000));
  runs = executions(id);
  assert.deepEqual(runs, [{ runId: first.runId, status: 'WORKFLOW_EXECUTION_STATUS_COMPLETED' }]);
  const describe = temporalCli(['workflow', 'describe', '--address', address, '--workflow-id', id, '--output', 'json']);
  assert.equal(describe.code, 0, describe.stderr);
  assert.match(describe.stdout, new RegExp(first.runId));
  const afterAll = await emulatorState(c.emu);
  assert.equal(afterAll.replicate.predictionsCreated, 3, 'no prediction after the repeated starts');
  assert.equal(afterAll.openai.requests, 1, 'no second plan');
  t.diagnostic(`one execution ${first.runId}; predictions ${afterAll.replicate.predictionsCreated}`);
});
