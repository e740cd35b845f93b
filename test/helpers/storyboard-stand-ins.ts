/**
 * Stand-in activities for storyboard workflow tests (the workflow's logic on a real Temporal
 * server; the real keyframe activities are tested end to end on the emulators): every keyframe
 * generation has its own URL, file and upload, so each scene's frames can be traced.
 */
import type { Activities } from '../../src/activities';
import type { GenerateClipInput, GenerateKeyframeInput, KeyframeActivities } from '../../src/shared/activity-io';
import type { KeyframeFileActivities } from '../../src/shared/activity-io';
import { fakeActivities, newCalls } from './fake-activities';

export interface StoryboardCalls {
  keyframes: GenerateKeyframeInput[];
  uploads: string[];
  sheets: string[][];
  clips: GenerateClipInput[];
  stitches: { clips: string[]; transitionSeconds: number }[];
}

/** The stand-ins: every keyframe generation has its own URL and file, so the frames can be traced. */
export function storyboardActivities(): { acts: Activities; calls: StoryboardCalls } {
  const calls: StoryboardCalls = { keyframes: [], uploads: [], sheets: [], clips: [], stitches: [] };
  const base = fakeActivities(newCalls());
  const keyframeActs: KeyframeActivities & KeyframeFileActivities = {
    generateKeyframe: async (input) => {
      calls.keyframes.push(input);
      await new Promise((r) => setTimeout(r, 50));
      const name = `kf${input.keyframeIndex}g${input.generation ?? 0}`;
      return { predictionId: `img-${name}`, outputUrl: `https://replicate.delivery/i/${name}.png` };
    },
    downloadKeyframe: async (input) => ({
      path: `/tmp/${input.workflowId}/${input.url.split('/').pop()!}`,
      sizeBytes: 1,
      width: 64,
      height: 36,
    }),
    uploadKeyframe: async (input) => {
      calls.uploads.push(input.path);
      return { url: `https://api.replicate.com/v1/files/${input.path.split('/').pop()!}`, fileId: 'f' };
    },
    makeContactSheet: async (input) => {
      calls.sheets.push(input.keyframes);
      return { path: `/tmp/${input.workflowId}/contact-sheet.png` };
    },
  };
  const acts = {
    ...base,
    ...keyframeActs,
    generateClip: async (input: GenerateClipInput) => {
      calls.clips.push(input);
      return base.generateClip(input);
    },
    stitchClips: async (input: Parameters<Activities['stitchClips']>[0]) => {
      calls.stitches.push({ clips: input.clips, transitionSeconds: input.transitionSeconds });
      return base.stitchClips(input);
    },
  };
  return { acts, calls };
}

export const file = (k: number, g: number) => `https://api.replicate.com/v1/files/kf${k}g${g}.png`;
/** Each scene's frames, by scene, as the video generations got them (last generation wins). */
export function framesByScene(clips: GenerateClipInput[]): Record<number, [string?, string?]> {
  const out: Record<number, [string?, string?]> = {};
  for (const c of clips) out[c.sceneIndex] = [c.startImage, c.endImage];
  return out;
}
