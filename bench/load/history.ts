/** What a run's Temporal history says about it: phase times, activity timeouts and retries. */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { videoPipeline } from '../../src/workflows';

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

function timeMs(e: HistoryEvent | undefined): number | undefined {
  const t = e?.eventTime;
  if (!t) return undefined;
  return Number(String(t.seconds ?? 0)) * 1000 + (t.nanos ?? 0) / 1e6;
}

export interface RunHistory {
  /** The first generateClip scheduled: the plan was approved. */
  generateScheduledMs?: number;
  /**
   * The last generateClip to start: its prediction is created at once, so this is when the pacing
   * (the account's create limit, the provider queue's rate) let the run's last clip go.
   */
  lastGenerateStartedMs?: number;
  /** eventTime of the last downloadClip completion: the last clip is on the worker's disk. */
  lastClipReadyMs?: number;
  stitchScheduledMs?: number;
  stitchStartedMs?: number;
  stitchCompletedMs?: number;
  doneMs?: number;
  timeouts: number;
  retries: number;
  retried: string[];
  /** Per generateClip attempt that completed: started -> completed (the prediction's life, L, plus the settle). */
  generateMs: number[];
  /** Per downloadClip: scheduled -> started (waiting for the worker to take it) and started -> completed. */
  downloadWaitMs: number[];
  downloadRunMs: number[];
  /** Per downloadClip: the last generateClip completed before it -> it scheduled (the workflow's turn). */
  decideMs: number[];
  /** Per workflow task: scheduled -> started (waiting for the worker) and started -> completed (its work). */
  wftWaitMs: number[];
  wftRunMs: number[];
}

export function analyse(events: HistoryEvent[]): RunHistory {
  const typeByScheduled = new Map<string, string>();
  const scheduledAt = new Map<string, number>();
  const startedAt = new Map<string, number>();
  const h: RunHistory = {
    timeouts: 0,
    retries: 0,
    retried: [],
    generateMs: [],
    downloadWaitMs: [],
    downloadRunMs: [],
    decideMs: [],
    wftWaitMs: [],
    wftRunMs: [],
  };
  let wftScheduledMs = 0;
  let wftStartedMs = 0;
  let lastGenerateDoneMs: number | undefined;
  for (const e of events) {
    const id = String(e.eventId);
    switch (e.eventType) {
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const name = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
        typeByScheduled.set(id, name);
        scheduledAt.set(id, timeMs(e) ?? 0);
        if (name === 'stitchClips') h.stitchScheduledMs = timeMs(e);
        if (name === 'generateClip') h.generateScheduledMs ??= timeMs(e);
        if (name === 'downloadClip' && lastGenerateDoneMs !== undefined)
          h.decideMs.push((timeMs(e) ?? 0) - lastGenerateDoneMs);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const a = e.activityTaskStartedEventAttributes;
        const name = typeByScheduled.get(String(a?.scheduledEventId)) ?? '?';
        startedAt.set(String(a?.scheduledEventId), timeMs(e) ?? 0);
        if (name === 'downloadClip')
          h.downloadWaitMs.push((timeMs(e) ?? 0) - (scheduledAt.get(String(a?.scheduledEventId)) ?? 0));
        if (name === 'stitchClips') h.stitchStartedMs = timeMs(e);
        if (name === 'generateClip') h.lastGenerateStartedMs = Math.max(h.lastGenerateStartedMs ?? 0, timeMs(e) ?? 0);
        const attempt = a?.attempt ?? 1;
        if (attempt > 1) {
          h.retries += attempt - 1;
          h.retried.push(`${name}#${attempt}${a?.lastFailure?.message ? ` (${a.lastFailure.message})` : ''}`);
        }
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const scheduled = String(e.activityTaskCompletedEventAttributes?.scheduledEventId);
        const name = typeByScheduled.get(scheduled);
        const ran = (timeMs(e) ?? 0) - (startedAt.get(scheduled) ?? 0);
        if (name === 'generateClip') {
          h.generateMs.push(ran);
          lastGenerateDoneMs = timeMs(e);
        }
        if (name === 'downloadClip') {
          h.lastClipReadyMs = timeMs(e);
          h.downloadRunMs.push(ran);
        }
        if (name === 'stitchClips') h.stitchCompletedMs = timeMs(e);
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        wftScheduledMs = timeMs(e) ?? 0;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        wftStartedMs = timeMs(e) ?? 0;
        h.wftWaitMs.push(wftStartedMs - wftScheduledMs);
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        h.wftRunMs.push((timeMs(e) ?? 0) - wftStartedMs);
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        h.timeouts++;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        h.doneMs = timeMs(e);
        break;
      default:
        break;
    }
  }
  return h;
}

export async function historyOf(client: Client, workflowId: string): Promise<RunHistory> {
  const history = await client.workflow.getHandle<typeof videoPipeline>(workflowId).fetchHistory();
  return analyse(history.events ?? []);
}

/** Nearest-rank percentile. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
