/**
 * The one place for names that cross process boundaries: the task queue, the workflow type and
 * the search attribute. Signals, queries and updates live in ./messages; failure types in ./failures.
 */
import { defineSearchAttributeKey } from '@temporalio/common';

export const DEFAULT_TASK_QUEUE = 'video-pipeline';
/** Clients start runs by this name; src/workflows/index.ts fails to compile if no workflow is exported under it. */
export const WORKFLOW_TYPE = 'videoPipeline';

/** Keyword search attribute holding the stage, so `temporal workflow list --query` can find runs. */
export const VIDEO_STAGE = defineSearchAttributeKey('VideoStage', 'KEYWORD');

/**
 * Keyword search attribute holding the Telegram chat a run was started from (`vidflow bot`), set
 * at start and never changed: `/status` and a restarted bot find the chat's runs through it, and
 * a button press is checked against it (not against the id in its callback data).
 */
export const VIDFLOW_CHAT = defineSearchAttributeKey('VidflowChat', 'KEYWORD');

/** Every custom search attribute vidflow uses, for whoever registers them on a server. */
export const SEARCH_ATTRIBUTES = [VIDEO_STAGE, VIDFLOW_CHAT] as const;

/**
 * A worker's own task queue, for the steps of a run that need the files on its disk. Stable for
 * a given worker id, so a worker restarted on the same machine (same work folder) finds its queue
 * and its files again.
 */
export function workerTaskQueue(sharedQueue: string, workerId: string): string {
  return `${sharedQueue}@${workerId}`;
}

/**
 * Where generations are scheduled: a queue of provider calls only, polled by every worker with
 * Temporal's task-queue rate limit (`maxTaskQueueActivitiesPerSecond`), which the server enforces
 * for all of them together: the account's create limit holds however many workers there are.
 */
export function providerTaskQueue(sharedQueue: string): string {
  return `${sharedQueue}-provider`;
}
