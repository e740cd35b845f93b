/**
 * Every paid clip reaches the video and none is paid twice, end to end with real parts: the
 * Temporal dev server, a `vidflow worker` process (real generate/download/stitch activities),
 * the `vidflow` CLI and the emulators in their own process, counted at the emulator. Faults the
 * emulator cannot serve (a proxy's 403, a body cut short, a 0.2 s clip) come from a proxy in
 * front of it (helpers/file-proxy). The cases run one after another on one worker; each counts
 * the predictions its own run created.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sceneColor } from '../src/media/testclip';
import { makeTestClip } from '../src/media/testclip';
import { historyOf, resultOf, seconds, startRun, waitForStage } from './helpers/crash';
import type { HistoryEvent } from './helpers/crash';
import { startFileProxy } from './helpers/file-proxy';
import type { FileAction, FileProxy, FileRequest } from './helpers/file-proxy';
import { startEmulatorProcess, startWorkerProcess, temporalCli, vidflow } from './helpers/processes';
import type { EmulatorProcess, WorkerProcess } from './helpers/processes';
import { eventually } from './helpers/temporal';
import { colorDistance, durationOf, frameColor } from './helpers/video';

const FAST = { startingMs: 200, processingMs: 800, clipWidth: 320, clipHeight: 180 };

let emu: EmulatorProcess;
let proxy: FileProxy;
let worker: WorkerProcess;
let dir: string;
let env: NodeJS.ProcessEnv;
let address: string;
let shortClip: Buffer;

before(async () => {
  address = process.env.TEMPORAL_TEST_ADDRESS ?? '';
  assert.ok(address, 'run through scripts/test.sh (it starts the dev server and sets TEMPORAL_TEST_ADDRESS)');
  dir = await mkdtemp(join(tmpdir(), 'vidflow-paying-once-'));
  emu = await startEmulatorProcess({ replicate: FAST });
  proxy = await startFileProxy(emu.replicateBaseUrl);
  shortClip = await readFile(
    await makeTestClip({ path: join(dir, 'short.mp4'), seconds: 0.2, width: 320, height: 180 }),
  );
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `paying-once-${process.pid}`,
    OPENAI_API_KEY: 'sk-test-paying-once',
    OPENAI_BASE_URL: emu.openaiBaseUrl,
    REPLICATE_API_TOKEN: 'r8_test_paying_once',
    REPLICATE_BASE_URL: proxy.replicateBaseUrl,
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
    VIDFLOW_WORK_DIR: join(dir, 'work'),
    VIDFLOW_POLL_INTERVAL_MS: '200',
  };
  worker = startWorkerProcess(env);
  await worker.ready;
});

after(async () => {
  await worker?.kill('SIGTERM');
  await proxy?.close();
  await emu?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Status {
  stage: string;
  estimatedCostUsd: number;
  error?: string;
  scenes: { index: number; prompt: string; status: string; attempts: number; predictionId?: string }[];
}

async function status(id: string): Promise<Status> {
  const r = await vidflow(['status', id, '--json'], env, 30_000);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Status;
}

const created = async () => (await emu.state()).replicate.predictionsCreated;

async function promptOf(predictionId: string): Promise<string | undefined> {
  return (await emu.state()).replicate.predictions.find((p) => p.id === predictionId)?.input.prompt;
}

/**
 * A rule that makes one scene's outputs expire for real: the first request is cut short (the URL
 * worked: bytes arrived), the next answers 404, as Replicate's delivery host does once an output
 * is deleted. The scene is the one of the first file requested; `times` of its predictions expire.
 */
function expiring(times: number): (req: FileRequest) => Promise<FileAction> {
  let victimPrompt: string | undefined;
  const victims: string[] = [];
  return async ({ predictionId, nth }) => {
    const prompt = await promptOf(predictionId);
    victimPrompt ??= prompt;
    if (prompt !== victimPrompt) return { kind: 'pass' };
    if (!victims.includes(predictionId)) victims.push(predictionId);
    if (victims.indexOf(predictionId) >= times) return { kind: 'pass' };
    return nth === 1 ? { kind: 'truncate' } : nth === 2 ? { kind: 'status', status: 404 } : { kind: 'pass' };
  };
}

function withRule(rule: FileProxy['rule']) {
  proxy.rule = rule;
  proxy.served.length = 0;
}

async function failureOf(id: string): Promise<{ code: number; stderr: string }> {
  const r = await vidflow(['result', id, '--json'], env, 600_000);
  assert.notEqual(r.code, 0, `the run should fail; it gave ${r.stdout}`);
  return r;
}

