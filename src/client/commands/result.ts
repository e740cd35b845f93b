/**
 * `vidflow result <id>`: waits for the run to end and prints its video (path or artifact uri,
 * duration, size); with --download, fetches the video onto this machine from the artifact store.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { parseArgs } from 'node:util';
import type { PipelineResult } from '../../shared/schemas';
import { printable } from '../../support/printable';
import { findRun } from '../run-lookup';
import { recordedStage } from '../run-record';
import { noWorkerNotice, workerPolls } from '../worker-presence';
import { downloadResult, downloadTarget } from '../download-result';
import { CliError, rootMessage } from '../errors';
import type { ConfigLoader } from './command';
import { err, out, workflowIdArg } from './command';

export const usage = `usage: vidflow result <id> [--json]                  wait for the video
       vidflow result <id> --download [--out FILE]   wait, then fetch the video here (artifact store);
                                                     an existing FILE is kept unless --force`;

const MB = 1e6;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values, positionals } = parseArgs({
    args,
    options: {
      json: { type: 'boolean' },
      download: { type: 'boolean' },
      out: { type: 'string' },
      force: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  const id = workflowIdArg(positionals, usage);
  if ((values.out !== undefined || values.force) && !values.download) {
    throw new CliError('--out and --force go with --download', 2);
  }
  // Before waiting for the run: a refusal after a ten-minute wait would waste the wait.
  if (values.download) downloadTarget(id, values.out, values.force);
  const found = await findRun(cfg, id);
  const handle = found.handle;
  // Waiting is what this command does; waiting in silence for a worker that is not there is not.
  if (found.desc.status.name === 'RUNNING') {
    const stage = recordedStage(found.desc);
    const polls = await workerPolls(found.client, found.desc.taskQueue);
    err(
      `waiting for run ${printable(id)} to end (stage ${stage}${stage === 'awaiting_approval' || stage === 'reviewing_result' ? `: it waits for \`vidflow approve ${printable(id)}\`` : ''})` +
        (polls ? ' …' : `; ${noWorkerNotice(found.desc.taskQueue, 'none')}`),
    );
  }
  let result: PipelineResult;
  try {
    result = await handle.result();
  } catch (e) {
    if (e instanceof WorkflowFailedError) throw new CliError(`run ${id} failed: ${rootMessage(e)}`);
    throw e;
  }
  // Results of runs from before worker affinity have neither worker nor artifactUri.
  const { path, durationSeconds, sizeBytes, scenes, worker, artifactUri } = result;
  if (values.download) {
    const saved = await downloadResult(
      cfg,
      id,
      { path, ...(artifactUri ? { artifactUri } : {}) },
      { out: values.out, force: values.force, progress: err },
    );
    out(
      values.json
        ? JSON.stringify({ path: saved.path, sizeBytes: saved.sizeBytes, artifactUri: saved.uri, durationSeconds })
        : `${saved.path} (${(saved.sizeBytes / MB).toFixed(2)} MB)`,
    );
    return 0;
  }
  // With a remote store the worker's copy is gone: name where the video is now.
  const where = artifactUri && !artifactUri.startsWith('file:') ? artifactUri : path;
  out(
    values.json
      ? JSON.stringify({
          path,
          durationSeconds,
          sizeBytes,
          scenes,
          ...(worker ? { worker } : {}),
          ...(artifactUri ? { artifactUri } : {}),
        })
      : `${where} (${durationSeconds.toFixed(2)} s, ${(sizeBytes / MB).toFixed(2)} MB${worker ? `, stitched by ${worker}` : ''})`,
  );
  return 0;
}
