/**
 * `vidflow approve <id>`: approves the plan (clips are generated, and paid for, from here on) or,
 * with --review-result, the stitched video. A signal: it is delivered even while no worker runs.
 */
import { parseArgs } from 'node:util';
import { approveSignal } from '../../shared/messages';
import { runHandle } from '../connection';
import type { ConfigLoader } from './command';
import { out, workflowIdArg } from './command';

export const usage = `usage: vidflow approve <id>   approve its plan (or, in review, its video)`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  const id = workflowIdArg(positionals, usage);
  await (await runHandle(cfg, id)).signal(approveSignal);
  out(`approved: ${id}`);
  return 0;
}
