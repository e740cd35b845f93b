/**
 * Creates the vidflow worker: the shared task queue serves the workflow and every activity; the
 * worker's own queue (`<queue>@<worker id>`) serves the steps that need a run's clips on this
 * disk (download, stitch, publish, cleanup), sent there by the workflow after `claimWorker`; the
 * provider queue (`<queue>-provider`) serves the generations, paced to the account's create limit.
 * Used by `vidflow worker` (its own process) and by `vidflow run` (in-process).
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { providerTaskQueue, workerTaskQueue } from '../shared/names';
import { onShutdownSignal } from './signals';
import { diskWorkerId } from './worker-id';
import { BUNDLE_FILE } from './bundle-main';
import { workflowBundleOptions } from './bundle-options';
import type { Config } from '../config';
import { createActivities } from '../activities';
import { secretFrom, startWebhookServer } from '../webhooks/server';
import { PredictionTracker } from '../activities/prediction-tracker';
import { createArtifactStore } from '../artifacts/store';
import { defaultPolicy, parseHostList } from '../support/download-policy';
import { ensureFfmpeg } from '../media/ffmpeg';
import { createOpenAI, createReplicate } from '../providers/clients';
import { warnAboutPlannerModel } from '../providers/openai-model-check';
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

/**
 * The SDK workers of one vidflow worker process (shared, own and provider queue), run and stopped together. They share the
 * connection and the activity objects, so the per-worker caps (stitches, generations) hold across both.
 * It owns the `stopping` signal its activities were given: aborted when it begins to shut down.
 */
export class VidflowWorker {
  constructor(
    readonly shared: Worker,
    readonly own: Worker,
    private readonly stopping: AbortController,
    /** Waits for the generations handed over asynchronously; see activities/prediction-tracker.ts. */
    readonly tracker?: PredictionTracker,
    /** Polls the provider queue, rate-limited: see createVidflowWorker. */
    readonly provider?: Worker,
  ) {}

  private get all(): Worker[] {
    return this.provider ? [this.shared, this.own, this.provider] : [this.shared, this.own];
  }

  /**
   * Resolves when both have stopped: shutdown(), or a shutdown signal (SIGTERM, Ctrl-C …), which
   * the SDK routes to every worker and which hands the generations over first (./signals.ts).
   */
  async run(): Promise<void> {
    const stopListening = onShutdownSignal(() => this.handOver());
    const runs = this.all.map((w) => w.run());
    try {
      await Promise.all(runs);
    } catch (err) {
      this.shutdown();
      await Promise.allSettled(runs);
      throw err;
    } finally {
      stopListening();
      // The SDK does not wait for asynchronously completing activities: report their hand-over
      // (WorkerShutdown, retried elsewhere at once) before the process may exit.
      await this.tracker?.handOver();
    }
  }

  /** Generations running here, or about to start, hand over to another worker now. Idempotent. */
  handOver(): void {
    this.stopping.abort();
  }

  shutdown(): void {
    this.handOver();
    for (const w of this.all) if (w.getState() === 'RUNNING') w.shutdown();
  }

  getState(): ReturnType<Worker['getState']> {
    return this.shared.getState();
  }
}

