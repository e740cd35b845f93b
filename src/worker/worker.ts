/**
 * Creates the vidflow worker: one task queue serving the workflow and its activities, with the
 * activities built from configuration. Used by `vidflow worker` (its own process) and by
 * `vidflow run` (in-process).
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE_FILE } from './bundle-main';
import type { Config } from '../config';
import { createActivities } from '../activities';
import { defaultPolicy, parseHostList } from '../activities/download-policy';
import { ensureFfmpeg } from '../media/ffmpeg';
import { createOpenAI, createReplicate } from './clients';
import { ensureSearchAttributes } from './search-attributes';
import { connectionOptions, describeConnection } from './temporal-connection';

export class WorkerConfigError extends Error {
  override name = 'WorkerConfigError';
}

export interface VidflowWorkerOptions {
  cfg: Config;
  log?: (line: string) => void;
  /** Test and benchmark overrides. */
  overrides?: Partial<WorkerOptions>;
}

export async function createVidflowWorker({ cfg, log = console.error, overrides = {} }: VidflowWorkerOptions): Promise<{
  worker: Worker;
  connection: NativeConnection;
}> {
  if (!cfg.REPLICATE_API_TOKEN) {
    throw new WorkerConfigError(
      'REPLICATE_API_TOKEN is not set: put it in .env (see .env.example), or use `vidflow run` without keys for the offline demo',
    );
  }
  const ff = await ensureFfmpeg();
  if (!cfg.OPENAI_API_KEY)
    log('warning: OPENAI_API_KEY is not set: plans will be a plain split of the prompt (marked fallback)');
  await mkdir(cfg.VIDFLOW_WORK_DIR, { recursive: true });
  await mkdir(cfg.VIDFLOW_OUTPUT_DIR, { recursive: true });

  const connOpts = connectionOptions(cfg);
  await ensureSearchAttributes(connOpts, cfg.TEMPORAL_NAMESPACE);
  const connection = await NativeConnection.connect(connOpts);
  const activities = createActivities({
    openai: createOpenAI(cfg),
    openaiModel: cfg.OPENAI_MODEL,
    replicate: createReplicate(cfg),
    workDir: cfg.VIDFLOW_WORK_DIR,
    outputDir: cfg.VIDFLOW_OUTPUT_DIR,
    maxConcurrentStitches: cfg.VIDFLOW_MAX_CONCURRENT_STITCHES,
    generate: {
      pollIntervalMs: cfg.VIDFLOW_POLL_INTERVAL_MS,
      maxConcurrentGenerations: cfg.VIDFLOW_MAX_CONCURRENT_GENERATIONS,
    },
    download: {
      allowedHosts: cfg.VIDFLOW_DOWNLOAD_HOSTS
        ? parseHostList(cfg.VIDFLOW_DOWNLOAD_HOSTS)
        : [...defaultPolicy(cfg.REPLICATE_BASE_URL).allowedHosts],
      maxBytes: Math.round(cfg.VIDFLOW_MAX_DOWNLOAD_MB * 1024 * 1024),
    },
  });
  // The clients hold the keys now. ffmpeg and any other child process inherit the environment,
  // and have no use for them: keep secrets out of their reach (and out of /proc/<pid>/environ).
  delete process.env.OPENAI_API_KEY;
  delete process.env.REPLICATE_API_TOKEN;
  delete process.env.TEMPORAL_API_KEY;
  const worker = await Worker.create({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_TASK_QUEUE,
    ...workflowSource(),
    activities,
    // Cancellation reaches an activity only with a heartbeat flush; the default throttle
    // (0.8 × heartbeatTimeout = 24 s) would let a cancelled prediction run on that long.
    maxHeartbeatThrottleInterval: '2 seconds',
    // A redeploy (SIGTERM) lets in-flight activities finish or hand over instead of waiting out heartbeat timeouts.
    shutdownGraceTime: '10 seconds',
    ...overrides,
  });
  log(
    `worker: polling task queue ${cfg.TEMPORAL_TASK_QUEUE} on ${cfg.TEMPORAL_ADDRESS} (namespace ${cfg.TEMPORAL_NAMESPACE}, ${describeConnection(connOpts)}); ffmpeg ${ff.version}`,
  );
  return { worker, connection };
}

/**
 * Where the workflow code comes from. From dist/ (the production image) the bundle made by
 * `npm run build` is loaded as is; from the TypeScript sources the SDK bundles at start, so a
 * stale bundle can never run in development. VIDFLOW_WORKFLOW_BUNDLE names one explicitly.
 */
function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const prebuilt =
    process.env.VIDFLOW_WORKFLOW_BUNDLE ??
    (__filename.endsWith('.js') ? join(__dirname, '..', BUNDLE_FILE) : undefined);
  if (prebuilt && existsSync(prebuilt)) return { workflowBundle: { codePath: prebuilt } };
  return { workflowsPath: require.resolve('../workflows') };
}
