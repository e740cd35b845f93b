/**
 * `vidflow redo <id> --scene N [--prompt "..."]`: while the result is reviewed (--review-result),
 * generates one scene again (paid) and stitches again; the other clips are kept.
 * `vidflow redo <id> --keyframe K [--prompt "..."]` (storyboard runs): makes keyframe K again; in
 * the storyboard review only the image, in the result review also scenes K-1 and K.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors';
import { findRun, refuseIfEnded, requireWorker } from '../run-lookup';
import { redoArgs, redoKeyframe, redoKeyframeArgs, redoScene } from '../steer';
import type { ConfigLoader } from './command';
import { out, workflowIdArg } from './command';

export const usage = `usage: vidflow redo <id> --scene N [--prompt "..."]   regenerate one scene and stitch again (review)
       vidflow redo <id> --keyframe K [--prompt "..."]   storyboard runs: regenerate keyframe K
         (in the result review also scenes K-1 and K); --prompt is the new moment, the look is kept`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { scene: { type: 'string' }, keyframe: { type: 'string' }, prompt: { type: 'string' } },
    allowPositionals: true,
  });
  const id = workflowIdArg(positionals, usage);
  const { scene, keyframe, prompt } = values;
  if (scene !== undefined && keyframe !== undefined) {
    throw new UsageError(`give --scene N or --keyframe K, not both\n\n${usage}`);
  }
  if (scene === undefined && keyframe === undefined) {
    throw new UsageError(`--scene N is required: the scene to redo (from 1); or --keyframe K\n\n${usage}`);
  }
  // Bad arguments are refused before the run is looked up.
  if (keyframe !== undefined) redoKeyframeArgs(keyframe, prompt);
  else redoArgs(scene, prompt);
  const found = await findRun(config(), id);
  await refuseIfEnded(found, 'redo');
  await requireWorker(found, 'a redo');
  if (keyframe !== undefined) {
    const r = await redoKeyframe(found.handle, keyframe, prompt);
    const scenes = r.scenes.length ? `, then scene${r.scenes.length > 1 ? 's' : ''} ${r.scenes.join(' and ')}` : '';
    out(`keyframe ${r.index} will be made again${scenes}; estimated cost now $${r.estimatedCostUsd.toFixed(2)}`);
    return 0;
  }
  const r = await redoScene(found.handle, scene, prompt);
  out(`scene ${r.index} will be generated again; estimated cost now $${r.estimatedCostUsd.toFixed(2)}`);
  return 0;
}
