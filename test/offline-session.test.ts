/**
 * The README's offline session, as a new user types it, with real processes only: `vidflow start`
 * with no worker running (status, list, watch and approve answer from the server and say how to
 * start one), then `vidflow worker --offline`, then edit, reject (which names the edit it
 * discards, and keeps the prompt), approve, redo with a new prompt, approve the video, download it,
 * and see the redone scene's words on its card. Ends with commands on the finished run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer } from '../src/client/dev-server';
import type { DevServer } from '../src/client/dev-server';
import { rememberScene } from '../src/media/card-caption';
import { captionFont, makeTestClip } from '../src/media/testclip';
import { statusQuery } from '../src/shared/messages';
import type { PipelineStatus } from '../src/shared/schemas';
import { CAPTION_REGION, meanAbsDiff, regionGrey } from './helpers/frames';
import { ROOT, vidflow } from './helpers/processes';
import { eventually } from './helpers/temporal';
import { durationOf } from './helpers/video';

let server: DevServer | undefined;
let dir: string;
let env: NodeJS.ProcessEnv;
let client: Client;
let worker: ChildProcess | undefined;
let workerLog = '';
/** The downloaded video and plan 2's scenes, for the redo's check below. */
let video = '';
let round2Scenes: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-session-'));
  let address = process.env.TEMPORAL_TEST_ADDRESS;
  if (!address) {
    const port = 21000 + (process.pid % 9000);
    server = await startDevServer({ port, uiPort: port + 1, detached: false, dbFile: join(dir, 'temporal.db') });
    address = server.address;
  }
  // A new user's environment: no keys at all.
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `session-${process.pid}`,
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
    VIDFLOW_WORK_DIR: join(dir, 'work'),
  };
  client = new Client({ connection: await Connection.connect({ address }) });
});

after(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGKILL');
    await once(worker, 'exit');
  }
  await client?.connection.close();
  await server?.stop?.();
  await rm(dir, { recursive: true, force: true });
});