describe('paid clips reach the video, none is paid twice', () => {
  test('a redone scene: the NEW clip is in the final video (its file is named by its prediction)', async (t) => {
    withRule(() => ({ kind: 'pass' }));
    const before = await created();
    const id = await startRun(env, 'a harbour at dawn (redo)', ['--auto-approve', '--review-result']);
    const review = await waitForStage(env, id, 'reviewing_result', 120_000);
    const oldPrompt = review.scenes[2]!.prompt;
    const newPrompt = 'a yellow desert at noon, heat haze';
    const redo = await vidflow(['redo', id, '--scene', '3', '--prompt', newPrompt], env);
    assert.equal(redo.code, 0, redo.stderr);
    await eventually(
      async () => {
        const s = await status(id);
        return s.stage === 'reviewing_result' && s.scenes[2]?.attempts === 2 && s.scenes[2].status === 'ready';
      },
      120_000,
      'the redone scene stitched',
    );
    const approved = await vidflow(['approve', id], env);
    assert.equal(approved.code, 0, approved.stderr);
    const result = await resultOf(env, id);
    assert.ok(Math.abs(durationOf(result.path) - 14.0) <= 0.1);

    const state = await emu.state();
    assert.equal(state.replicate.predictionsCreated - before, 4, 'three scenes and the redo');
    const now = sceneColor(state.replicate.promptScenes[newPrompt]!.scene).rgb;
    const old = sceneColor(state.replicate.promptScenes[oldPrompt]!.scene).rgb;
    const seen = frameColor(result.path, 12.0);
    t.diagnostic(`scene 3 at 12 s: ${seen.join(',')} (new ${now.join(',')}, old ${old.join(',')})`);
    assert.ok(colorDistance(seen, now) < 40, `scene 3 shows the redone clip: ${seen.join(',')}`);
    assert.ok(colorDistance(seen, old) > 80, 'not the old clip');
    assert.match(worker.logs(), /scene 3\/3: clip downloaded/);
  });

  test('a proxy answering 403 to every download for 20 s, --max-cost 1.05: retried, one prediction per scene', async (t) => {
    const until = Date.now() + 20_000;
    withRule(() => (Date.now() < until ? { kind: 'status', status: 403 } : { kind: 'pass' }));
    const before = await created();
    const t0 = Date.now();
    const id = await startRun(env, 'a windmill in a storm (403)', ['--auto-approve', '--max-cost', '1.05']);
    const result = await resultOf(env, id, 600_000);
    t.diagnostic(
      `completed in ${seconds(t0)}; ${proxy.served.filter((s) => s.action === 'status').length} answers 403`,
    );
    assert.ok(Math.abs(durationOf(result.path) - 14.0) <= 0.1);
    assert.equal((await created()) - before, 3, 'no prediction was paid for again');
    assert.ok(
      proxy.served.some((s) => s.action === 'status'),
      'the 403s were served',
    );
    assert.equal((await status(id)).estimatedCostUsd, 1.05);
  });

  test('a real expiry with --max-cost 1.05 (the estimate): refused as CostLimitExceeded naming the scene; 3 paid', async (t) => {
    withRule(expiring(1));
    const before = await created();
    const id = await startRun(env, 'a lighthouse at dusk (budget)', ['--auto-approve', '--max-cost', '1.05']);
    const failed = await failureOf(id);
    t.diagnostic(`vidflow result exit ${failed.code}: ${failed.stderr.trim()}`);
    assert.match(
      failed.stderr,
      /scene \d\/3: its output expired, and generating it again would bring the estimated cost to \$1\.40, above --max-cost \$1\.05: the clip's URL answered 404 \(an earlier attempt received \d+ bytes from it\)/,
    );
    assert.equal((await created()) - before, 3, 'nothing paid beyond the budget');
    const s = await status(id);
    assert.equal(s.stage, 'failed');
    assert.ok(s.scenes.some((x) => x.status === 'failed' && /above --max-cost/.test(s.error ?? '')));
  });

  test('an output that keeps expiring, no --max-cost: generated again once, then the run fails naming why; 4 paid', async (t) => {
    withRule(expiring(99));
    const before = await created();
    const id = await startRun(env, 'a glacier calving (twice expired)', ['--auto-approve']);
    const failed = await failureOf(id);
    t.diagnostic(`vidflow result exit ${failed.code}: ${failed.stderr.trim()}`);
    assert.match(
      failed.stderr,
      /scene \d\/3: its output expired again, after it was generated again once for that \(a --max-cost with room for more allows more\): the clip's URL answered 404/,
    );
    assert.equal((await created()) - before, 4, 'three scenes plus one regeneration');
    assert.equal((await status(id)).estimatedCostUsd, 1.4, 'the regeneration is in the estimate');
  });

  test('with room in --max-cost (1.75) a scene may expire twice: 5 paid, the estimate shows them, the video is whole', async () => {
    withRule(expiring(2));
    const before = await created();
    const id = await startRun(env, 'a paper boat on a river (room)', ['--auto-approve', '--max-cost', '1.75']);
    const result = await resultOf(env, id);
    assert.ok(Math.abs(durationOf(result.path) - 14.0) <= 0.1);
    assert.equal((await created()) - before, 5);
    const s = await status(id);
    assert.equal(s.estimatedCostUsd, 1.75);
    assert.deepEqual(s.scenes.map((x) => x.attempts).sort(), [1, 1, 3]);
  });

  test('a clip of 0.2 s for a 5 s scene is generated again (not a failed stitch); 4 paid, a 14.0 s video', async () => {
    let victim: string | undefined;
    withRule(({ predictionId }) => {
      victim ??= predictionId;
      return predictionId === victim ? { kind: 'body', body: shortClip } : { kind: 'pass' };
    });
    const before = await created();
    const id = await startRun(env, 'a kite over the dunes (short clip)', ['--auto-approve']);
    const result = await resultOf(env, id);
    assert.ok(Math.abs(durationOf(result.path) - 14.0) <= 0.1, `duration ${durationOf(result.path)}`);
    assert.equal((await created()) - before, 4);
    const s = await status(id);
    assert.equal(s.estimatedCostUsd, 1.4);
    assert.match(worker.logs(), /the clip is 0\.\d+ s long, for a 5 s scene/);
  });

  test('the file host answering 503 for 90 s after the clips are paid: ridden out, one prediction per scene', async (t) => {
    withRule(() => ({ kind: 'pass' }));
    await emu.configure({ replicate: { download: 'serverError' } });
    const before = await created();
    const t0 = Date.now();
    const outage = setTimeout(() => void emu.configure({ replicate: { download: 'ok' } }), 90_000);
    try {
      const id = await startRun(env, 'a night market in the rain (outage)', ['--auto-approve']);
      const result = await resultOf(env, id, 600_000);
      t.diagnostic(`completed ${seconds(t0)} after the start (outage: 90 s)`);
      assert.ok(Date.now() - t0 >= 90_000, 'the run waited the outage out');
      assert.ok(Math.abs(durationOf(result.path) - 14.0) <= 0.1);
      assert.equal((await created()) - before, 3);
      const served = (await emu.state()) as unknown as { replicate: { faultsServed: string[] } };
      assert.ok(served.replicate.faultsServed.filter((f) => f === 'download:serverError').length >= 3);
    } finally {
      clearTimeout(outage);
      await emu.configure({ replicate: { download: 'ok' } });
    }
  });

  test('a reset during generation re-issues the same generation keys (and, with keyed adoption, pays nothing again)', async (t) => {
    withRule(() => ({ kind: 'pass' }));
    await emu.configure({ replicate: { processingMs: 8000 } });
    try {
      const before = await created();
      const id = await startRun(env, 'a slow tide over rocks (reset)', ['--auto-approve']);
      await eventually(async () => (await created()) - before >= 3, 60_000, 'three predictions in flight');
      assert.deepEqual(
        generateInputs(historyOf(address, id)).map((i) => [i.generation, i.mayExist]),
        [
          [0, false],
          [0, false],
          [0, false],
        ],
        'a first run has no predecessor to look for',
      );
      const reset = temporalCli([
        'workflow',
        'reset',
        '--address',
        address,
        '--workflow-id',
        id,
        '--type',
        'FirstWorkflowTask',
        '--reason',
        'paying-once test',
      ]);
      assert.equal(reset.code, 0, reset.stderr);
      const result = await resultOf(env, id);
      assert.ok(Math.abs(durationOf(result.path) - 14.0) <= 0.1);

      const inputs = generateInputs(historyOf(address, id));
      assert.deepEqual(
        inputs.map((i) => [i.sceneIndex, i.generation, i.mayExist]).sort(),
        [
          [1, 0, true],
          [2, 0, true],
          [3, 0, true],
        ],
        'the reset run asks for generation 0 of each scene again, knowing a predecessor may have paid',
      );
      const paid = (await created()) - before;
      t.diagnostic(`predictions for 3 scenes across the reset: ${paid}`);
      const keyed = (await emu.state()).replicate.predictions.some((p) => {
        const hook = (p as { webhook?: unknown }).webhook;
        return typeof hook === 'string' && hook.includes('vidflow_gen');
      });
      assert.ok(keyed, 'every prediction carries its generation key in its webhook URL');
      assert.equal(paid, 3, 'the reset run adopted the predictions its predecessor paid for');
    } finally {
      await emu.configure({ replicate: { processingMs: FAST.processingMs } });
    }
  });
});

interface GenerateInput {
  sceneIndex: number;
  generation?: number;
  mayExist?: boolean;
}

/** The generateClip inputs scheduled in the current run's history (payloads as the CLI prints them). */
function generateInputs(events: HistoryEvent[]): GenerateInput[] {
  const out: GenerateInput[] = [];
  for (const e of events as (HistoryEvent & {
    activityTaskScheduledEventAttributes?: { activityType: { name: string }; input?: { payloads?: unknown[] } };
  })[]) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType.name !== 'generateClip') continue;
    const payload = a.input?.payloads?.[0] as { data?: unknown } | undefined;
    const data = payload?.data;
    out.push(
      (typeof data === 'string' ? JSON.parse(Buffer.from(data, 'base64').toString('utf8')) : data) as GenerateInput,
    );
  }
  return out;
}
