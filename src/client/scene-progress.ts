/**
 * What only the server knows about a run in progress: the heartbeats of its running activities
 * (prediction status, percent downloaded), their attempt, and why one is being retried. Read from
 * `describe()`, which needs no worker, so a run whose worker is down still shows its progress.
 * Shared by `vidflow watch` and the Telegram bot, so both show a scene at the same point.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';

export interface SceneLive {
  /** Last heartbeat of a running activity for this scene. */
  predictionStatus?: string;
  percent?: number;
  /** The attempt of the scene's running activity; above 1 it is being retried. */
  attempt?: number;
  /** Catalogue type of the failure that made it retry (ProviderUnavailable, WorkerShutdown, …). */
  retryReason?: string;
}

/** Heartbeat details of the pending activities, by scene index (they carry `sceneIndex`). */
export async function liveScenes(handle: WorkflowHandle): Promise<Map<number, SceneLive>> {
  const out = new Map<number, SceneLive>();
  const desc = await handle.describe();
  for (const pa of desc.raw.pendingActivities ?? []) {
    const payload = pa.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    let d: { sceneIndex?: unknown; status?: unknown; percent?: unknown } | undefined;
    try {
      d = defaultPayloadConverter.fromPayload(payload);
    } catch {
      continue; // not one of ours: nothing to show
    }
    if (typeof d?.sceneIndex !== 'number') continue;
    const live = out.get(d.sceneIndex) ?? {};
    if (typeof d.status === 'string') live.predictionStatus = d.status;
    if (typeof d.percent === 'number') live.percent = d.percent;
    if (pa.attempt) live.attempt = pa.attempt;
    const reason =
      pa.lastFailure?.applicationFailureInfo?.type ?? (pa.lastFailure?.timeoutFailureInfo ? 'Timeout' : undefined);
    if (reason) live.retryReason = reason;
    out.set(d.sceneIndex, live);
  }
  return out;
}

/** How far along a scene is, 0..1: generating counts for the first 70 %, downloading for the rest. */
export function sceneFraction(status: string, live: SceneLive | undefined): number {
  switch (status) {
    case 'ready':
      return 1;
    case 'downloading':
      return 0.7 + 0.3 * ((live?.percent ?? 0) / 100);
    case 'generating':
      return live?.predictionStatus === 'processing' ? 0.35 : 0.1;
    default:
      return 0;
  }
}
