/**
 * `vidflow list [--stage S]`: runs found through the `VideoStage` search attribute, newest first,
 * with the first words of each prompt. Read from the server's visibility store: no worker needed,
 * and when none polls the task queue the list says so.
 */
import type { Client } from '@temporalio/client';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { VIDEO_STAGE, WORKFLOW_TYPE } from '../../shared/names';
import { STAGES } from '../../shared/schemas';
import { firstWords, printable } from '../../support/printable';
import { connectClient } from '../connection';
import { CliError } from '../errors';
import { noWorkerNotice, workerPolls } from '../worker-presence';
import type { ConfigLoader } from './command';
import { err, out } from './command';

export const usage = `usage: vidflow list [--stage S] [--json]   runs, newest first (S: ${STAGES.join(', ')})`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values } = parseArgs({ args, options: { stage: { type: 'string' }, json: { type: 'boolean' } } });
  const client = await connectClient(cfg);
  const runs = await listRuns(client, values.stage);
  if (values.json) out(JSON.stringify(runs));
  else if (runs.length === 0) {
    err(`no runs${values.stage ? ` in stage ${values.stage}` : ''} yet: start one with \`vidflow start "<prompt>"\``);
  } else out(renderList(runs));
  if (
    !values.json &&
    runs.some((r) => r.status === 'RUNNING') &&
    !(await workerPolls(client, cfg.TEMPORAL_TASK_QUEUE))
  ) {
    err(noWorkerNotice(cfg.TEMPORAL_TASK_QUEUE, 'none'));
  }
  return 0;
}

export interface RunRow {
  workflowId: string;
  stage: string;
  status: string;
  startTime: string;
  summary?: string;
}

/** A table with a header; every text cell printable, the prompt cut to its first words. */
export function renderList(runs: RunRow[]): string {
  const idWidth = Math.max(2, ...runs.map((r) => printable(r.workflowId).length));
  const row = (id: string, stage: string, started: string, prompt: string) =>
    `${id.padEnd(idWidth)}  ${stage.padEnd(17)}  ${started.padEnd(19)}  ${prompt}`.trimEnd();
  return [
    row('ID', 'STAGE', 'STARTED (UTC)', 'PROMPT'),
    ...runs.map((r) =>
      row(
        printable(r.workflowId),
        printable(r.stage),
        r.startTime.slice(0, 19).replace('T', ' '),
        r.summary ? firstWords(r.summary) : '',
      ),
    ),
  ].join('\n');
}

export async function listRuns(client: Client, stage?: string, limit = 50): Promise<RunRow[]> {
  // Validated against the known stages: the value goes into a visibility query.
  const parsed = z.enum(STAGES).optional().safeParse(stage);
  if (!parsed.success) throw new CliError(`--stage must be one of ${STAGES.join(', ')}`, 2);
  const query = `WorkflowType = '${WORKFLOW_TYPE}'${parsed.data ? ` AND ${VIDEO_STAGE.name} = '${parsed.data}'` : ''}`;
  const rows: RunRow[] = [];
  for await (const wf of client.workflow.list({ query })) {
    const memo = wf.memo?.prompt;
    rows.push({
      workflowId: wf.workflowId,
      stage: String(wf.typedSearchAttributes.get(VIDEO_STAGE) ?? '?'),
      status: wf.status.name,
      startTime: wf.startTime.toISOString(),
      ...(typeof memo === 'string' ? { summary: memo } : {}),
    });
    if (rows.length >= limit) break;
  }
  // Runs started before the memo carried the prompt: their summary, one describe each.
  await Promise.all(
    rows
      .filter((r) => r.summary === undefined)
      .map(async (r) => {
        try {
          const summary = await (await client.workflow.getHandle(r.workflowId).describe()).staticSummary();
          if (summary) r.summary = summary;
        } catch {
          // Deleted since it was listed (retention): the row stays, without a prompt.
        }
      }),
  );
  return rows;
}
