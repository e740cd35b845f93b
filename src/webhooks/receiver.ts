/**
 * Replicate's webhooks, received: a hint that wakes a waiting generation sooner than the worker's
 * reconciliation poll would (docs/architecture.md, "Generation at scale"). Never the source of
 * truth: Replicate retries only the final event, and events arrive twice, late or never, so the
 * prediction tracker's slow poll still settles everything a webhook missed.
 *
 * A request is acted on only when it is signed by Replicate (Standard Webhooks, checked by the
 * `replicate` client's own `validateWebhook`), fresh (timestamp within 5 minutes: a captured
 * request cannot be replayed later), new (its `webhook-id` not seen: retries and duplicates are
 * answered 200 and ignored), a finished prediction of a key vidflow made (the generation key in
 * the URL's query, providers/prediction-keys.ts, plus the activity id), and the prediction the
 * activity is waiting for right now (its heartbeat names it; a cancelled or closed run is
 * ignored), or one the worker's own tracker holds (settled at once, no server call: the tracker
 * learns of a cancel from its own heartbeats). Everything else is a 4xx, logged without the secret or the body, and changes nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Client } from '@temporalio/client';
import { ActivityNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { validateWebhook } from 'replicate';
import type { Prediction } from 'replicate';
import type { PredictionTracker } from '../activities/prediction-tracker';
import { outcome } from '../activities/prediction-outcome';
import { keyOf } from '../providers/prediction-keys';
import { TERMINAL } from '../providers/replicate-predictions';
import { ACTIVITY_PARAM } from './activity-param';

/** Replicate's (and Standard Webhooks') replay window. */
const TOLERANCE_S = 5 * 60;
const MAX_BODY = 1024 * 1024;
const DEDUP_MAX = 50_000;

export interface ReceiverDeps {
  client: Client;
  /** The signing secret (`whsec_…`); fetched once, lazily. */
  secret: () => Promise<string>;
  /** In the worker: settle through its tracker when it holds the prediction (saves a Temporal call). */
  tracker?: PredictionTracker;
  log?: (line: string) => void;
  now?: () => number;
}

export interface ReceiverCounters {
  accepted: number;
  duplicates: number;
  unauthorized: number;
  stale: number;
  badRequest: number;
  unknown: number;
  ignored: number;
}

