/**
 * `vidflow cancel <id>`: asks the workflow to cancel; it cancels its predictions at Replicate (so
 * they stop costing) and cleans up. Returns once the request is recorded, not when it is done.
 */
import { parseArgs } from 'node:util';
import { runHandle } from '../connection';
import type { ConfigLoader } from './command';
import { out, workflowIdArg } from './command';

export const usage = `usage: vidflow cancel <id>   cancel it (stops paid predictions)`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  const id = workflowIdArg(positionals, usage);
  await (await runHandle(cfg, id)).cancel();
  out(`cancel requested: ${id}`);
  return 0;
}
