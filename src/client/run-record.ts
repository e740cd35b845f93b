/**
 * A run as the Temporal server recorded it, read without any worker: the stage from the
 * `VideoStage` search attribute, the input, plans, edits, clips and the result from the history.
 * `vidflow status`, `watch` and `approve` use it when no worker answers the status query, so a
 * person never waits on a worker that is not there. Best effort where the history is silent (a
 * scene's step between two events), exact for what was decided and paid for.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { estimateCostUsd } from '../shared/models';
import { VIDEO_STAGE } from '../shared/names';
import { PipelineInputSchema, STAGES } from '../shared/schemas';
import type { OutputInfo, PipelineResult, PipelineStatus, Plan, SceneState, Stage } from '../shared/schemas';
import type { videoPipeline } from '../workflows';

type Event = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

function first(payloads: Payloads): unknown {
  const p = payloads?.payloads?.[0];
  if (!p) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(p);
  } catch {
    return undefined;
  }
}

const record = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' ? (v as Record<string, unknown>) : {};

/** The innermost message of a recorded failure (the reason, not its wrappers). */
function failureMessage(f: temporal.api.failure.v1.IFailure | null | undefined): string | undefined {
  let cur = f;
  while (cur?.cause) cur = cur.cause;
  return cur?.message ?? undefined;
}

/** How a closed run ended, in the words `vidflow status` uses for stages. */
export function closedStage(desc: WorkflowExecutionDescription): Stage | undefined {
  const recorded = desc.typedSearchAttributes.get(VIDEO_STAGE);
  switch (desc.status.name) {
    case 'RUNNING':
      return undefined;
    case 'COMPLETED':
      return 'completed';
    case 'CANCELLED':
      return 'cancelled';
    case 'FAILED':
      return recorded === 'timed_out' ? 'timed_out' : 'failed';
    default:
      // TERMINATED, TIMED_OUT (the run's own timeout), CONTINUED_AS_NEW: ended from outside.
      return 'failed';
  }
}

/** The stage the run last recorded (its search attribute), or its end when closed. */
export function recordedStage(desc: WorkflowExecutionDescription): Stage {
  const closed = closedStage(desc);
  if (closed) return closed;
  const v = desc.typedSearchAttributes.get(VIDEO_STAGE);
  return (STAGES as readonly string[]).includes(String(v)) ? (v as Stage) : 'planning';
}

