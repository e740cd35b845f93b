/**
 * Producing scenes: all at once, each a chain generate → download, so a clip is fetched the moment
 * it is ready. A scene's output URL is kept, so a new download (another worker) never pays for a
 * new prediction; only an expired, unplayable or far too short clip is generated again, and each
 * such regeneration is counted and bounded (./regeneration).
 */
import { CancellationScope, isCancellation, log, patched, workflowInfo } from '@temporalio/workflow';
import { failure } from '../shared/failures';
import type { FailureType } from '../shared/failures';
import type { ClipFile, SceneState } from '../shared/schemas';
import { failureTypeOf, homeWasLost, messageOf, tagged } from './activity-failures';
import { cancelPredictions, DOWNLOAD_OUTAGE_RETRY, generateClip, generationQueue } from './activity-options';
import { homeWorker, leaveHome } from './home-worker';
import { PATCH_CANCEL_PREDICTIONS, PATCH_PAID_CLIPS_KEPT } from './patches';
import { predecessors } from './predecessors';
import { countRegeneration, regenerationCause, tooShort } from './regeneration';
import type { Home, PipelineRun } from './run-state';
import { sceneFrames } from './keyframe-production';

/** Runs recorded before PATCH_PAID_CLIPS_KEPT: an expired or unplayable clip was generated again at most this often. */
export const MAX_REGENERATIONS = 2;

/** Runs recorded before PATCH_PAID_CLIPS_KEPT: failure types after which a scene was generated again. */
const REGENERATE_ON: readonly FailureType[] = ['OutputExpired', 'InvalidClip'];

/**
 * Produces the given scenes at once. When one scene fails for good the others are cancelled (which
 * cancels their predictions at Replicate) and awaited, so a failed run stops spending before it
 * reports the failure. With result review, a scene stopped by content moderation is not a
 * failure: it waits, flagged, for a person to edit and redo it.
 */
export async function produceScenes(run: PipelineRun, scenes: SceneState[]): Promise<void> {
  const scope = new CancellationScope();
  let firstFailure: unknown;
  const settled = await scope.run(() =>
    Promise.allSettled(
      scenes.map(async (scene) => {
        try {
          const clip = await produceScene(run, scene);
          if (clip) run.clips.set(scene.index, clip);
        } catch (err) {
          if (isCancellation(err)) {
            scene.status = 'cancelled';
          } else if (firstFailure === undefined) {
            firstFailure = err;
            scope.cancel();
          }
          throw err;
        }
      }),
    ),
  );
  if (firstFailure !== undefined) throw firstFailure as Error;
  for (const r of settled) if (r.status === 'rejected') throw r.reason as Error;
  if (run.input.multiShot) mirrorFirstScene(run);
  const flagged = run.status.scenes.filter((s) => s.status === 'flagged');
  if (flagged.length) {
    run.status.error =
      flagged.map((s) => `scene ${s.index}: ${s.error ?? 'flagged'}`).join('; ') + ' — edit and redo it';
  }
}

/**
 * Stops what a cancelled or failed run may have left running at Replicate; call it after
 * produceScenes settled. A generation cancelled while its attempt runs cancels its own prediction,
 * but one cancelled in its retry backoff (after a handover or a crash), or on a dead worker, has
 * nobody to do it: the prediction would run, and bill, until its Cancel-After deadline. Best effort
 * and never cancelled itself: the run closes as it would have, with a warning if this failed.
 */
export async function cancelUnfinishedPredictions(run: PipelineRun): Promise<void> {
  // patched() only when a generation did not finish: where it is called is part of the histories.
  if (run.unfinishedGenerations === 0 || !patched(PATCH_CANCEL_PREDICTIONS)) return;
  await CancellationScope.nonCancellable(() =>
    cancelPredictions
      .executeWithOptions({ summary: `cancel the run's predictions at Replicate` }, [
        { workflowId: run.workflowId, runStartedAt: workflowInfo().startTime.toISOString() },
      ])
      .then((r) => log.info(`predictions cancelled at Replicate: ${r.cancelled.length} (${r.found} of this run found)`))
      .catch((err: unknown) =>
        log.warn(`cancelling the run's predictions failed: ${messageOf(err)} (their Cancel-After deadline stops them)`),
      ),
  );
}

/**
 * Generates a scene (unless its output URL is already known) and downloads it to the run's home
 * worker. An expired or unplayable output is generated again; a home that vanished is replaced
 * and the download repeated there, without a new prediction.
 */
