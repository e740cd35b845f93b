/**
 * One per worker: waits for every prediction this worker's generate activities created, so that
 * waiting costs no activity slot (docs/architecture.md, "Generation at scale").
 *
 * `generateClip` creates (or resumes, or adopts) its prediction, hands it here with its task token
 * and throws `CompleteAsyncError`: the SDK releases the slot at once. The tracker then
 * - heartbeats each activity through the client (details: the same GenerateHeartbeat as before,
 *   so a crashed worker's activity times out and its retry resumes the prediction by id);
 * - reads the status of all its predictions in bulk: the list endpoint (100 a page, newest
 *   first) down to its oldest prediction, with a per-id GET only for those the list did not
 *   reach; every `pollMs` (a few seconds when polling; the slow reconciliation poll when webhooks
 *   wake the runs, see src/webhooks/);
 * - completes or fails each activity with the same result and catalogue failures as the
 *   synchronous path (prediction-outcome.ts);
 * - cancels a prediction at Replicate only when the run asked for it (a heartbeat answered
 *   "cancel requested"), or the run has ended: the rules of prediction-cancel.ts;
 * - on the worker's `stopping` signal fails every tracked activity with the retryable
 *   `WorkerShutdown` at once, so another worker resumes them after the retry backoff instead of a
 *   heartbeat timeout.
 *
 * Read errors (5xx, 429, network) are ridden out: a 429's Retry-After pauses all reads; after
 * `errorBudgetMs` of nothing but errors the activities fail (retryable), as in provider-patience.ts.
 */