/** Replays the history's decisions into a status: plans, edits, redos, clips, the end. */
export function statusFromHistory(desc: WorkflowExecutionDescription, events: Event[]): PipelineStatus {
  const status: PipelineStatus = { stage: recordedStage(desc), planRound: 0, estimatedCostUsd: 0, scenes: [] };
  const scheduled = new Map<string, { type: string; input: Record<string, unknown> }>();
  let sceneCost = 0;
  const scene = (i: unknown): SceneState | undefined =>
    typeof i === 'number' ? status.scenes.find((s) => s.index === i) : undefined;

  for (const ev of events) {
    const started = ev.workflowExecutionStartedEventAttributes;
    if (started) {
      const input = PipelineInputSchema.safeParse(first(started.input));
      if (input.success) {
        const i = input.data;
        status.estimatedCostUsd = estimateCostUsd(i.model, i.scenes, i.sceneSeconds, { audio: i.audio });
        sceneCost = estimateCostUsd(i.model, 1, i.sceneSeconds, { audio: i.audio });
        if (i.maxCostUsd !== undefined) status.maxCostUsd = i.maxCostUsd;
      }
      continue;
    }
    const sch = ev.activityTaskScheduledEventAttributes;
    if (sch) {
      const input = record(first(sch.input));
      const type = sch.activityType?.name ?? '';
      scheduled.set(String(ev.eventId), { type, input });
      const s = scene(input.sceneIndex);
      if (s && type === 'generateClip') {
        s.status = 'generating';
        s.attempts++;
      } else if (s && type === 'downloadClip') s.status = 'downloading';
      continue;
    }
    const done = ev.activityTaskCompletedEventAttributes;
    if (done) {
      const act = scheduled.get(String(done.scheduledEventId));
      const result = first(done.result);
      if (act?.type === 'planScenes') {
        const plan = record(result) as Partial<Plan>;
        status.planRound++;
        if (plan.planner) status.planner = plan.planner;
        if (plan.note) status.plannerNote = plan.note;
        else delete status.plannerNote;
        status.scenes = (plan.scenes ?? []).map((prompt, i) => ({
          index: i + 1,
          prompt,
          status: 'pending',
          attempts: 0,
        }));
      }
      const s = scene(act?.input.sceneIndex);
      if (s && act?.type === 'generateClip') {
        const id = record(result).predictionId;
        if (typeof id === 'string') s.predictionId = id;
        delete s.error;
      }
      if (s && act?.type === 'downloadClip') s.status = 'ready';
      if (act?.type === 'stitchClips') status.output = result as OutputInfo;
      if (act?.type === 'publishVideo' && typeof record(result).uri === 'string') {
        status.artifactUri = record(result).uri as string;
      }
      continue;
    }
    const failed = ev.activityTaskFailedEventAttributes;
    if (failed) {
      const s = scene(scheduled.get(String(failed.scheduledEventId))?.input.sceneIndex);
      const message = failureMessage(failed.failure);
      if (s && message) s.error = message;
      continue;
    }
    const accepted = ev.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
    if (accepted) {
      const args = record(first(accepted.args));
      const s = scene(args.index);
      if (s && typeof args.prompt === 'string') s.prompt = args.prompt;
      if (s && accepted.name === 'redoScene') {
        s.status = 'pending';
        status.estimatedCostUsd = Math.round((status.estimatedCostUsd + sceneCost) * 100) / 100;
      }
      continue;
    }
    const completed = ev.workflowExecutionCompletedEventAttributes;
    if (completed) {
      const r = record(first(completed.result)) as Partial<PipelineResult>;
      if (r.path !== undefined && r.durationSeconds !== undefined && r.sizeBytes !== undefined) {
        status.output = { path: r.path, durationSeconds: r.durationSeconds, sizeBytes: r.sizeBytes };
      }
      if (r.worker) status.worker = r.worker;
      if (r.artifactUri) status.artifactUri = r.artifactUri;
      for (const s of status.scenes) s.status = 'ready';
      continue;
    }
    const wfFailed = ev.workflowExecutionFailedEventAttributes;
    if (wfFailed) status.error = failureMessage(wfFailed.failure) ?? 'the run failed';
    if (ev.workflowExecutionTerminatedEventAttributes) {
      status.error = `terminated${ev.workflowExecutionTerminatedEventAttributes.reason ? `: ${ev.workflowExecutionTerminatedEventAttributes.reason}` : ''}`;
    }
    if (ev.workflowExecutionCanceledEventAttributes) {
      for (const s of status.scenes) if (s.status !== 'ready') s.status = 'cancelled';
    }
  }
  return status;
}

/** The run's status as the server recorded it. Throws WorkflowNotFoundError for an unknown id. */
export async function recordedStatus(
  handle: WorkflowHandle<typeof videoPipeline>,
  desc?: WorkflowExecutionDescription,
): Promise<PipelineStatus> {
  const d = desc ?? (await handle.describe());
  const history = await handle.fetchHistory();
  return statusFromHistory(d, history.events ?? []);
}

/** describe(), or undefined when there is no such run. */
export async function describeRun(
  handle: WorkflowHandle<typeof videoPipeline>,
): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The scenes of the last plan the planner made (before any edit), from the history. */
export function lastPlannedScenes(events: Event[]): string[] {
  const planIds = new Set<string>();
  let scenes: string[] = [];
  for (const ev of events) {
    const sch = ev.activityTaskScheduledEventAttributes;
    if (sch?.activityType?.name === 'planScenes') planIds.add(String(ev.eventId));
    const done = ev.activityTaskCompletedEventAttributes;
    if (done && planIds.has(String(done.scheduledEventId))) {
      const planned = (record(first(done.result)) as Partial<Plan>).scenes;
      if (Array.isArray(planned)) scenes = planned;
    }
  }
  return scenes;
}

/** Scene numbers whose prompt differs from what the planner wrote: the person's edits. */
export async function editedScenes(
  handle: WorkflowHandle<typeof videoPipeline>,
  current: { index: number; prompt: string }[],
): Promise<number[]> {
  const planned = lastPlannedScenes((await handle.fetchHistory()).events ?? []);
  return current
    .filter((s) => planned[s.index - 1] !== undefined && planned[s.index - 1] !== s.prompt)
    .map((s) => s.index);
}
