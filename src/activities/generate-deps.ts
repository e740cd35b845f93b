/**
 * What the generate activity (./generate.ts) is built from: its dependencies and settings (the
 * worker wires real ones, tests emulated ones), and the small shared pieces of its attempts.
 */
import type { ApplicationFailure } from '@temporalio/activity';
import type Replicate from 'replicate';
import { failure } from '../shared/failures';
import type { GenerateCreatingHeartbeat, GenerateHeartbeat } from '../shared/schemas';
import type { PredictionTracker } from './prediction-tracker';

export interface GenerateDeps {
  replicate: Replicate;
  /** First poll interval; it grows to `maxPollIntervalMs`. */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** Replicate's Cancel-After: no prediction outlives this, even if every worker is gone. */
  predictionDeadlineSeconds?: number;
  /**
   * Generations this worker runs at once (default 8): a burst of runs stays under the provider's
   * concurrency and rate limits instead of failing with 429s. The rest wait, heartbeating. With a
   * tracker, a generation holds its slot only until its prediction exists: creates in flight at once.
   */
  maxConcurrentGenerations?: number;
  /** After a cancel during the create request: how long to look for the prediction it may have made. */
  lateCreateGraceMs?: number;
  /**
   * Aborted by the worker that owns these activities when it begins to shut down: every generation
   * it runs, or is about to start, hands over at once (see the module comment). Default: never.
   */
  stopping?: AbortSignal;
  /** VIDFLOW_WEBHOOK_URL: the base of every prediction's webhook; default one that never resolves. */
  webhookUrl?: string;
  /** How long consecutive provider errors while reading are ridden out (default PROVIDER_ERROR_BUDGET_MS). */
  providerErrorBudgetMs?: number;
  /** Longest pause between reads while the provider errs (default 30 s; a Retry-After may ask more). */
  maxErrorBackoffMs?: number;
  /**
   * The worker's prediction tracker: once its prediction exists, an attempt hands it over and
   * completes asynchronously, freeing its slot (prediction-tracker.ts). Without one (or without a
   * client, as in MockActivityEnvironment) the attempt polls its prediction itself, holding a slot.
   */
  tracker?: PredictionTracker;
}

/** What a retry may find as the last heartbeat: either kind, or none. */
export type PreviousBeat = Partial<GenerateHeartbeat> & Partial<GenerateCreatingHeartbeat>;

/** A generation handed over by a stopping worker: retryable (catalogue), resumed by the next attempt. */
export function handover(tag: string, what: string): ApplicationFailure {
  return failure('WorkerShutdown', `${tag}: this worker is shutting down; ${what} (handed over to the next attempt)`);
}

/** Provider errors while reading are ridden out this long: a 2-minute outage costs no attempt, a dead API still ends. */
export const PROVIDER_ERROR_BUDGET_MS = 15 * 60_000;
