/**
 * `vidflow start "<prompt>"`: validates the flags, starts a run and returns (no worker needed yet:
 * the run waits in Temporal for one, and the CLI says so). With --id, starting again returns the
 * existing run.
 */
import { parseArgs } from 'node:util';
import { webUiRunUrl } from '../../config';
import { connectClient } from '../connection';
import { withReference } from '../reference';
import { START_OPTIONS, START_OPTIONS_USAGE, startInputFromFlags, startRun } from '../start';
import { noWorkerNotice, workerPolls } from '../worker-presence';
import type { ConfigLoader } from './command';
import { err, out } from './command';

export const usage = `usage: vidflow start "<prompt>" [start options] [--json]   start a run and return

${START_OPTIONS_USAGE}`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values, positionals } = parseArgs({ args, options: START_OPTIONS, allowPositionals: true });
  const { input: checked, reference } = startInputFromFlags(positionals.join(' ') || undefined, values);
  const client = await connectClient(cfg);
  const input = await withReference(cfg, checked, reference);
  const { handle, existed } = await startRun(client, cfg, input, values.id, err);
  const desc = await handle.describe();
  const webUiUrl = webUiRunUrl(cfg, handle.workflowId, desc.runId);
  if (existed) err(`run ${handle.workflowId} already exists (${desc.status.name}); not starting another`);
  if (values.json)
    out(
      JSON.stringify({ workflowId: handle.workflowId, runId: desc.runId, webUiUrl, ...(existed ? { existed } : {}) }),
    );
  else out(`${existed ? 'exists' : 'started'}: ${handle.workflowId}\nWeb UI: ${webUiUrl}`);
  if (desc.status.name === 'RUNNING' && !(await workerPolls(client, cfg.TEMPORAL_TASK_QUEUE))) {
    err(noWorkerNotice(cfg.TEMPORAL_TASK_QUEUE, 'none'));
  } else if (!values.json && !existed) {
    err(
      `next: \`vidflow watch ${handle.workflowId}\`, then \`vidflow approve ${handle.workflowId}\` once the plan is shown`,
    );
  }
  return 0;
}
