/** `vidflow status <id>`: where a run is, from the workflow's status query (answered by a worker). */
import { parseArgs } from 'node:util';
import { statusQuery } from '../../shared/messages';
import { runHandle } from '../connection';
import { formatStatus } from '../status-format';
import type { ConfigLoader } from './command';
import { out, workflowIdArg } from './command';

export const usage = `usage: vidflow status <id> [--json]   where a run is: stage, scenes, cost`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
  const id = workflowIdArg(positionals, usage);
  const status = await (await runHandle(cfg, id)).query(statusQuery);
  out(values.json ? JSON.stringify(status) : formatStatus(id, status));
  return 0;
}