async function produceScene(run: PipelineRun, scene: SceneState): Promise<ClipFile | undefined> {
  const { workflowId, input, sceneCount } = run;
  const tag = `scene ${scene.index}/${sceneCount}`;
  for (let round = 0; ;) {
    let at: Home | undefined;
    try {
      let url = run.outputs.get(scene.index);
      if (url === undefined) {
        // Storyboard runs: keyframe i to keyframe i+1, uploaded before anything is paid for.
        const frames = input.storyboard ? await sceneFrames(run, scene.index) : {};
        scene.status = 'generating';
        scene.attempts++;
        run.refreshDetails();
        run.unfinishedGenerations++;
        const gen = await generateClip.executeWithOptions({ summary: `generate ${tag}`, ...generationQueue() }, [
          {
            workflowId,
            sceneIndex: scene.index,
            sceneCount,
            prompt: scene.prompt,
            model: run.modelId,
            seconds: input.sceneSeconds,
            ...multiShot(run),
            aspectRatio: input.aspectRatio,
            // Counts every prediction asked for this scene (first, redos, regenerations): the same
            // number again after a reset, so the reset run finds what this generation paid for.
            generation: scene.attempts - 1,
            ...(input.audio ? { audio: true } : {}),
            ...predecessors(),
            ...frames,
          },
        ]);
        run.unfinishedGenerations--;
        scene.predictionId = gen.predictionId;
        url = gen.outputUrl;
        run.outputs.set(scene.index, url);
        run.outputSeenAt.set(scene.index, new Date().toISOString());
      }
      scene.status = 'downloading';
      run.refreshDetails();
      at = await homeWorker(run);
      const ridesOutages = patched(PATCH_PAID_CLIPS_KEPT);
      const clip = await at.acts.downloadClip.executeWithOptions(
        { summary: `download ${tag}`, ...(ridesOutages ? { retry: DOWNLOAD_OUTAGE_RETRY } : {}) },
        [
          {
            workflowId,
            sceneIndex: scene.index,
            sceneCount,
            url,
            ...(scene.predictionId ? { predictionId: scene.predictionId } : {}),
            ...outputFacts(run, scene.index, url),
          },
        ],
      );
      run.downloadedUrls.add(url);
      const short = ridesOutages ? tooShort(run, clip) : undefined;
      if (short) throw failure('ClipTooShort', `${tag}: ${short}`);
      run.clipHome.set(scene.index, at.taskQueue);
      scene.status = 'ready';
      delete scene.error;
      run.refreshDetails();
      log.info(`${tag}: clip ready (${clip.durationSeconds.toFixed(1)} s)`);
      return clip;
    } catch (err) {
      if (isCancellation(err)) throw err;
      if (at && homeWasLost(err)) {
        leaveHome(run, at, `download of ${tag}`);
        continue;
      }
      const type = failureTypeOf(err);
      scene.error = messageOf(err);
      const cause = regenerationCause(type);
      if (cause && patched(PATCH_PAID_CLIPS_KEPT)) {
        try {
          countRegeneration(run, scene, cause, scene.error.replace(`${tag}: `, ''));
        } catch (refused) {
          scene.error = messageOf(refused);
          scene.status = 'failed';
          run.refreshDetails();
          throw refused;
        }
        run.outputs.delete(scene.index);
        continue;
      }
      if (type && REGENERATE_ON.includes(type) && round < MAX_REGENERATIONS) {
        log.warn(`${tagged(tag, scene.error)}; generating it again`);
        run.outputs.delete(scene.index);
        round++;
        continue;
      }
      if (type === 'ContentFlagged' && input.reviewResult) {
        scene.status = 'flagged';
        run.refreshDetails();
        log.warn(`${tag}: ${scene.error}; waiting for an edit and a redo`);
        return undefined;
      }
      scene.status = 'failed';
      run.refreshDetails();
      throw err;
    }
  }
}

/** What the download needs to tell an expired output from a glitch on the way (../support/output-expiry). */
function outputFacts(
  run: PipelineRun,
  index: number,
  url: string,
): { outputSeenAt?: string; downloadedBefore?: boolean } {
  const seen = run.outputSeenAt.get(index);
  return {
    ...(seen ? { outputSeenAt: seen } : {}),
    ...(run.downloadedUrls.has(url) ? { downloadedBefore: true } : {}),
  };
}

/**
 * A multi-shot run asks for one clip holding every scene as a shot: the run's prompt as the whole,
 * each scene's prompt as its shot, the clip as long as all of them. Empty for other runs.
 */
function multiShot(run: PipelineRun): {
  prompt?: string;
  seconds?: number;
  shots?: { prompt: string; seconds: number }[];
} {
  const { input, status } = run;
  if (!input.multiShot) return {};
  return {
    prompt: input.prompt,
    seconds: input.sceneSeconds * status.scenes.length,
    shots: status.scenes.map((s) => ({ prompt: s.prompt, seconds: input.sceneSeconds })),
  };
}

/** In a multi-shot run the other scenes are shots of the first scene's clip: they share its state. */
function mirrorFirstScene(run: PipelineRun): void {
  const [first, ...rest] = run.status.scenes;
  if (!first) return;
  for (const s of rest) {
    s.status = first.status;
    s.attempts = first.attempts;
    if (first.predictionId) s.predictionId = first.predictionId;
  }
  run.refreshDetails();
}
