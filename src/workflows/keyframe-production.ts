/**
 * Making keyframes: each generated (paid like a clip: keyed by its generation, on the provider
 * queue) and downloaded to the home worker, all at once, then the contact sheet; and uploading them
 * to Replicate's Files API when a scene needs its first and last frame. The review around them is
 * in ./storyboard.
 */
import { CancellationScope, isCancellation, log, patched } from '@temporalio/workflow';
import { failure } from '../shared/failures';
import type { KeyframeState } from '../shared/schemas';
import { failureTypeOf, homeWasLost, messageOf, tagged } from './activity-failures';
import { generateKeyframe, generationQueue } from './activity-options';
import { homeWorker, leaveHome } from './home-worker';
import { PATCH_KEYFRAME_UPLOAD_REFRESH } from './patches';
import { predecessors } from './predecessors';
import type { Home, PipelineRun } from './run-state';

/** One seed for every keyframe of a run (from its id: deterministic), so the frames share a look. */
function seedOf(workflowId: string): number {
  let h = 2166136261;
  for (let i = 0; i < workflowId.length; i++) h = Math.imul(h ^ workflowId.charCodeAt(i), 16777619) >>> 0;
  return h % 2147483647;
}

/** Makes the given keyframes at once, then the contact sheet; the first failure cancels the rest. */
export async function makeKeyframes(run: PipelineRun, keyframes: KeyframeState[]): Promise<void> {
  const scope = new CancellationScope();
  let firstFailure: unknown;
  await scope.run(() =>
    Promise.allSettled(
      keyframes.map((kf) =>
        makeKeyframe(run, kf).catch((err: unknown) => {
          kf.status = isCancellation(err) ? 'cancelled' : 'failed';
          if (firstFailure === undefined && !isCancellation(err)) {
            firstFailure = err;
            scope.cancel();
          }
        }),
      ),
    ),
  );
  if (firstFailure !== undefined) throw firstFailure as Error;
  const at = await homeWorker(run);
  const sheet = await at.acts.makeContactSheet!.executeWithOptions({ summary: 'make the contact sheet' }, [
    { workflowId: run.workflowId, keyframes: run.status.keyframes!.map((k) => k.path!) },
  ]);
  run.status.contactSheet = sheet.path;
  run.refreshDetails();
}

/**
 * Generates one keyframe (paid like a clip: keyed by its generation) and downloads it to the home
 * worker. An output that expired before it was downloaded (no worker for an hour) is generated
 * again, once, counted in the estimate and within --max-cost, like a clip's regeneration.
 */
async function makeKeyframe(run: PipelineRun, kf: KeyframeState): Promise<void> {
  for (let regenerated = false; ; regenerated = true) {
    try {
      return await makeKeyframeOnce(run, kf);
    } catch (err) {
      if (isCancellation(err) || failureTypeOf(err) !== 'OutputExpired') throw err;
      const tag = `keyframe ${kf.index}/${run.keyframeCount}`;
      if (regenerated) throw err;
      const after = run.costWithMore(1, 0);
      const max = run.input.maxCostUsd;
      if (max !== undefined && after > max) {
        throw failure(
          'CostLimitExceeded',
          `${tag}: its output expired, and generating it again would bring the estimated cost to $${after.toFixed(3)}, above --max-cost $${max.toFixed(2)}`,
        );
      }
      run.status.estimatedCostUsd = after;
      log.warn(`${tagged(tag, messageOf(err))}; generating it again (estimate now $${after.toFixed(3)})`);
    }
  }
}

async function makeKeyframeOnce(run: PipelineRun, kf: KeyframeState): Promise<void> {
  const { workflowId, keyframeCount, input } = run;
  const tag = `keyframe ${kf.index}/${keyframeCount}`;
  kf.status = 'generating';
  kf.attempts++;
  delete kf.error;
  run.refreshDetails();
  run.unfinishedGenerations++;
  // On the provider queue like clips: keyframe creates count against the same account limit.
  const gen = await generateKeyframe.executeWithOptions({ summary: `generate ${tag}`, ...generationQueue() }, [
    {
      workflowId,
      keyframeIndex: kf.index,
      keyframeCount,
      prompt: kf.prompt,
      imageModel: run.imageModel,
      aspectRatio: input.aspectRatio,
      ...(input.reference ? { referenceImage: input.reference } : {}),
      seed: seedOf(workflowId),
      generation: kf.attempts - 1,
      ...predecessors(),
    },
  ]);
  run.unfinishedGenerations--;
  kf.predictionId = gen.predictionId;
  kf.url = gen.outputUrl;
  const seenAt = new Date().toISOString();
  kf.status = 'downloading';
  run.refreshDetails();
  const file = await onHome(run, `download of ${tag}`, (at) =>
    at.acts.downloadKeyframe!.executeWithOptions({ summary: `download ${tag}` }, [
      {
        workflowId,
        keyframeIndex: kf.index,
        keyframeCount,
        url: gen.outputUrl,
        predictionId: gen.predictionId,
        outputSeenAt: seenAt,
      },
    ]),
  );
  kf.path = file.path;
  kf.status = 'ready';
  run.refreshDetails();
}

