/**
 * Stand-in activities for tests about the workflow itself (and for recording replay histories):
 * they answer instantly and record how they were called.
 */
import { Context } from '@temporalio/activity';
import type { Activities } from '../../src/activities';
import type { ClipFile } from '../../src/shared/schemas';

export interface Calls {
  plan: number;
  generate: number[];
  download: number[];
  stitch: string[][];
  cleanup: number;
  /** Task queues the disk-bound steps were claimed for. */
  claims: string[];
  publish: string[];
  maxConcurrentGenerations: number;
}

export function fakeActivities(calls: Calls, over: Partial<Activities> = {}): Activities {
  let running = 0;
  const clip = (i: number): ClipFile => ({
    path: `/tmp/scene-${i}.mp4`,
    sizeBytes: 1,
    durationSeconds: 5,
    width: 64,
    height: 36,
    fps: 24,
    hasAudio: false,
  });
  return {
    planScenes: async (input) => {
      calls.plan++;
      return {
        planner: 'openai',
        scenes: Array.from({ length: input.scenes }, (_, i) => `shot ${i + 1} of ${input.prompt}`),
      };
    },
    generateClip: async (input) => {
      calls.generate.push(input.sceneIndex);
      running++;
      calls.maxConcurrentGenerations = Math.max(calls.maxConcurrentGenerations, running);
      await new Promise((r) => setTimeout(r, 300));
      running--;
      return {
        predictionId: `p${input.sceneIndex}-${calls.generate.length}`,
        outputUrl: `https://replicate.delivery/x/${input.sceneIndex}.mp4`,
      };
    },
    downloadClip: async (input) => {
      calls.download.push(input.sceneIndex);
      return clip(input.sceneIndex);
    },
    stitchClips: async (input) => {
      calls.stitch.push(input.clips);
      return { path: `/tmp/out/${input.workflowId}.mp4`, durationSeconds: 14, sizeBytes: 1000 };
    },
    removeWorkFiles: async () => {
      calls.cleanup++;
    },
    cancelPredictions: async () => ({ cancelled: [], found: 0, searched: 0 }),
    // One test worker serves everything: its own queue is the queue the claim came in on.
    claimWorker: async () => {
      const { taskQueue } = Context.current().info;
      calls.claims.push(taskQueue);
      return { taskQueue, workerId: `test-worker@${taskQueue}` };
    },
    publishVideo: async (input) => {
      calls.publish.push(input.workflowId);
      return { uri: `file://test${input.path}`, sizeBytes: 1000 };
    },
    // Storyboard keyframes (#15): instant answers, for workflow tests that do not look at them.
    generateKeyframe: async (input) => ({
      predictionId: `kf${input.keyframeIndex}-${input.generation ?? 0}`,
      outputUrl: `https://replicate.delivery/x/keyframe-${input.keyframeIndex}.png`,
    }),
    downloadKeyframe: async (input) => ({
      path: `/tmp/keyframe-${input.keyframeIndex}.png`,
      sizeBytes: 1,
      width: 64,
      height: 36,
    }),
    uploadKeyframe: async (input) => ({
      url: `https://api.replicate.com/v1/files/kf${input.keyframeIndex}`,
      fileId: `kf${input.keyframeIndex}`,
    }),
    makeContactSheet: async (input) => ({ path: `/tmp/${input.workflowId}-contact-sheet.jpg` }),
    ...over,
  };
}

export const newCalls = (): Calls => ({
  plan: 0,
  generate: [],
  download: [],
  stitch: [],
  cleanup: 0,
  claims: [],
  publish: [],
  maxConcurrentGenerations: 0,
});
