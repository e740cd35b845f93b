/**
 * `vidflow edit <id> --scene N --prompt "..."`: changes a scene's prompt while the plan (or the
 * result) is reviewed. An update: the workflow's refusal comes back at once (src/client/steer.ts).
 */
import { printable } from '../../support/printable';
import { UsageError } from '../errors';
import { findRun, refuseIfEnded, requireWorker } from '../run-lookup';
import { editArgs, editScene } from '../steer';
import type { ConfigLoader } from './command';
import { out, sceneArgs } from './command';

export const usage = `usage: vidflow edit <id> --scene N --prompt "..."   change a scene while the plan or result is reviewed`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { id, scene: n, prompt } = sceneArgs(args, usage, 'change');
  if (prompt === undefined) throw new UsageError(`--prompt "..." is required: the scene's new text\n\n${usage}`);
  editArgs(n, prompt); // bad arguments are refused before the run is looked up
  const found = await findRun(cfg, id);
  await refuseIfEnded(found, 'edit');
  await requireWorker(found, 'an edit');
  const scene = await editScene(found.handle, n, prompt);
  out(`scene ${scene.index}: ${printable(scene.prompt)}`);
  return 0;
}
