/**
 * Generating a scene again after its clip turned out unusable is a new prediction, paid like the
 * first: so it counts. Each regeneration raises the estimate shown (`status`), must fit the run's
 * --max-cost, and happens at most once per scene and cause unless --max-cost leaves room for more
 * (up to MAX_REGENERATIONS_PER_CAUSE). A refusal fails the run with a catalogue type that names
 * the scene and the cause, after which the other scenes are cancelled: nothing more is paid.
 */
import { log } from '@temporalio/workflow';
import { failure } from '../shared/failures';
import type { FailureType } from '../shared/failures';
import type { ClipFile, SceneState } from '../shared/schemas';
import type { PipelineRun } from './run-state';

/** What made a clip unusable, and the failure type that reports it. */
export const REGENERATION_CAUSES = {
  expired: { type: 'OutputExpired', what: 'its output expired' },
  invalid: { type: 'InvalidClip', what: 'its clip was not a playable video' },
  short: { type: 'ClipTooShort', what: 'its clip was much shorter than asked' },
} as const satisfies Record<string, { type: FailureType; what: string }>;
export type RegenerationCause = keyof typeof REGENERATION_CAUSES;

/** With a --max-cost that leaves room, a scene may be generated again this often per cause. */
export const MAX_REGENERATIONS_PER_CAUSE = 3;

/** A clip shorter than this fraction of the scene is generated again (Kling's 5 s clips are 5.0–5.1 s). */
export const MIN_CLIP_FRACTION = 0.5;

export function regenerationCause(type: FailureType | undefined): RegenerationCause | undefined {
  for (const [cause, c] of Object.entries(REGENERATION_CAUSES)) if (c.type === type) return cause as RegenerationCause;
  return undefined;
}

/**
 * The shortest clip the run takes: half the scene, and always long enough for its cross-fades
 * (a middle clip fades in and out), which is what the stitch would otherwise fail on.
 */
export function minClipSeconds(run: PipelineRun): number {
  return Math.max(run.input.sceneSeconds * MIN_CLIP_FRACTION, 2 * run.input.transitionSeconds + 0.5);
}

/** Why `clip` is too short for the run, or undefined when it is long enough. */
export function tooShort(run: PipelineRun, clip: ClipFile): string | undefined {
  const min = minClipSeconds(run);
  if (clip.durationSeconds >= min) return undefined;
  return `the clip is ${clip.durationSeconds.toFixed(2)} s long, for a ${run.input.sceneSeconds} s scene (at least ${min.toFixed(1)} s is needed)`;
}

/**
 * Counts one more regeneration of `scene` for `cause` and raises the estimate, or throws when the
 * run may not pay for it: CostLimitExceeded above --max-cost, else the cause's own type once its
 * regenerations are used up. `reason` is what the failed attempt said.
 */
export function countRegeneration(run: PipelineRun, scene: SceneState, cause: RegenerationCause, reason: string): void {
  const tag = `scene ${scene.index}/${run.sceneCount}`;
  const { type, what } = REGENERATION_CAUSES[cause];
  const key = `${scene.index}:${cause}`;
  const done = run.regenerations.get(key) ?? 0;
  const max = run.input.maxCostUsd;
  const limit = max === undefined ? 1 : MAX_REGENERATIONS_PER_CAUSE;
  if (done >= limit) {
    const times = done === 1 ? 'once' : `${done} times`;
    const more = max === undefined ? ' (a --max-cost with room for more allows more)' : '';
    throw failure(type, `${tag}: ${what} again, after it was generated again ${times} for that${more}: ${reason}`);
  }
  const after = run.costWithOneMoreScene();
  if (max !== undefined && after > max) {
    throw failure(
      'CostLimitExceeded',
      `${tag}: ${what}, and generating it again would bring the estimated cost to $${after.toFixed(2)}, above --max-cost $${max.toFixed(2)}: ${reason}`,
    );
  }
  run.regenerations.set(key, done + 1);
  run.status.estimatedCostUsd = after;
  log.warn(`${tag}: ${reason}; generating it again (${what}; estimate now $${after.toFixed(2)})`);
}
