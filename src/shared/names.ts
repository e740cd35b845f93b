/**
 * The one place for names that cross process boundaries: the task queue, the workflow type and
 * the search attribute. Signals, queries and updates live in ./messages; failure types in ./failures.
 */
import { defineSearchAttributeKey } from '@temporalio/common';

export const DEFAULT_TASK_QUEUE = 'video-pipeline';
export const WORKFLOW_TYPE = 'videoPipeline';

/** Keyword search attribute holding the stage, so `temporal workflow list --query` can find runs. */
export const VIDEO_STAGE = defineSearchAttributeKey('VideoStage', 'KEYWORD');
