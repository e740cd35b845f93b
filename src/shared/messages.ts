/**
 * Signals, queries and updates of `videoPipeline`, as typed definitions. Clients use these
 * objects, never string names; the names themselves are what the Temporal CLI and Web UI use
 * (`temporal workflow signal --name approve`).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PipelineStatus } from './schemas';

/** Approve the plan. Takes no payload (an empty object `{}` from the Temporal CLI is accepted). */
export const approveSignal = defineSignal<[unknown?]>('approve');
export const statusQuery = defineQuery<PipelineStatus>('status');
