/**
 * Records workflow histories for the replay test (test/replay.test.ts): each scenario runs
 * `videoPipeline` on a real Temporal server with stand-in activities and saves its history as
 * JSON under test/histories/. Re-record only for a deliberate, patched change; the point of the
 * files is that old histories keep replaying through new code.
 *
 *   TEMPORAL_TEST_ADDRESS=127.0.0.1:7233 npx tsx scripts/record-histories.ts [SET]
 *   npx tsx scripts/record-histories.ts --scrub     # only scrub the stack traces of existing files
 *
 * SET names a new set (files `<scenario>-<SET>.json`), recorded beside the older ones, which stay:
 * each set guards the code paths of the workflow version it was recorded with (e.g. `affinity`:
 * runs that claim a home worker, plus `moved`, where the first home never answers; `cleanup`: plus
 * `stitch-failed`, a run that fails with clips on its home and removes them; `paid`: plus
 * `short-clip`, a 0.2 s clip generated again, `over-budget`, an expiry refused by --max-cost, and
 * `reviewed`, an edit, approveRun updates and a redo in result review; `cancel`: the same, where
 * `fallback-cancelled`, cancelled during generation, and `flagged`, failed during it, run
 * cancelPredictions before their cleanup; `provider`: the same, every generation scheduled on the
 * provider queue; `storyboard`: the same, plus `storyboard` (keyframes, storyboard review, clips from
 * their keyframes), `storyboard-redo` (keyframe 2 redone in review), `storyboard-expired` (keyframe
 * 2's output gone before its download, generated again) and `multi-shot` (kling-v3, one clip).
 * `localclaim`: the same, the home worker claimed by a local activity (PATCH_LOCAL_CLAIM), plus
 * `queried` (status queries throughout: the claim's result reaches the workflow a task after its marker).
 *
 * Failures in a history carry the recording machine's stack traces; their absolute paths are
 * rewritten to `<repo>/...` before a file is saved (replay never reads stack traces), so a
 * committed history names no machine's folders.
 */
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { findTemporalBinary } from '../src/client/temporal-binary';
import { failure } from '../src/shared/failures';
import { providerTaskQueue } from '../src/shared/names';
import {
  approveSignal,
  approveUpdate,
  editSceneUpdate,
  redoKeyframeUpdate,
  redoSceneUpdate,
  statusQuery,
} from '../src/shared/messages';
import type { PipelineInputArgs } from '../src/shared/schemas';
import { videoPipeline } from '../src/workflows';
import { fakeActivities, newCalls } from '../test/helpers/fake-activities';
import { eventually, localEnv, uniqueTaskQueue, workflowBundle } from '../test/helpers/temporal';

const OUT_DIR = 'test/histories';
const REPO = resolve(__dirname, '..');

/**
 * A stack trace without absolute paths: this checkout becomes `<repo>`; a path from another
 * checkout (a file recorded elsewhere) is cut at its first node_modules/, else at its first src/,
 * scripts/, test/ or bench/ folder; any other absolute path keeps only its file name.
 */