import { AsyncResource } from 'node:async_hooks';
import type { Client } from '@temporalio/client';
import {
  ActivityCancelledError,
  ActivityNotFoundError,
  ActivityPausedError,
  ActivityResetError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/activity';
import type Replicate from 'replicate';
import type { Prediction } from 'replicate';
import { failure } from '../shared/failures';
import type { GenerateClipResult, GenerateHeartbeat } from '../shared/schemas';
import { fromReplicateError, retryAfterMsOf } from '../providers/errors';
import { TERMINAL, cancelPrediction } from '../providers/replicate-predictions';
import { outcome } from './prediction-outcome';
import { eachLimited, readStatuses } from './prediction-reads';

interface Log {
  info(msg: string): void;
  warn(msg: string): void;
}

/** What generateClip hands over: enough to heartbeat, read, settle and cancel without its context. */
export interface TrackedGeneration {
  taskToken: Uint8Array;
  client: Client;
  log: Log;
  tag: string;
  workflowId: string;
  predictionId: string;
  status: string;
  createdAtMs: number;
  sceneIndex: number;
  modelFailures: number;
}

interface Entry extends TrackedGeneration {
  beatAt: number;
  settling: boolean;
}

export interface TrackerOptions {
  replicate: Replicate;
  /** Status reads of all tracked predictions this often (polling: 5 s; webhooks: the 60 s reconciliation). */
  pollMs: number;
  /** Each activity is heartbeated this often; must stay well under generateClip's heartbeat timeout (30 s). */
  heartbeatMs?: number;
  /** Aborted when the worker begins to stop: every tracked generation is handed over. */
  stopping?: AbortSignal;
  /** Consecutive read errors ridden out this long before the activities fail (retryable). */
  errorBudgetMs?: number;
  /** List pages read per poll at most; the rest are read one by one. */
  maxListPages?: number;
}

/**
 * Temporal calls in flight at once (heartbeats, completions): 300 activities must not open 300
 * streams, yet 300 beats every 10 s are 30 calls a second, so at 1 s a call (a Temporal server
 * under load) 16 at once fell behind the heartbeat timeout.
 */
const TEMPORAL_CONCURRENCY = 32;
const TICK_MS = 500;

export class PredictionTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly o: Required<Omit<TrackerOptions, 'stopping'>> & { stopping?: AbortSignal };
  private nextReadAt = 0;
  private readErrorsSince: number | undefined;
  private busy = false;
  private readonly timer: NodeJS.Timeout;
  private handedOver: Promise<void> | undefined;
  /** Replicate requests made by the tracker, by kind (the load bench reads them). */
  readonly requests = { list: 0, get: 0, cancel: 0 };

  constructor(o: TrackerOptions) {
    this.o = { heartbeatMs: 10_000, errorBudgetMs: 15 * 60_000, maxListPages: 5, ...o };
    // Bound to the constructor's async context: a loop first scheduled from inside an activity
    // would carry that activity's call context (and its abort signal) into every later client call.
    const tick = AsyncResource.bind(() => void this.tick());
    this.timer = setInterval(tick, TICK_MS).unref();
    o.stopping?.addEventListener(
      'abort',
      AsyncResource.bind(() => void this.handOver()),
      { once: true },
    );
  }

  get size(): number {
    return this.entries.size;
  }

  track(g: TrackedGeneration): void {
    this.entries.set(g.predictionId, { ...g, beatAt: 0, settling: false });
    g.log.info(`${g.tag}: prediction ${g.predictionId} (${g.status}) tracked; the activity slot is free`);
    if (this.o.stopping?.aborted) void this.handOver();
  }

  /** A webhook's word that a prediction finished (a hint: settled only if it is tracked here). */
  async settle(prediction: Prediction): Promise<boolean> {
    const e = this.entries.get(prediction.id);
    if (!e || !TERMINAL.has(prediction.status)) return false;
    await this.finish(e, prediction);
    return true;
  }

  /** Stops the loop; tracked activities are left to their heartbeat timeouts (use handOver first). */
  close(): void {
    clearInterval(this.timer);
  }

  /** Every tracked activity fails with WorkerShutdown now; resolves when all are reported. */
  handOver(): Promise<void> {
    this.handedOver ??= this.failAll();
    return this.handedOver;
  }

  private async failAll(): Promise<void> {
    this.close();
    // Held until every hand-over is reported. The client's calls run in the SDK's native layer,
    // which keeps nothing alive on Node's event loop, and the loop's own timer is unref'd: a
    // stopping worker whose Workers had shut down exited (code 0) between sending a failure and
    // hearing back, its "handed over" line never written, and one not yet sent never sent.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await Promise.all([...this.entries.values()].map((e) => this.handOverOne(e)));
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async handOverOne(e: Entry): Promise<void> {
    if (e.settling) return;
    e.settling = true;
    this.entries.delete(e.predictionId);
    const why = `${e.tag}: this worker is shutting down; prediction ${e.predictionId} (${e.status}) lives on for the next attempt (handed over)`;
    try {
      await e.client.activity.heartbeat(e.taskToken, this.details(e));
      await e.client.activity.fail(e.taskToken, failure('WorkerShutdown', why));
      e.log.info(why);
    } catch (err) {
      e.log.warn(`${e.tag}: hand-over not reported (${(err as Error).message}); the heartbeat timeout will do it`);
    }
  }

  private details(e: Entry): GenerateHeartbeat {
    return {
      predictionId: e.predictionId,
      status: e.status,
      sceneIndex: e.sceneIndex,
      ...(e.modelFailures ? { modelFailures: e.modelFailures } : {}),
    };
  }

  private async tick(): Promise<void> {
    if (this.busy || this.handedOver) return;
    this.busy = true;
    try {
      const now = Date.now();
      if (now >= this.nextReadAt && this.entries.size > 0) {
        this.nextReadAt = now + this.o.pollMs;
        await this.readAll();
      }
      // The longest unbeaten first: under a slow server it is the one nearest its heartbeat timeout.
      const due = [...this.entries.values()]
        .filter((e) => !e.settling && Date.now() - e.beatAt >= this.o.heartbeatMs)
        .sort((a, b) => a.beatAt - b.beatAt);
      await eachLimited(due, TEMPORAL_CONCURRENCY, (e) => this.beat(e));
    } finally {
      this.busy = false;
    }
  }

  private async beat(e: Entry): Promise<void> {
    e.beatAt = Date.now();
    try {
      await e.client.activity.heartbeat(e.taskToken, this.details(e));
    } catch (err) {
      if (e.settling || !this.entries.has(e.predictionId)) return;
      if (err instanceof ActivityCancelledError) return this.cancelled(e, 'the run was cancelled', true);
      if (err instanceof ActivityNotFoundError) return this.notFound(e);
      if (err instanceof ActivityPausedError || err instanceof ActivityResetError) {
        // As the SDK does for a paused (or reset) activity: this attempt ends, the prediction lives on.
        const what = err instanceof ActivityPausedError ? 'paused' : 'reset';
        this.entries.delete(e.predictionId);
        e.log.info(`${e.tag}: activity ${what}; prediction ${e.predictionId} lives on for the next attempt`);
        const f = new ApplicationFailure(`Activity ${what}`, what === 'paused' ? 'ActivityPause' : 'ActivityReset');
        await e.client.activity.fail(e.taskToken, f).catch(() => undefined);
        return;
      }
      // Temporal unreachable for a moment: the next beat tries again (the timeout allows a few).
      e.log.warn(`${e.tag}: heartbeat failed: ${(err as Error).message}`);
    }
  }

  /**
   * No such activity attempt: it completed (a webhook receiver settled it), a newer attempt took
   * over, or the run has closed. Only the last means nobody will use the clip: cancel it then.
   */
  private async notFound(e: Entry): Promise<void> {
    this.entries.delete(e.predictionId);
    const closed = await e.client.workflow
      .getHandle(e.workflowId)
      .describe()
      .then((d) => d.status.name !== 'RUNNING')
      .catch(() => false); // unknown: keep the prediction, a retry may still need it
    if (closed && !TERMINAL.has(e.status)) await this.cancelled(e, 'the run has ended', false);
    else e.log.info(`${e.tag}: activity no longer current; prediction ${e.predictionId} left to its owner`);
  }

  private async cancelled(e: Entry, why: string, report: boolean): Promise<void> {
    e.settling = true;
    this.entries.delete(e.predictionId);
    try {
      this.requests.cancel++;
      await cancelPrediction(this.o.replicate, e.predictionId);
      e.log.info(`${e.tag}: cancelled prediction ${e.predictionId} at Replicate (${why})`);
    } catch (err) {
      e.log.warn(`${e.tag}: could not cancel prediction ${e.predictionId}: ${(err as Error).message}`);
    }
    if (report) await e.client.activity.reportCancellation(e.taskToken).catch(() => undefined);
  }

  private async readAll(): Promise<void> {
    try {
      const oldestMs = Math.min(...[...this.entries.values()].map((e) => e.createdAtMs));
      const seen = await readStatuses({
        replicate: this.o.replicate,
        ids: new Set(this.entries.keys()),
        oldestMs,
        maxListPages: this.o.maxListPages,
        requests: this.requests,
      });
      this.readErrorsSince = undefined;
      await eachLimited([...seen.values()], TEMPORAL_CONCURRENCY, (p) => this.update(p));
    } catch (err) {
      await this.readFailed(err);
    }
  }

  private async update(p: Prediction): Promise<void> {
    const e = this.entries.get(p.id);
    if (!e || e.settling) return;
    if (p.status !== e.status) e.log.info(`${e.tag}: prediction ${p.id}: ${p.status}`);
    e.status = p.status;
    if (TERMINAL.has(p.status)) await this.finish(e, p);
  }

  private async finish(e: Entry, p: Prediction): Promise<void> {
    if (e.settling) return;
    e.settling = true;
    e.status = p.status;
    this.entries.delete(e.predictionId);
    let result: GenerateClipResult | undefined;
    let failed: unknown;
    try {
      result = outcome(e, e.tag, p, e.modelFailures);
    } catch (err) {
      failed = err;
    }
    try {
      if (result) await e.client.activity.complete(e.taskToken, result);
      else await e.client.activity.fail(e.taskToken, failed);
    } catch (err) {
      // Not found: another attempt or a webhook receiver settled it first; nothing to do.
      if (!(err instanceof ActivityNotFoundError)) {
        e.log.warn(`${e.tag}: could not report prediction ${p.id}: ${(err as Error).message}`);
      }
    }
  }

  private async readFailed(err: unknown): Promise<void> {
    const mapped = fromReplicateError(err);
    const now = Date.now();
    this.readErrorsSince ??= now;
    this.nextReadAt = Math.max(this.nextReadAt, now + Math.min(retryAfterMsOf(err), 60_000));
    const first = [...this.entries.values()][0];
    first?.log.warn(
      `prediction tracker: reading ${this.entries.size} predictions failed: ${(mapped ?? (err as Error)).message}`,
    );
    if (now - this.readErrorsSince < this.o.errorBudgetMs) return;
    this.readErrorsSince = undefined;
    const why = `Replicate kept failing for ${Math.round(this.o.errorBudgetMs / 1000)} s; the next attempt resumes`;
    await eachLimited([...this.entries.values()], TEMPORAL_CONCURRENCY, async (e) => {
      e.settling = true;
      this.entries.delete(e.predictionId);
      await e.client.activity
        .fail(e.taskToken, failure('ProviderUnavailable', `${e.tag}: ${why}`, { cause: mapped }))
        .catch(() => undefined);
    });
  }
}