function startOfflineWorker(): Promise<void> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'vidflow.js'), 'worker', '--offline'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker = child;
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      workerLog += d.toString();
      if (workerLog.includes('offline worker ready')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker --offline exited ${String(code)}:\n${workerLog}`)));
  });
}

const query = (id: string) => client.workflow.getHandle(id).query(statusQuery);
function waitFor(id: string, what: string, ok: (s: PipelineStatus) => boolean, ms = 60_000): Promise<PipelineStatus> {
  return eventually(
    async () => {
      const s = await query(id);
      return ok(s) ? s : undefined;
    },
    ms,
    `${what}\n${workerLog.slice(-2000)}`,
  );
}

/**
 * How far the caption region of `file` at `t` is from cards drawn here for the `expected` and the
 * `stale` prompt, each with the scene label and the emulator's colour it would have.
 */
async function compareCaption(
  file: string,
  t: number,
  label: string,
  expected: { prompt: string; color: number },
  stale: { prompt: string; color: number },
) {
  const [i, n] = label.split('/').map(Number) as [number, number];
  // The emulator gives prompts colours in the order their predictions arrive, and the scenes of a
  // run are created at once (through the provider queue, in any order): a scene's card may carry
  // any of the run's first n colours. The caption is what is compared, on each possible colour.
  const card = (name: string, c: { prompt: string; color: number }) => {
    rememberScene(c.prompt, i, n);
    return makeTestClip({
      path: join(dir, `${name}.mp4`),
      seconds: 5,
      width: 1280,
      height: 720,
      scene: c.color,
      prompt: c.prompt,
    });
  };
  const seen = regionGrey(file, t, CAPTION_REGION);
  const clipT = t - (i - 1) * 4.5;
  const closest = async (name: string, c: { prompt: string; color: number }) => {
    const colors = [c.color, ...Array.from({ length: n }, (_, k) => k + 1).filter((k) => k !== c.color)];
    const cards = await Promise.all(colors.map((color) => card(`${name}-${i}-c${color}`, { ...c, color })));
    return Math.min(...cards.map((f) => meanAbsDiff(seen, regionGrey(f, clipT, CAPTION_REGION))));
  };
  const [toExpected, toStale] = await Promise.all([closest('expected', expected), closest('stale', stale)]);
  return { toExpected, toStale };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = Date.now();
  const value = await fn();
  return { value, seconds: (Date.now() - started) / 1000 };
}

test('offline session: start with no worker, worker --offline, edit, reject, approve, redo, download', async () => {
  const prompt = 'a cat astronaut floating past the moon';
  const started = await vidflow(['start', prompt, '--scenes', '2', '--review-result'], env);
  assert.equal(started.code, 0, started.stderr);
  const id = /^started: (\S+)$/m.exec(started.stdout)?.[1] ?? '';
  assert.match(started.stderr, /no worker is running on task queue session-\d+.*vidflow worker --offline/s);

  // No worker: every reading command answers from the server, at once, and says how to start one.
  const status = await timed(() => vidflow(['status', id], env));
  assert.equal(status.value.code, 0, status.value.stderr);
  assert.match(status.value.stdout, new RegExp(`^${id}: planning`));
  assert.match(status.value.stdout, /estimated cost: \$0\.70/);
  assert.match(
    status.value.stderr,
    /no worker is running.*Start one with `vidflow worker` \(or `vidflow worker --offline`/s,
  );
  assert.ok(status.seconds < 15, `status without a worker took ${status.seconds} s`);
  process.stderr.write(`# status with no worker: ${status.seconds.toFixed(1)} s (process start included)\n`);

  const list = await vidflow(['list'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ID\s+STAGE\s+STARTED \(UTC\)\s+PROMPT$/m);
  assert.match(
    list.stdout,
    new RegExp(`^${id}\\s+planning\\s+\\S+ \\S+\\s+a cat astronaut floating past the moon$`, 'm'),
  );
  assert.match(list.stderr, /no worker is running/);

  const early = await vidflow(['approve', id], env);
  assert.equal(early.code, 1, 'an approval the run cannot take now is refused');
  assert.match(early.stderr, /still being planned: there is no plan to approve yet/);
  assert.doesNotMatch(early.stdout, /approved/);

  const watch = spawn(process.execPath, [join(ROOT, 'bin', 'vidflow.js'), 'watch', id], { cwd: ROOT, env });
  let watched = '';
  watch.stderr.on('data', (d: Buffer) => (watched += d.toString()));
  const watchStarted = Date.now();
  await eventually(async () => /no worker is running/.test(watched), 20_000, `watch says no worker:\n${watched}`);
  process.stderr.write(`# watch with no worker: notice after ${((Date.now() - watchStarted) / 1000).toFixed(1)} s\n`);
  assert.match(watched, new RegExp(`${id}  planning`));
  watch.kill('SIGTERM');

  // The worker, offline: the run goes on by itself, the plan is labelled as emulated.
  await startOfflineWorker();
  const round1 = await waitFor(id, 'the plan', (s) => s.stage === 'awaiting_approval');
  const plan = await vidflow(['status', id], env);
  assert.match(plan.stdout, /plan: emulated \(offline mode: no OpenAI was asked\)/);
  assert.doesNotMatch(plan.stdout + workerLog, /plan: openai|asking gpt-/);

  const edit = await vidflow(['edit', id, '--scene', '2', '--prompt', 'a cat juggling moon rocks'], env);
  assert.equal(edit.code, 0, edit.stderr);
  const reject = await vidflow(['reject', id, '--feedback', 'make it funnier'], env);
  assert.equal(reject.code, 0, reject.stderr);
  assert.match(reject.stdout, /rejected: making plan 2 from the prompt and your feedback/);
  assert.match(reject.stderr, /your edit to scene 2 does not carry over/);
  const round2 = await waitFor(id, 'plan 2', (s) => s.stage === 'awaiting_approval' && s.planRound === 2);
  for (const s of round2.scenes) assert.match(s.prompt, /a cat astronaut floating past the moon.*make it funnier/);

  const approve = await vidflow(['approve', id], env);
  assert.equal(approve.code, 0, approve.stderr);
  assert.match(approve.stdout, new RegExp(`approved: ${id} \\(the plan`));
  const review = await waitFor(id, 'the video to review', (s) => s.stage === 'reviewing_result');
  assert.equal(review.estimatedCostUsd, 0.7);

  const redo = await vidflow(['redo', id, '--scene', '2', '--prompt', 'a dog on a skateboard'], env);
  assert.equal(redo.code, 0, redo.stderr);
  assert.match(redo.stdout, /scene 2 will be generated again; estimated cost now \$1\.05/);
  await waitFor(
    id,
    'the redone video',
    (s) =>
      s.stage === 'reviewing_result' &&
      s.scenes[1]?.prompt === 'a dog on a skateboard' &&
      s.scenes[1].status === 'ready',
  );
  const approveVideo = await vidflow(['approve', id], env);
  assert.equal(approveVideo.code, 0, approveVideo.stderr);
  assert.match(approveVideo.stdout, /\(the video\)/);

  const out = join(dir, 'cat.mp4');
  const result = await vidflow(['result', id, '--download', '--out', out], env);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(existsSync(out), result.stdout);
  assert.ok(Math.abs(durationOf(out) - 9.5) <= 0.1, 'two 5 s scenes, one 0.5 s fade');

  // The re-plan is visible: scene 1's card carries plan 2's words, not plan 1's (compared with
  // cards drawn here the same way, in the emulator's first colour).
  video = out;
  round2Scenes = round2.scenes.map((s) => s.prompt);
  if (captionFont()) {
    const { toExpected, toStale } = await compareCaption(
      out,
      2.5,
      '1/2',
      { prompt: round2Scenes[0]!, color: 1 },
      { prompt: round1.scenes[0]!.prompt, color: 1 },
    );
    assert.ok(
      toExpected < 6 && toStale > toExpected + 3,
      `scene 1 caption: ${toExpected.toFixed(1)} vs plan 1's ${toStale.toFixed(1)}`,
    );
  }

  // The finished run: commands say how it ended, with or without a worker.
  const late = await vidflow(['approve', id], env);
  assert.equal(late.code, 1);
  assert.match(
    late.stderr,
    new RegExp(`run ${id} has finished, completed \\(video .*\\.mp4, 9\\.5 s\\): there is nothing to approve`),
  );
  assert.doesNotMatch(late.stderr, /no such run/);
  worker!.kill('SIGTERM');
  await once(worker!, 'exit');
  const done = await vidflow(['status', id], env);
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, new RegExp(`^${id}: completed`));
  assert.match(done.stdout, /scene 2\/2 {2}ready {7}a dog on a skateboard/);
  assert.match(done.stdout, /estimated cost: \$1\.05/);
  assert.match(done.stdout, /video: .*\.mp4 \(9\.5 s/);
  const missing = await vidflow(['status', 'no-such-run'], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no run "no-such-run" in namespace default: `vidflow list` shows the runs there/);
});

test("the redo is visible: scene 2's card in the downloaded video carries the redo's prompt", async (t) => {
  if (!captionFont())
    return t.skip('no font for drawtext on this machine (scripts/setup.sh installs fonts-dejavu-core)');
  assert.ok(video, 'the session above downloaded the video');
  // The redo's prompt was the emulator's 3rd distinct one (3rd colour); the first take's, the 2nd.
  const { toExpected, toStale } = await compareCaption(
    video,
    7.0,
    '2/2',
    { prompt: 'a dog on a skateboard', color: 3 },
    { prompt: round2Scenes[1]!, color: 2 },
  );
  assert.ok(
    toExpected < 6 && toStale > toExpected + 3,
    `scene 2 caption: ${toExpected.toFixed(1)} vs the first take's ${toStale.toFixed(1)}`,
  );
});
