/** `vidflow reject <id> --feedback "..."`: the plan is made again, with this feedback. */
import { parseArgs } from 'node:util';
import { runHandle } from '../connection';
import { rejectPlan } from '../steer';
import type { ConfigLoader } from './command';
import { out, workflowIdArg } from './command';

export const usage = `usage: vidflow reject <id> --feedback "..."   plan again with this feedback`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values, positionals } = parseArgs({
    args,
    options: { feedback: { type: 'string' } },
    allowPositionals: true,
  });
  const round = await rejectPlan(await runHandle(cfg, workflowIdArg(positionals, usage)), values.feedback);
  out(`rejected: making plan ${round} with your feedback`);
  return 0;
}
