/**
 * `vidflow status <id>`: where a run is. From the workflow's status query when a worker answers
 * within a few seconds; else from what the server recorded (stage, plan, edits, clips, result),
 * with a notice on standard error that no worker runs and how to start one.
 */
import { parseArgs } from 'node:util';
import { findRun, whereIs } from '../run-lookup';
import { formatStatus } from '../status-format';
import type { ConfigLoader } from './command';
import { err, out, workflowIdArg } from './command';

export const usage = `usage: vidflow status <id> [--json]   where a run is: stage, scenes, cost
  Answers without a worker too: then from the server's records (--json adds "live": false).`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
  const id = workflowIdArg(positionals, usage);
  const where = await whereIs(await findRun(cfg, id));
  out(
    values.json
      ? JSON.stringify(where.live ? where.status : { ...where.status, live: false })
      : formatStatus(id, where.status),
  );
  if (where.notice) err(where.notice);
  return 0;
}
