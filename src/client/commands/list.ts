/** `vidflow list [--stage S]`: runs found through the `VideoStage` search attribute, newest first. */
import type { Client } from '@temporalio/client';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { VIDEO_STAGE, WORKFLOW_TYPE } from '../../shared/names';
import { STAGES } from '../../shared/schemas';
import { connectClient } from '../connection';
import { CliError } from '../errors';
import type { ConfigLoader } from './command';
import { out } from './command';

export const usage = `usage: vidflow list [--stage S] [--json]   runs, newest first (S: ${STAGES.join(', ')})`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values } = parseArgs({ args, options: { stage: { type: 'string' }, json: { type: 'boolean' } } });
  const runs = await listRuns(await connectClient(cfg), values.stage);
  if (values.json) out(JSON.stringify(runs));
  else for (const r of runs) out(`${r.workflowId}  ${r.stage.padEnd(18)} ${r.startTime}  ${r.summary ?? ''}`);
  return 0;
}

export interface RunRow {
  workflowId: string;
  stage: string;
  status: string;
  startTime: string;
  summary?: string;
}

export async function listRuns(client: Client, stage?: string, limit = 50): Promise<RunRow[]> {
  // Validated against the known stages: the value goes into a visibility query.
  const parsed = z.enum(STAGES).optional().safeParse(stage);
  if (!parsed.success) throw new CliError(`--stage must be one of ${STAGES.join(', ')}`, 2);
  const query = `WorkflowType = '${WORKFLOW_TYPE}'${parsed.data ? ` AND ${VIDEO_STAGE.name} = '${parsed.data}'` : ''}`;
  const rows: RunRow[] = [];
  for await (const wf of client.workflow.list({ query })) {
    rows.push({
      workflowId: wf.workflowId,
      stage: String(wf.typedSearchAttributes.get(VIDEO_STAGE) ?? '?'),
      status: wf.status.name,
      startTime: wf.startTime.toISOString(),
    });
    if (rows.length >= limit) break;
  }
  return rows;
}
