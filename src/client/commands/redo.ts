/**
 * `vidflow redo <id> --scene N [--prompt "..."]`: while the result is reviewed (--review-result),
 * generates one scene again (paid) and stitches again; the other clips are kept.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors';
import { findRun, refuseIfEnded, requireWorker } from '../run-lookup';
import { redoScene } from '../steer';
import type { ConfigLoader } from './command';
import { out, workflowIdArg } from './command';

export const usage = `usage: vidflow redo <id> --scene N [--prompt "..."]   regenerate one scene and stitch again (review)`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values, positionals } = parseArgs({
    args,
    options: { scene: { type: 'string' }, prompt: { type: 'string' } },
    allowPositionals: true,
  });
  const id = workflowIdArg(positionals, usage);
  if (values.scene === undefined) throw new UsageError(`--scene N is required: the scene to redo (from 1)\n\n${usage}`);
  const found = await findRun(cfg, id);
  await refuseIfEnded(found, 'redo');
  await requireWorker(found, 'a redo');
  const r = await redoScene(found.handle, values.scene, values.prompt);
  out(`scene ${r.index} will be generated again; estimated cost now $${r.estimatedCostUsd.toFixed(2)}`);
  return 0;
}
