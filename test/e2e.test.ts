/**
 * End to end, with real parts only: the Temporal dev server, a `vidflow worker` process, the
 * `vidflow` CLI, the OpenAI/Replicate emulators in their own process (real HTTP, real clients),
 * ffmpeg. Approval goes through the real Temporal CLI by name, as a person would send it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sceneColor } from '../src/media/testclip';
import { startEmulatorProcess, startWorkerProcess, temporalCli, vidflow } from './helpers/processes';
import type { EmulatorProcess, WorkerProcess } from './helpers/processes';
import { colorDistance, durationOf, frameColor } from './helpers/video';
import { eventually } from './helpers/temporal';
import { useTemporalServer } from './helpers/temporal-server';

const temporal = useTemporalServer('e2e');
let emu: EmulatorProcess;
let worker: WorkerProcess;
let dir: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-e2e-'));
  const address = await temporal.address();
  emu = await startEmulatorProcess({
    replicate: { startingMs: 200, processingMs: 800, clipWidth: 320, clipHeight: 180 },
  });
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `e2e-${process.pid}`,
    OPENAI_API_KEY: 'sk-test-e2e',
    OPENAI_BASE_URL: emu.openaiBaseUrl,
    REPLICATE_API_TOKEN: 'r8_test_e2e',
    REPLICATE_BASE_URL: emu.replicateBaseUrl,
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
    VIDFLOW_WORK_DIR: join(dir, 'work'),
    VIDFLOW_POLL_INTERVAL_MS: '200',
  };
  worker = startWorkerProcess(env);
  await worker.ready;
});

after(async () => {
  await worker?.kill('SIGTERM');
  await emu?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a prompt becomes a 14.0 s video of three scenes in order, approved from the Temporal CLI', async () => {
  const started = await vidflow(['start', 'a sunset over the sea', '--json'], env);
  assert.equal(started.code, 0, started.stderr);
  const { workflowId, runId, webUiUrl } = JSON.parse(started.stdout) as {
    workflowId: string;
    runId: string;
    webUiUrl: string;
  };
  assert.match(workflowId, /^vidflow-/);
  assert.ok(runId && webUiUrl.includes(encodeURIComponent(workflowId)));

  const waiting = await eventually(
    async () => {
      const r = await vidflow(['status', workflowId, '--json'], env);
      const s = JSON.parse(r.stdout || '{}') as { stage?: string; planner?: string; scenes?: { prompt: string }[] };
      return s.stage === 'awaiting_approval' ? s : undefined;
    },
    60_000,
    'awaiting_approval',
  );
  assert.equal(waiting.planner, 'openai');
  assert.equal(waiting.scenes?.length, 3);
  assert.equal((await emu.state()).replicate.predictionsCreated, 0, 'nothing is paid for before approval');

  // A person steers with the CLI: a refused edit says why and exits non-zero; a good one sticks.
  const badEdit = await vidflow(['edit', workflowId, '--scene', '9', '--prompt', 'nine'], env);
  assert.equal(badEdit.code, 1);
  assert.match(badEdit.stderr, /edit refused: there is no scene 9: the plan has 3/);
  const edit = await vidflow(
    ['edit', workflowId, '--scene', '3', '--prompt', 'the sun touches the horizon, orange sky'],
    env,
  );
  assert.equal(edit.code, 0, edit.stderr);
  const listed = await vidflow(['list', '--stage', 'awaiting_approval', '--json'], env);
  assert.ok((JSON.parse(listed.stdout) as { workflowId: string }[]).some((r) => r.workflowId === workflowId));

  const signal = temporalCli([
    'workflow',
    'signal',
    '--address',
    env.TEMPORAL_ADDRESS!,
    '--workflow-id',
    workflowId,
    '--name',
    'approve',
  ]);
  assert.equal(signal.code, 0, signal.stderr);

  const watched = await vidflow(['watch', workflowId], env, 180_000);
  assert.equal(watched.code, 0, watched.stderr);
  assert.match(watched.stderr, /\n {2}3 █{20} ready/, 'a full bar for scene 3');
  assert.match(watched.stdout, new RegExp(`${workflowId}\\.mp4`));

  const res = await vidflow(['result', workflowId, '--json'], env, 180_000);
  assert.equal(res.code, 0, res.stderr);
  const result = JSON.parse(res.stdout) as {
    path: string;
    durationSeconds: number;
    sizeBytes: number;
    scenes: { index: number; prompt: string }[];
  };
  assert.equal(result.path, join(env.VIDFLOW_OUTPUT_DIR!, `${workflowId}.mp4`));
  assert.ok((await stat(result.path)).size === result.sizeBytes);
  const seconds = durationOf(result.path);
  assert.ok(Math.abs(seconds - 14.0) <= 0.1, `duration ${seconds}`);

  // Scene order: each scene's prompt got its own colour at the emulator; sample mid-scene.
  const state = await emu.state();
  assert.equal(state.replicate.predictionsCreated, 3, 'exactly one prediction per scene');
  const mids = [2.0, 7.0, 12.0];
  assert.equal(result.scenes[2]?.prompt, 'the sun touches the horizon, orange sky', 'the edit reached the generation');
  result.scenes.forEach((scene, i) => {
    const assigned = state.replicate.promptScenes[scene.prompt];
    assert.ok(assigned, `scene ${scene.index} was generated from its own prompt`);
    const seen = frameColor(result.path, mids[i]!);
    assert.ok(
      colorDistance(seen, sceneColor(assigned.scene).rgb) < 40,
      `scene ${scene.index} at ${mids[i]} s: ${seen.join(',')}`,
    );
  });
  // The cross-fade: half-way through the first transition the frame is a mix of both colours.
  const mix = frameColor(result.path, 4.75);
  const a = sceneColor(state.replicate.promptScenes[result.scenes[0]!.prompt]!.scene).rgb;
  const b = sceneColor(state.replicate.promptScenes[result.scenes[1]!.prompt]!.scene).rgb;
  assert.ok(
    colorDistance(mix, a) > 40 && colorDistance(mix, b) > 40,
    `a visible cross-fade at 4.75 s: ${mix.join(',')}`,
  );

  // One history tells the whole story.
  const show = temporalCli([
    'workflow',
    'show',
    '--address',
    env.TEMPORAL_ADDRESS!,
    '--workflow-id',
    workflowId,
    '--output',
    'json',
  ]);
  const events = (
    JSON.parse(show.stdout) as {
      events: { eventType: string; activityTaskScheduledEventAttributes?: { activityType: { name: string } } }[];
    }
  ).events;
  const scheduled = events.flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType.name] : [],
  );
  const count = (name: string) => scheduled.filter((n) => n === name).length;
  assert.deepEqual(
    {
      plan: count('planScenes'),
      generate: count('generateClip'),
      download: count('downloadClip'),
      stitch: count('stitchClips'),
    },
    { plan: 1, generate: 3, download: 3, stitch: 1 },
  );
  assert.ok(events.some((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED'));

  // The working clips are gone once the video is delivered.
  await assert.rejects(stat(join(env.VIDFLOW_WORK_DIR!, workflowId)));
  assert.match(worker.logs(), /scene 2\/3: clip downloaded/);
});

test('invalid input is refused before anything starts, with the reason and exit code 2', async () => {
  const r = await vidflow(['start', 'x', '--scenes', '9', '--json'], env);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /--scenes must be a whole number from 1 to 6, got "9"/);
});

test('a 404 on a fresh output URL (never downloaded, seconds old) is retried, not paid for again', async () => {
  // Replicate's outputs live an hour: a fresh URL answering 404 once is the way there, not an
  // expiry. (Real expiries, which do regenerate the scene, are in paying-once.test.ts.)
  await emu.configure({ replicate: { nextDownload: ['notFound'] } });
  const before = (await emu.state()).replicate.predictionsCreated;
  const started = await vidflow(['start', 'a lighthouse at dusk', '--auto-approve', '--json'], env);
  assert.equal(started.code, 0, started.stderr);
  const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
  const res = await vidflow(['result', workflowId, '--json'], env, 180_000);
  assert.equal(res.code, 0, res.stderr);
  assert.ok(Math.abs(durationOf((JSON.parse(res.stdout) as { path: string }).path) - 14.0) <= 0.1);
  assert.equal((await emu.state()).replicate.predictionsCreated - before, 3, 'one prediction per scene');
  const status = JSON.parse((await vidflow(['status', workflowId, '--json'], env)).stdout) as {
    scenes: { attempts: number }[];
  };
  assert.deepEqual(
    status.scenes.map((s) => s.attempts),
    [1, 1, 1],
  );
  assert.match(worker.logs(), /answered 404, but the output is \d+ s old and was never downloaded: not an expiry/);
});

test('vidflow cancel stops the spend: in-flight predictions are cancelled at Replicate within 5 s', async () => {
  await emu.configure({ replicate: { processingMs: 60_000 } });
  try {
    const started = await vidflow(['start', 'a slow glacier', '--auto-approve', '--json'], env);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    const inFlight = await eventually(
      async () => {
        const s = await emu.state();
        const mine = s.replicate.predictions.filter((p) =>
          Object.keys(s.replicate.promptScenes).includes(p.input.prompt),
        );
        const running = mine.filter((p) => p.status === 'processing' || p.status === 'starting');
        return running.length === 3 ? running.map((p) => p.id) : undefined;
      },
      60_000,
      'three predictions in flight',
    );
    const cancel = await vidflow(['cancel', workflowId], env);
    assert.equal(cancel.code, 0, cancel.stderr);
    const t0 = Date.now(); // the cancel request has reached the server
    await eventually(
      async () => {
        const s = await emu.state();
        return inFlight.every((id) => s.replicate.predictions.find((p) => p.id === id)?.status === 'canceled');
      },
      15_000,
      'predictions cancelled at Replicate',
    );
    const cancelledAfterMs = Date.now() - t0;
    assert.ok(cancelledAfterMs < 5000, `cancelled at Replicate ${cancelledAfterMs} ms after the cancel request`);
    const status = await eventually(
      async () => {
        const s = JSON.parse((await vidflow(['status', workflowId, '--json'], env)).stdout) as { stage: string };
        return s.stage === 'cancelled' ? s : undefined;
      },
      30_000,
      'stage cancelled',
    );
    assert.equal(status.stage, 'cancelled');
    await assert.rejects(stat(join(env.VIDFLOW_WORK_DIR!, workflowId)), 'partial files removed');
  } finally {
    await emu.configure({ replicate: { processingMs: 800 } });
  }
});
