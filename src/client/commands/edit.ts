/**
 * `vidflow edit <id> --scene N --prompt "..."`: changes a scene's prompt while the plan (or the
 * result) is reviewed. An update: the workflow's refusal comes back at once (src/client/steer.ts).
 */
import { parseArgs } from 'node:util';
import { printable } from '../../support/printable';
import { UsageError } from '../errors';
import { findRun, refuseIfEnded, requireWorker } from '../run-lookup';
import { editScene } from '../steer';
import type { ConfigLoader } from './command';
import { out, workflowIdArg } from './command';

export const usage = `usage: vidflow edit <id> --scene N --prompt "..."   change a scene while the plan or result is reviewed`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values, positionals } = parseArgs({
    args,
    options: { scene: { type: 'string' }, prompt: { type: 'string' } },
    allowPositionals: true,
  });
  const id = workflowIdArg(positionals, usage);
  if (values.scene === undefined)
    throw new UsageError(`--scene N is required: the scene to change (from 1)\n\n${usage}`);
  if (values.prompt === undefined) throw new UsageError(`--prompt "..." is required: the scene's new text\n\n${usage}`);
  const found = await findRun(cfg, id);
  await refuseIfEnded(found, 'edit');
  await requireWorker(found, 'an edit');
  const scene = await editScene(found.handle, values.scene, values.prompt);
  out(`scene ${scene.index}: ${printable(scene.prompt)}`);
  return 0;
}