/** Runs a disk-bound step on the home worker; a home that stopped answering is left for another. */
async function onHome<T>(run: PipelineRun, what: string, step: (at: Home) => Promise<T>): Promise<T> {
  for (;;) {
    const at = await homeWorker(run);
    try {
      return await step(at);
    } catch (err) {
      if (!homeWasLost(err)) throw err;
      leaveHome(run, at, what);
    }
  }
}

/**
 * A storyboard scene's frames: keyframe i and i+1, uploaded to Replicate's Files API from the home
 * worker (the image predictions' own URLs expire after an hour, and the review may take longer).
 * Each keyframe generation is uploaded once, however many scenes (or redos) use it.
 */
export async function sceneFrames(
  run: PipelineRun,
  sceneIndex: number,
): Promise<{ startImage: string; endImage: string }> {
  const [startImage, endImage] = await Promise.all([uploaded(run, sceneIndex), uploaded(run, sceneIndex + 1)]);
  return { startImage, endImage };
}

/**
 * How long an upload is handed to new generations. Replicate deletes uploaded files about 24 h after
 * upload; half of that leaves room for a generation that queues at Replicate before it reads its
 * frames. Uploading again is free (the Files API costs nothing), so erring early costs one upload.
 */
export const KEYFRAME_UPLOAD_REUSE_MS = 12 * 60 * 60 * 1000;

function uploaded(run: PipelineRun, k: number): Promise<string> {
  const kf = run.status.keyframes![k - 1]!;
  const cached = run.keyframeUploads.get(k);
  // The workflow's clock (new Date() is the workflow task's time): replays see the same age.
  // patched() is asked only for an old upload, so runs that never meet one carry no marker.
  const stale = (at: number) =>
    new Date().getTime() - at > KEYFRAME_UPLOAD_REUSE_MS && patched(PATCH_KEYFRAME_UPLOAD_REFRESH);
  if (cached && cached.attempts === kf.attempts && !stale(cached.at)) return cached.url;
  if (cached && cached.attempts === kf.attempts) {
    log.info(`keyframe ${kf.index}/${run.keyframeCount}: its upload is over 12 h old; uploading it again`);
  }
  const url = upload(run, kf);
  run.keyframeUploads.set(k, { attempts: kf.attempts, at: new Date().getTime(), url });
  // A failed upload is not cached: the next scene (or a retry of the run) uploads again.
  url.catch(() => {
    if (run.keyframeUploads.get(k)?.url === url) run.keyframeUploads.delete(k);
  });
  return url;
}

async function upload(run: PipelineRun, kf: KeyframeState): Promise<string> {
  const { workflowId, keyframeCount } = run;
  const tag = `keyframe ${kf.index}/${keyframeCount}`;
  for (;;) {
    const at = await homeWorker(run);
    try {
      // A new home has no file yet: download the (paid) keyframe there again first.
      if (!kf.path) {
        const again = {
          workflowId,
          keyframeIndex: kf.index,
          keyframeCount,
          url: kf.url!,
          predictionId: kf.predictionId!,
        };
        const file = await at.acts.downloadKeyframe!.executeWithOptions({ summary: `download ${tag} again` }, [
          { ...again, downloadedBefore: true },
        ]);
        kf.path = file.path;
      }
      const r = await at.acts.uploadKeyframe!.executeWithOptions({ summary: `upload ${tag}` }, [
        { workflowId, keyframeIndex: kf.index, path: kf.path },
      ]);
      return r.url;
    } catch (err) {
      if (!homeWasLost(err)) throw err;
      leaveHome(run, at, `upload of ${tag}`);
      delete kf.path;
    }
  }
}
