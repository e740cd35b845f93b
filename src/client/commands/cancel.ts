/**
 * `vidflow cancel <id>`: asks the workflow to cancel; it cancels its predictions at Replicate (so
 * they stop costing) and cleans up. Returns once the request is recorded, not when it is done.
 */
import { parseArgs } from 'node:util';
import { findRun, refuseIfEnded } from '../run-lookup';
import { workerPolls, START_A_WORKER } from '../worker-presence';
import type { ConfigLoader } from './command';
import { err, out, workflowIdArg } from './command';

export const usage = `usage: vidflow cancel <id>   cancel it (stops paid predictions)`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  const id = workflowIdArg(positionals, usage);
  const found = await findRun(cfg, id);
  await refuseIfEnded(found, 'cancel');
  await found.handle.cancel();
  out(`cancel requested: ${id}`);
  if (!(await workerPolls(found.client, found.desc.taskQueue))) {
    err(
      `no worker is running: the run is cancelled (and its predictions stopped) once one starts, with ${START_A_WORKER}.`,
    );
  }
  return 0;
}