export function createWebhookReceiver(deps: ReceiverDeps) {
  const log = deps.log ?? ((line: string) => console.error(line));
  const now = deps.now ?? Date.now;
  const seen = new Set<string>();
  const counters: ReceiverCounters = {
    accepted: 0,
    duplicates: 0,
    unauthorized: 0,
    stale: 0,
    badRequest: 0,
    unknown: 0,
    ignored: 0,
  };
  let secret: Promise<string> | undefined;

  function answer(res: ServerResponse, status: number, text: string, counter?: keyof ReceiverCounters): void {
    if (counter) counters[counter]++;
    if (status >= 400) log(`webhooks: ${status} ${text}`);
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`${text}\n`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return answer(res, 405, 'POST only', 'badRequest');
    const body = await readBody(req);
    if (body === undefined) return answer(res, 413, 'body too large', 'badRequest');
    const h = (name: string): string => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : '';
    };
    const id = h('webhook-id');
    const timestamp = h('webhook-timestamp');
    const signature = h('webhook-signature');
    if (!id || !timestamp || !signature) return answer(res, 401, 'unsigned request', 'unauthorized');
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now() / 1000 - Number(timestamp)) > TOLERANCE_S) {
      return answer(res, 401, `stale or bad timestamp (webhook-id ${id.slice(0, 64)})`, 'stale');
    }
    let valid: boolean;
    try {
      secret ??= deps.secret();
      valid = await validateWebhook({ id, timestamp, signature, body, secret: await secret });
    } catch (err) {
      secret = undefined; // a failed secret lookup is tried again on the next request
      log(`webhooks: cannot check signatures: ${(err as Error).message}`);
      return answer(res, 503, 'signature check unavailable');
    }
    if (!valid) return answer(res, 401, `bad signature (webhook-id ${id.slice(0, 64)})`, 'unauthorized');
    if (seen.has(id)) return answer(res, 200, 'duplicate', 'duplicates');

    let prediction: Prediction;
    try {
      prediction = JSON.parse(body) as Prediction;
    } catch {
      return answer(res, 400, 'body is not JSON', 'badRequest');
    }
    if (typeof prediction?.id !== 'string' || typeof prediction.status !== 'string') {
      return answer(res, 400, 'body is not a prediction', 'badRequest');
    }
    const url = new URL(req.url ?? '/', 'http://receiver');
    const key = keyOf({ webhook: url.toString() });
    const activityId = url.searchParams.get(ACTIVITY_PARAM);
    if (!key || !activityId) return answer(res, 404, `prediction ${prediction.id} carries no vidflow key`, 'unknown');
    if (!TERMINAL.has(prediction.status)) {
      remember(id);
      return answer(res, 202, `prediction ${prediction.id} is ${prediction.status}: nothing to do yet`, 'ignored');
    }

    // The worker's own tracker holds this very prediction (its id, from a signed request): settle
    // it at once. Asking the server who waits first costs a describe per webhook, and a burst of
    // hundreds of final events at once made those describes slow enough for deliveries to time out
    // and wait for the reconciliation poll (bench:load, 300 clips).
    if (await deps.tracker?.settle(prediction)) {
      remember(id);
      log(`webhooks: prediction ${prediction.id} (${prediction.status}) of ${key.workflowId} scene ${key.scene}`);
      return answer(res, 200, 'ok', 'accepted');
    }
    const waiting = await waitingFor(deps.client, key.workflowId, activityId);
    if (waiting === 'closed' || waiting === 'cancelling') {
      remember(id);
      return answer(res, 200, `run ${key.workflowId} is ${waiting}: ignored`, 'ignored');
    }
    if (waiting?.predictionId !== prediction.id) {
      return answer(res, 404, `no activity of ${key.workflowId} waits for prediction ${prediction.id}`, 'unknown');
    }
    const full = { workflowId: key.workflowId, activityId };
    try {
      let result;
      try {
        result = outcome({ log: { info: (m) => log(`webhooks: ${m}`) } }, `scene ${key.scene}`, prediction, key.try);
      } catch (failure) {
        await deps.client.activity.fail(full, failure);
      }
      if (result) await deps.client.activity.complete(full, result);
    } catch (err) {
      if (!(err instanceof ActivityNotFoundError)) throw err; // a 500: Replicate retries the final event
    }
    remember(id);
    log(`webhooks: prediction ${prediction.id} (${prediction.status}) of ${key.workflowId} scene ${key.scene}`);
    return answer(res, 200, 'ok', 'accepted');
  }

  function remember(id: string): void {
    seen.add(id);
    // Insertion order: the oldest ids go first; Replicate's retries come within minutes.
    if (seen.size > DEDUP_MAX) for (const old of [...seen].slice(0, DEDUP_MAX / 10)) seen.delete(old);
  }

  return {
    counters,
    async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      try {
        await handle(req, res);
      } catch (err) {
        log(`webhooks: ${(err as Error).message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('error\n');
      }
    },
  };
}

export type WebhookReceiver = ReturnType<typeof createWebhookReceiver>;

/** What a run's activity waits for: a prediction id (its heartbeat), or why nothing. */
type Waiting = { predictionId: string } | 'closed' | 'cancelling' | undefined;

/** The prediction id the activity's current attempt waits for (its heartbeat), or why none. */
async function waitingFor(client: Client, workflowId: string, activityId: string): Promise<Waiting> {
  let desc;
  try {
    desc = await client.workflow.getHandle(workflowId).describe();
  } catch {
    return undefined;
  }
  if (desc.status.name !== 'RUNNING') return 'closed';
  const pa = (desc.raw.pendingActivities ?? []).find((a) => a.activityId === activityId);
  if (!pa) return undefined;
  if (String(pa.state) === '3' || String(pa.state) === 'PENDING_ACTIVITY_STATE_CANCEL_REQUESTED') return 'cancelling';
  const payload = pa.heartbeatDetails?.payloads?.[0];
  if (!payload) return undefined;
  try {
    const d = defaultPayloadConverter.fromPayload<{ predictionId?: unknown }>(payload);
    return typeof d?.predictionId === 'string' ? { predictionId: d.predictionId } : undefined;
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
