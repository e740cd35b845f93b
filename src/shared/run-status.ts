/**
 * What the status query and the result say about a run: its stage, each scene's and keyframe's
 * state, the output. Plain types and constant lists (no zod: the workflow builds these itself and
 * nothing outside sends them in); part of the one place for names, re-exported by ./schemas.
 */
import type { Look, Planner } from './schemas';

export const STAGES = [
  'planning',
  'awaiting_approval',
  'storyboarding',
  'reviewing_storyboard',
  'generating',
  'stitching',
  'reviewing_result',
  'completed',
  'timed_out',
  'failed',
  'cancelled',
] as const;
export type Stage = (typeof STAGES)[number];

export const SCENE_STATUSES = [
  'pending',
  'generating',
  'downloading',
  'ready',
  'flagged',
  'failed',
  'cancelled',
] as const;
export const FINAL_STAGES: readonly Stage[] = ['completed', 'failed', 'cancelled', 'timed_out'];
export type SceneStatus = (typeof SCENE_STATUSES)[number];

export interface SceneState {
  /** 1-based, as everywhere a person sees it. */
  index: number;
  prompt: string;
  status: SceneStatus;
  predictionId?: string;
  /** Predictions made for this scene (a regeneration after an expired URL adds one). */
  attempts: number;
  error?: string;
}

export const KEYFRAME_STATUSES = ['pending', 'generating', 'downloading', 'ready', 'failed', 'cancelled'] as const;
export type KeyframeStatus = (typeof KEYFRAME_STATUSES)[number];

/** Keyframe `index` (1..N+1) is the boundary where scene index-1 ends and scene index starts. */
export interface KeyframeState {
  index: number;
  prompt: string;
  status: KeyframeStatus;
  predictionId?: string;
  /** On the home worker's disk. */
  path?: string;
  /** The image prediction's output URL. */
  url?: string;
  /** Predictions made for this keyframe (a redo adds one). */
  attempts: number;
  error?: string;
}

export interface OutputInfo {
  path: string;
  durationSeconds: number;
  sizeBytes: number;
}

export interface PipelineStatus {
  stage: Stage;
  planner?: Planner;
  plannerNote?: string;
  /** 1 for the first plan; grows with each plan made after a rejection. */
  planRound: number;
  /** Scenes × seconds × the model's price, plus redone scenes. */
  estimatedCostUsd: number;
  maxCostUsd?: number;
  scenes: SceneState[];
  /** The planner's shared look (storyboard runs; plans from before have none). */
  look?: Look;
  /** Storyboard runs: the N+1 keyframes, in order. */
  keyframes?: KeyframeState[];
  /** Storyboard runs: all keyframes side by side, on the home worker's disk. */
  contactSheet?: string;
  /** The worker holding this run's clips (its id, from the claim). */
  worker?: string;
  output?: OutputInfo;
  /** Where the finished video can be fetched from (`vidflow result --download`): file:// or s3://. */
  artifactUri?: string;
  error?: string;
}

export interface PipelineResult extends OutputInfo {
  workflowId: string;
  /** The worker that stitched the video; `path` is on its disk. */
  worker?: string;
  /** Where the video can be fetched from any machine with access to the store (file:// or s3://). */
  artifactUri?: string;
  scenes: { index: number; prompt: string; predictionId: string }[];
}
