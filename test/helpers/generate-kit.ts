/**
 * generateClip against the Replicate emulator, for the activities-generate* tests: the emulators
 * (fast predictions, reset before each test), the activity as the worker calls it with fast
 * polling, and short ways to read what the emulator saw.
 */
import assert from 'node:assert/strict';
import type { Info } from '@temporalio/activity';
import { createGenerateActivities } from '../../src/activities/generate';
import type { GenerateDeps } from '../../src/activities/generate';
import { KLING_MODEL } from '../../src/emulators';
import type { PredictionJson } from '../../src/emulators';
import type { GenerateClipInput, GenerateClipResult } from '../../src/shared/schemas';
import { REPLICATE_TOKEN, harness, useEmulators } from './activity-env';
import type { Harness } from './activity-env';

export const INPUT: GenerateClipInput = {
  workflowId: 'gen-test',
  sceneIndex: 1,
  sceneCount: 3,
  prompt: 'A red kite over green hills at noon, slow dolly-in',
  model: 'kling-v2.5-turbo-pro',
  seconds: 5,
  aspectRatio: '16:9',
};
/** What Kling receives for INPUT: its real field names. */
export const KLING_INPUT = { prompt: INPUT.prompt, duration: 5, aspect_ratio: '16:9' };

export const lastHeartbeat = (h: Harness): unknown => h.heartbeats.at(-1);

/** Registers the emulators for this test file and returns the ways to run and observe generateClip. */
export function useGenerateKit() {
  const emu = useEmulators({
    eachTest: { replicate: { startingMs: 50, processingMs: 250, clipWidth: 320, clipHeight: 180 } },
  });

  /** The activity as a plain function (as the worker calls it), with fast polling. */
  function activities(deps: Partial<GenerateDeps> = {}, token = REPLICATE_TOKEN) {
    const acts = createGenerateActivities({
      replicate: emu.replicate(token),
      pollIntervalMs: 20,
      maxPollIntervalMs: 40,
      ...deps,
    });
    return { generateClip: (input: GenerateClipInput) => acts.generateClip(input) };
  }

  function generate(
    input: GenerateClipInput = INPUT,
    info: Partial<Info> = {},
    deps: Partial<GenerateDeps> = {},
  ): { h: Harness; result: Promise<GenerateClipResult> } {
    const h = harness(info);
    const { generateClip } = activities(deps);
    return { h, result: h.run(generateClip, input) };
  }

  const rep = () => emu.state.replicate;
  const only = (): PredictionJson => {
    const ps = rep().predictions;
    assert.equal(ps.length, 1, 'exactly one prediction exists');
    return ps[0]!;
  };
  /** A prediction made straight at the emulator, as a crashed attempt would have left it. */
  const createDirect = (input: Record<string, unknown> = KLING_INPUT) =>
    emu.replicate().predictions.create({ model: KLING_MODEL, input });

  return { emu, activities, generate, rep, only, createDirect };
}
