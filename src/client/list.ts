/** `vidflow list [--stage S]`: runs found through the `VideoStage` search attribute. */
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { VIDEO_STAGE, WORKFLOW_TYPE } from '../shared/names';
import { STAGES } from '../shared/schemas';
import { CliError } from './connection';

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
