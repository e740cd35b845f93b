/**
 * `vidflow worker [--offline]`: a worker process (the production role). It needs
 * REPLICATE_API_TOKEN, checked with Replicate before the worker takes any run; `--offline` runs it
 * against the bundled emulators instead (in this process, as `vidflow run` does without keys), to
 * try every command without API keys. A shutdown signal hands its generations over at once and
 * lets the other activities finish (src/worker/signals.ts), so a redeploy neither pays twice nor
 * waits out heartbeat timeouts.
 */
import { parseArgs } from 'node:util';
import type { WorkerOptions } from '@temporalio/worker';
import { checkReplicateToken, ReplicateTokenRefused } from '../../providers/replicate-token-check';
import { printableLines } from '../../support/printable';
import { installLogging, workerLog } from '../../worker/logging';
import { createVidflowWorker, WorkerConfigError } from '../../worker/worker';
import { connectClient } from '../connection';
import { STATE_DIR } from '../dev-server';
import { CliError } from '../errors';
import { goOffline, OFFLINE_WORKER_BANNER, offlineLogLine, offlineWorkerOverrides } from '../offline';
import { cachedWorkflowBundle, runsFromSources } from '../workflow-bundle-cache';
import type { ConfigLoader } from './command';
import { err } from './command';

export const usage = `usage: vidflow worker [--offline]   run a worker on TEMPORAL_TASK_QUEUE
  needs REPLICATE_API_TOKEN (checked with Replicate at start; configuration: environment or .env);
  --offline: against the bundled emulators of OpenAI and Replicate instead, no API keys needed`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  let cfg = config();
  const { values } = parseArgs({ args, options: { offline: { type: 'boolean' } }, allowPositionals: false });
  const cleanups: (() => Promise<void>)[] = [];
  let overrides: Partial<WorkerOptions> = {};
  if (values.offline) {
    err(OFFLINE_WORKER_BANNER);
  } else if (!cfg.REPLICATE_API_TOKEN) {
    throw new WorkerConfigError(
      'REPLICATE_API_TOKEN is not set: put it in .env (see .env.example), or run `vidflow worker --offline` to try vidflow against the bundled emulators',
    );
  }
  // Before anything else: a worker that cannot reach Temporal says where it looked, and what to run.
  await (await connectClient(cfg)).connection.close();
  installLogging({
    debug: Boolean(cfg.DEBUG),
    format: cfg.LOG_FORMAT,
    ...(cfg.VIDFLOW_METRICS_ADDRESS ? { metricsAddress: cfg.VIDFLOW_METRICS_ADDRESS } : {}),
    ...(values.offline ? { write: (line: string) => void process.stderr.write(offlineLogLine(line) + '\n') } : {}),
  });
  try {
    if (values.offline) {
      const offline = await goOffline(cfg);
      cfg = offline.cfg;
      cleanups.push(offline.close);
      overrides = offlineWorkerOverrides();
    } else {
      try {
        await checkReplicateToken(cfg, workerLog);
      } catch (e) {
        if (e instanceof ReplicateTokenRefused) throw new CliError(printableLines(e.message), 2);
        throw e;
      }
    }
    if (runsFromSources() && !process.env.VIDFLOW_WORKFLOW_BUNDLE) {
      // From a checkout: the bundle `vidflow run` keeps, instead of webpack at every start.
      process.env.VIDFLOW_WORKFLOW_BUNDLE = await cachedWorkflowBundle(STATE_DIR, workerLog);
    }
    const { worker } = await createVidflowWorker({ cfg, log: workerLog, overrides });
    if (values.offline) {
      workerLog(
        'offline worker ready: in another terminal, `vidflow start "<prompt>"`, then `vidflow watch <id>` and `vidflow approve <id>`',
      );
    }
    await worker.run();
    return 0;
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}
