/**
 * `vidflow redo <id> --scene N [--prompt "..."]`: while the result is reviewed (--review-result),
 * generates one scene again (paid) and stitches again; the other clips are kept.
 */
import { findRun, refuseIfEnded, requireWorker } from '../run-lookup';
import { redoArgs, redoScene } from '../steer';
import type { ConfigLoader } from './command';
import { out, sceneArgs } from './command';

export const usage = `usage: vidflow redo <id> --scene N [--prompt "..."]   regenerate one scene and stitch again (review)`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { id, scene, prompt } = sceneArgs(args, usage, 'redo');
  redoArgs(scene, prompt); // bad arguments are refused before the run is looked up
  const found = await findRun(cfg, id);
  await refuseIfEnded(found, 'redo');
  await requireWorker(found, 'a redo');
  const r = await redoScene(found.handle, scene, prompt);
  out(`scene ${r.index} will be generated again; estimated cost now $${r.estimatedCostUsd.toFixed(2)}`);
  return 0;
}
