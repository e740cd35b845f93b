/**
 * How a run reads in the chat: the plan, the progress message (one, edited in place), the video's
 * caption. Plain text on purpose: prompts are the user's own words, and Markdown or HTML would
 * have to escape them perfectly or fail to send.
 */
import type { PipelineStatus } from '../shared/schemas';
import type { Messages } from './i18n';
import { sceneFraction } from '../client/scene-progress';
import type { SceneLive } from '../client/scene-progress';

/** Telegram refuses messages over 4096 characters; six long scenes could get there. */
const MAX_MESSAGE = 4096;
const MAX_SCENE_SHOWN = 600;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function planText(t: Messages, s: PipelineStatus, input: { seconds: number; aspect: string }): string {
  const lines = [
    t.planTitle({ round: s.planRound, scenes: s.scenes.length, seconds: input.seconds, aspect: input.aspect }),
    s.planner === 'fallback' ? t.plannerFallback(s.plannerNote ?? '?') : t.plannerOpenai,
    '',
    ...s.scenes.map((sc) => `${sc.index}. ${clip(sc.prompt, MAX_SCENE_SHOWN)}`),
    '',
    t.estimatedCost(s.estimatedCostUsd),
    t.planHint,
  ];
  return clip(lines.join('\n'), MAX_MESSAGE);
}

const BAR = 10;

export function progressStage(stage: PipelineStatus['stage']): 'generating' | 'stitching' | 'done' | 'stopped' {
  if (stage === 'generating' || stage === 'planning' || stage === 'awaiting_approval') return 'generating';
  if (stage === 'stitching') return 'stitching';
  if (stage === 'reviewing_result' || stage === 'completed') return 'done';
  return 'stopped';
}

function retryWhat(t: Messages, reason: string | undefined): string {
  return reason === 'WorkerShutdown' || reason === 'Timeout' ? t.workerMoved : t.providerTrouble;
}

export function progressText(t: Messages, s: PipelineStatus, live: Map<number, SceneLive>): string {
  const lines = [t.progressTitle(progressStage(s.stage), s.scenes.length)];
  for (const sc of s.scenes) {
    const l = live.get(sc.index);
    const f = sceneFraction(sc.status, l);
    const filled = Math.round(f * BAR);
    const detail =
      sc.status === 'generating' && l?.predictionStatus
        ? l.predictionStatus === 'processing'
          ? t.processing
          : t.queued
        : (t.sceneStatus[sc.status] ?? sc.status);
    lines.push(`${sc.index} ${'▓'.repeat(filled)}${'░'.repeat(BAR - filled)} ${Math.round(f * 100)}% ${detail}`);
    if (l?.attempt && l.attempt > 1 && sc.status !== 'ready') {
      lines.push(`   ${t.retrying(l.attempt, retryWhat(t, l.retryReason))}`);
    }
  }
  return clip(lines.join('\n'), MAX_MESSAGE);
}

/** A number that changes with each production round (each redo adds a scene's cost): names a video. */
export function videoVersion(s: Pick<PipelineStatus, 'estimatedCostUsd'>): number {
  return Math.round(s.estimatedCostUsd * 100);
}