export async function createVidflowWorker({ cfg, log = console.error, overrides = {} }: VidflowWorkerOptions): Promise<{
  worker: VidflowWorker;
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
  void warnAboutPlannerModel(cfg, log); // not awaited: a slow OpenAI must not delay the start
  await mkdir(cfg.VIDFLOW_WORK_DIR, { recursive: true });
  await mkdir(cfg.VIDFLOW_OUTPUT_DIR, { recursive: true });

  const connOpts = connectionOptions(cfg);
  await ensureSearchAttributes(connOpts, cfg.TEMPORAL_NAMESPACE);
  const connection = await NativeConnection.connect(connOpts);
  const artifacts = createArtifactStore(cfg);
  const workerId = cfg.VIDFLOW_WORKER_ID ?? (await diskWorkerId(cfg.VIDFLOW_WORK_DIR));
  const ownQueue = workerTaskQueue(cfg.TEMPORAL_TASK_QUEUE, workerId);
  const stopping = new AbortController();
  const replicate = createReplicate(cfg);
  const tracker = cfg.VIDFLOW_ASYNC_GENERATION
    ? new PredictionTracker({
        replicate,
        // Webhooks wake the runs: the tracker only reconciles. Polling: every clip read every 5 s, in bulk.
        pollMs: cfg.VIDFLOW_WEBHOOK_URL ? cfg.VIDFLOW_RECONCILE_SECONDS * 1000 : 5000,
        stopping: stopping.signal,
      })
    : undefined;
  const activities = createActivities({
    stopping: stopping.signal,
    affinity: { homeQueue: ownQueue, workerId },
    artifacts,
    openai: createOpenAI(cfg),
    openaiModel: cfg.OPENAI_MODEL,
    replicate,
    workDir: cfg.VIDFLOW_WORK_DIR,
    outputDir: cfg.VIDFLOW_OUTPUT_DIR,
    maxConcurrentStitches: cfg.VIDFLOW_MAX_CONCURRENT_STITCHES,
    generate: {
      pollIntervalMs: cfg.VIDFLOW_POLL_INTERVAL_MS,
      maxConcurrentGenerations: cfg.VIDFLOW_MAX_CONCURRENT_GENERATIONS,
      ...(cfg.VIDFLOW_WEBHOOK_URL ? { webhookUrl: cfg.VIDFLOW_WEBHOOK_URL } : {}),
      ...(tracker ? { tracker } : {}),
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
  delete process.env.TEMPORAL_TLS_CLIENT_KEY_DATA;
  const common = {
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    activities,
    // Cancellation reaches an activity only with a heartbeat flush; the default throttle
    // (0.8 × heartbeatTimeout = 24 s) would let a cancelled prediction run on that long.
    maxHeartbeatThrottleInterval: '2 seconds',
    // A redeploy (SIGTERM) lets in-flight activities finish or hand over instead of waiting out heartbeat timeouts.
    shutdownGraceTime: '10 seconds',
    ...overrides,
  } satisfies Partial<WorkerOptions>;
  const shared = await Worker.create({
    ...common,
    taskQueue: cfg.TEMPORAL_TASK_QUEUE,
    ...workflowSource(),
    ...(cfg.VIDFLOW_MAX_CACHED_WORKFLOWS !== undefined ? { maxCachedWorkflows: cfg.VIDFLOW_MAX_CACHED_WORKFLOWS } : {}),
  });
  // Activities only: no workflow code, so no second bundle or isolate. Its slots are not what
  // bounds the work here: a stitch waiting for this worker's stitch slot (VIDFLOW_MAX_CONCURRENT_STITCHES)
  // holds an activity slot while it waits, heartbeating, so at the SDK's default of 100 a queue of
  // waiting stitches took the slots the runs' downloads needed (100 runs: downloads waited 6.7 s
  // p95 for a slot). Downloads are I/O and stream to disk; a waiting stitch is a timer.
  const own = await Worker.create({
    ...common,
    taskQueue: ownQueue,
    maxConcurrentActivityTaskExecutions: OWN_QUEUE_ACTIVITY_SLOTS,
    ...overrides,
  });
  // Generations (new runs: PATCH_PROVIDER_QUEUE) on their own queue, with the account's create
  // limit as the queue's task rate: every worker sets the same rate and the matching service
  // enforces it for the queue as a whole, so N workers together stay under it (no lock of ours).
  // A retry or a resume is a task too, so the pace is conservative. The shared worker keeps
  // generateClip registered for runs recorded before the patch.
  const providerQueue = providerTaskQueue(cfg.TEMPORAL_TASK_QUEUE);
  const provider = await Worker.create({
    ...common,
    taskQueue: providerQueue,
    maxTaskQueueActivitiesPerSecond: providerTaskRate(cfg.VIDFLOW_REPLICATE_CREATES_PER_MINUTE),
    ...overrides,
  });
  if (cfg.VIDFLOW_WEBHOOK_PORT !== undefined) {
    // The receiver inside the worker: webhooks for predictions this worker tracks settle at once.
    const client = shared.client;
    if (!client) throw new WorkerConfigError('the worker has no Temporal client for the webhook receiver');
    const hooks = await startWebhookServer({
      client,
      secret: secretFrom(cfg),
      port: cfg.VIDFLOW_WEBHOOK_PORT,
      ...(tracker ? { tracker } : {}),
      log,
    });
    log(`worker: receiving Replicate webhooks on :${hooks.port}`);
  }
  log(
    `worker: polling task queues ${cfg.TEMPORAL_TASK_QUEUE}, ${providerQueue} (${cfg.VIDFLOW_REPLICATE_CREATES_PER_MINUTE} generations/min for all workers) and ${ownQueue} (worker id ${workerId}) on ${cfg.TEMPORAL_ADDRESS} (namespace ${cfg.TEMPORAL_NAMESPACE}, ${describeConnection(connOpts)}${cfg.temporalProfile ? `, ${cfg.temporalProfile}` : ''}); ffmpeg ${ff.version}; videos to ${artifacts.describe()}`,
  );
  return { worker: new VidflowWorker(shared, own, stopping, tracker, provider), connection };
}

/**
 * Activity slots of a worker's own queue: every run it is home to can have a stitch waiting and its
 * clips downloading at once (6 scenes at most), with room for a few hundred runs.
 */
export const OWN_QUEUE_ACTIVITY_SLOTS = 1000;

/**
 * The provider queue's task rate for an account limit of `createsPerMinute`: 5% under it. The
 * server's limiter is a token bucket that lets about a second's worth through at once on top of the
 * rate, so at exactly the limit a burst could put a few more than the limit into one 60 s window
 * (and meet 429s); measured with bench/burst.ts: 60 tasks at 10/s took 5.5 s, not 6.
 */
export function providerTaskRate(createsPerMinute: number): number {
  return (createsPerMinute / 60) * 0.95;
}

/**
 * Where the workflow code comes from. From dist/ (the production image) the bundle made by
 * `npm run build` is loaded as is; from the TypeScript sources the SDK bundles at start, so a
 * stale bundle can never run in development. VIDFLOW_WORKFLOW_BUNDLE names one explicitly.
 */
function workflowSource():
  { workflowBundle: { codePath: string } } | { workflowsPath: string; bundlerOptions: { preloadModules: string[] } } {
  const prebuilt =
    process.env.VIDFLOW_WORKFLOW_BUNDLE ??
    (__filename.endsWith('.js') ? join(__dirname, '..', BUNDLE_FILE) : undefined);
  if (prebuilt && existsSync(prebuilt)) return { workflowBundle: { codePath: prebuilt } };
  const { workflowsPath, preloadModules } = workflowBundleOptions();
  return { workflowsPath, bundlerOptions: { preloadModules } };
}
