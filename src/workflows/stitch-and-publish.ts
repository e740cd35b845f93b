/**
 * The last steps, on the home worker: stitch the clips into one video and publish it to the
 * artifact store. The clips must all be on the home's disk first: after a move, the ones left on
 * the old worker are downloaded again from their output URLs (no new prediction).
 */
import { log } from '@temporalio/workflow';
import { failureTypeOf, homeWasLost } from './activity-failures';
import { homeWorker, leaveHome, MAX_WORKER_MOVES } from './home-worker';
import type { PipelineRun } from './run-state';
import { produceScenes } from './scene-production';

export async function stitchAtHome(run: PipelineRun): Promise<void> {
  const { workflowId, input, status: state, clips, clipHome } = run;
  for (;;) {
    const at = await homeWorker(run);
    const away = run.clipScenes().filter((s) => clipHome.get(s.index) !== at.taskQueue);
    if (away.length > 0) {
      log.info(`fetching ${away.length} clip(s) again on worker ${at.workerId ?? at.taskQueue}`);
      // Their old clips are on another disk: forget them, so a scene that comes back without a
      // clip (regenerated, then flagged) is seen as missing instead of fetched again forever.
      for (const s of away) clips.delete(s.index);
      await produceScenes(run, away);
      if (!run.hasAllClips()) return; // flagged: the result review takes it from here
      continue;
    }
    try {
      const output = await at.acts.stitchClips.executeWithOptions(
        { summary: `stitch ${run.clipScenes().length} clips` },
        [
          {
            workflowId,
            clips: run.clipScenes().map((s) => clips.get(s.index)!.path),
            transitionSeconds: input.transitionSeconds,
          },
        ],
      );
      state.output = output;
      if (at.acts.publishVideo) {
        const published = await at.acts.publishVideo.executeWithOptions({ summary: 'publish the video' }, [
          { workflowId, path: output.path },
        ]);
        state.artifactUri = published.uri;
      }
      run.refreshDetails();
      return;
    } catch (err) {
      if (homeWasLost(err)) {
        leaveHome(run, at, 'stitch');
        continue;
      }
      const vanished = failureTypeOf(err);
      if ((vanished === 'OutputMissing' || vanished === 'ClipsMissing') && run.moves < MAX_WORKER_MOVES) {
        // The clips, or the stitched file before it was published, vanished from the home (a
        // wiped disk): fetch the clips again and stitch again; bounded like moves.
        run.moves++;
        log.warn(
          `the ${vanished === 'OutputMissing' ? 'video' : 'clips'} vanished from worker ${at.workerId ?? at.taskQueue}: fetching the clips again and stitching again`,
        );
        clipHome.clear();
        continue;
      }
      throw err;
    }
  }
}