function scrubStackTrace(stack: string): string {
  // A path starts a line, follows a space or "(", or follows file://.
  return stack
    .split(REPO + '/')
    .join('<repo>/')
    .replace(/(?<=^|[\s(]|file:\/\/)\/[^\s():'"]*?(?=\/node_modules\/)/g, '<repo>')
    .replace(/(?<=^|[\s(]|file:\/\/)\/[^\s():'"]*?(?=\/(?:src|scripts|test|bench)\/)/g, '<repo>')
    .replace(/(?<=^|[\s(]|file:\/\/)\/(?:[^\s():'"/]+\/)+/g, '<path>/');
}

/** A history (the Temporal CLI's JSON) with every `stackTrace` scrubbed; nothing else changes. */
function scrubHistory(json: string): string {
  const scrub = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(scrub);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [
          k,
          k === 'stackTrace' && typeof x === 'string' ? scrubStackTrace(x) : scrub(x),
        ]),
      );
    }
    return v;
  };
  return `${JSON.stringify(scrub(JSON.parse(json)), null, 2)}\n`;
}

async function scrubExisting(): Promise<void> {
  for (const f of (await readdir(OUT_DIR)).filter((n) => n.endsWith('.json'))) {
    const path = join(OUT_DIR, f);
    const before = await readFile(path, 'utf8');
    const after = scrubHistory(before);
    if (after !== before) await writeFile(path, after);
    console.log(`${after === before ? 'clean' : 'scrubbed'} ${path}`);
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--scrub') return scrubExisting();
  const address = process.env.TEMPORAL_TEST_ADDRESS;
  if (!address) throw new Error('set TEMPORAL_TEST_ADDRESS to a running dev server (scripts/test.sh starts one)');
  const cli = findTemporalBinary('cli', { install: true })?.path;
  if (!cli) throw new Error('no Temporal CLI found');
  const env = await localEnv();
  const outDir = OUT_DIR;
  const set = process.argv[2];
  if (set !== undefined && !/^[a-z0-9-]+$/.test(set)) throw new Error(`SET must be lower-case letters, digits, -`);
  const fileName = (scenario: string) => `${outDir}/${scenario}${set ? `-${set}` : ''}.json`;
  let movedClaims = 0;
  await mkdir(outDir, { recursive: true });
  let expired = false;
  let shortened = false;
  let keyframeExpired = false;
  const calls = newCalls();
  const base = fakeActivities(calls);
  const activities = fakeActivities(calls, {
    downloadClip: async (input) => {
      if (input.workflowId.includes('expired') && input.sceneIndex === 2 && !expired) {
        expired = true;
        throw failure('OutputExpired', 'scene 2/3: the clip URL answered 404');
      }
      // `over-budget`: scene 2's output expires, and --max-cost has no room to generate it again.
      if (input.workflowId.includes('over-budget') && input.sceneIndex === 2) {
        throw failure('OutputExpired', 'scene 2/3: the clip URL answered 404 (this run downloaded it before)');
      }
      // `short-clip`: scene 2's first clip is 0.2 s long, so it is generated again.
      if (input.workflowId.includes('short-clip') && input.sceneIndex === 2 && !shortened) {
        shortened = true;
        return { ...(await base.downloadClip(input)), durationSeconds: 0.2 };
      }
      return base.downloadClip(input);
    },
    generateClip: async (input) => {
      if (input.workflowId.includes('flagged') && input.sceneIndex === 1) {
        throw failure('ContentFlagged', 'scene 1/3: flagged as sensitive (E005)');
      }
      if (input.workflowId.includes('cancelled')) {
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(100);
        }
      }
      return base.generateClip(input);
    },
    downloadKeyframe: async (input) => {
      // `storyboard-expired`: keyframe 2's output is gone before its download; made again once.
      if (input.workflowId.includes('storyboard-expired') && input.keyframeIndex === 2 && !keyframeExpired) {
        keyframeExpired = true;
        throw failure('OutputExpired', "keyframe 2/4: the keyframe's URL answered 404 (the output is 1 h 2 min old)");
      }
      return base.downloadKeyframe(input);
    },
    claimWorker: async () => {
      // `moved`: the first home claimed never answers, so the run moves after its workerTimeout.
      if (Context.current().info.workflowExecution?.workflowId.includes('moved') && movedClaims++ === 0) {
        return { taskQueue: `${taskQueue}-nobody`, workerId: 'gone' };
      }
      return base.claimWorker();
    },
    stitchClips: async (input) => {
      // `stitch-failed`: the stitch fails for good, so the run fails with clips on its home.
      if (input.workflowId.includes('stitch-failed')) throw failure('StitchFailed', 'stitch: ffmpeg refused the clips');
      return base.stitchClips(input);
    },
    planScenes: async (input) => {
      if (input.prompt.includes('fallback')) throw failure('ProviderAuth', 'OPENAI_API_KEY was rejected (401)');
      return base.planScenes(input);
    },
  });
  const taskQueue = uniqueTaskQueue('record');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
    maxHeartbeatThrottleInterval: '200ms',
  });
  // Generations of runs since PATCH_PROVIDER_QUEUE are scheduled there.
  const provider = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: providerTaskQueue(taskQueue),
    activities,
    maxHeartbeatThrottleInterval: '200ms',
  });
  const providerRunning = provider.run();
  const stamp = Date.now().toString(36);
  await worker.runUntil(async () => {
    const run = async (
      name: string,
      prompt: string,
      steer: (h: ReturnType<typeof env.client.workflow.getHandle>) => Promise<void>,
      extra: Partial<PipelineInputArgs> = {},
    ) => {
      const handle = await env.client.workflow.start(videoPipeline, {
        taskQueue,
        workflowId: `record-${name}-${stamp}`,
        args: [{ prompt, ...extra }],
      });
      await steer(handle);
      await handle.result().catch(() => undefined);
      // The Temporal CLI's JSON is the format the Web UI downloads and historyFromJSON reads.
      const r = spawnSync(
        cli,
        ['workflow', 'show', '--address', address, '--workflow-id', handle.workflowId, '--output', 'json'],
        {
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      if (r.status !== 0) throw new Error(`temporal workflow show failed: ${r.stderr}`);
      await writeFile(fileName(name), scrubHistory(r.stdout));
      const events = (JSON.parse(r.stdout) as { events: unknown[] }).events.length;
      console.log(`recorded ${name}: ${events} events`);
    };
    const approve = async (h: ReturnType<typeof env.client.workflow.getHandle>) => {
      await eventually(async () => (await h.query(statusQuery)).stage === 'awaiting_approval');
      await h.signal(approveSignal);
    };
    await run('approved', 'a sunset over the sea', approve);
    await run('expired', 'a city at night', approve);
    await run('flagged', 'something', approve);
    await run('fallback-cancelled', 'fallback: waves roll in. gulls circle.', async (h) => {
      await approve(h);
      await eventually(async () => (await h.query(statusQuery)).stage === 'generating');
      await h.cancel();
    });
    if (set) await run('moved', 'a harbour at dawn', approve, { workerTimeout: '1s' });
    if (set) await run('stitch-failed', 'a forest in fog', approve);
    if (set) await run('short-clip', 'a kite over dunes', approve);
    if (set) await run('over-budget', 'a glacier at noon', approve, { maxCostUsd: 1.05 });
    // `queried`: status queries all along, as `vidflow watch` and the Web UI send them. A query
    // arriving as the home's local-activity claim completes moves its result to the next workflow task.
    if (set) {
      await run('queried', 'a ferry in rain', async (h) => {
        await approve(h);
        const storm = async () => {
          while ((await h.query(statusQuery)).stage !== 'completed');
        };
        await Promise.all([storm(), storm(), storm()]);
      });
    }
    if (set) {
      const inReview = async (h: ReturnType<typeof env.client.workflow.getHandle>, stitched: number) =>
        eventually(async () => {
          const s = await h.query(statusQuery);
          return (
            s.stage === 'reviewing_result' &&
            s.scenes.every((x) => x.status === 'ready') &&
            calls.stitch.length >= stitched
          );
        });
      await run(
        'reviewed',
        'a market at dusk',
        async (h) => {
          await eventually(async () => (await h.query(statusQuery)).stage === 'awaiting_approval');
          await h.executeUpdate(editSceneUpdate, { args: [{ index: 3, prompt: 'lanterns come on' }] });
          await h.executeUpdate(approveUpdate);
          const stitched = calls.stitch.length;
          await inReview(h, stitched + 1);
          await h.executeUpdate(redoSceneUpdate, { args: [{ index: 1, prompt: 'a spice stall, close up' }] });
          await inReview(h, stitched + 2);
          await h.executeUpdate(approveUpdate);
        },
        { reviewResult: true },
      );
    }
    if (set) {
      // Storyboard runs (#15): plan, keyframes, storyboard review (approve, or redo keyframe 2
      // first), then the clips from their keyframes; and a multi-shot run (one clip of all scenes).
      const stage = (h: ReturnType<typeof env.client.workflow.getHandle>, want: string, extra = () => true) =>
        eventually(async () => (await h.query(statusQuery)).stage === want && extra());
      const storyboard = (redo: boolean) => async (h: ReturnType<typeof env.client.workflow.getHandle>) => {
        await stage(h, 'awaiting_approval');
        await h.executeUpdate(approveUpdate);
        await stage(h, 'reviewing_storyboard');
        if (redo) {
          await h.executeUpdate(redoKeyframeUpdate, { args: [{ index: 2, prompt: 'the keeper climbs the stairs' }] });
          await eventually(async () => {
            const s = await h.query(statusQuery);
            return s.stage === 'reviewing_storyboard' && s.keyframes?.[1]?.attempts === 2;
          });
        }
        await h.executeUpdate(approveUpdate);
      };
      await run('storyboard', 'a lighthouse keeper at dusk', storyboard(false), { storyboard: true });
      await run('storyboard-redo', 'a lighthouse keeper at night', storyboard(true), { storyboard: true });
      await run('storyboard-expired', 'a lighthouse keeper at dawn', storyboard(false), { storyboard: true });
      await run('multi-shot', 'a fox crosses a snowy field', approve, { model: 'kling-v3', multiShot: true });
    }
  });
  provider.shutdown();
  await providerRunning;
  await env.teardown();
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
