/**
 * How a run looks in a terminal: one line for the run, one per scene, the estimated cost. Every
 * text that came from a person or a model goes through printable(): a prompt is anyone's text.
 */
import type { PipelineStatus } from '../shared/schemas';
import { printable } from '../support/printable';

const PLANNERS: Record<string, string> = {
  openai: 'openai',
  fallback: 'fallback (a plain split of the prompt)',
  emulated: 'emulated (offline mode: no OpenAI was asked)',
};

export function costLine(s: PipelineStatus): string {
  return `estimated cost: $${s.estimatedCostUsd.toFixed(2)}${s.maxCostUsd !== undefined ? ` (max $${s.maxCostUsd.toFixed(2)})` : ''}`;
}

export function formatStatus(workflowId: string, s: PipelineStatus): string {
  const plan = s.planner ? `   plan: ${PLANNERS[s.planner] ?? printable(s.planner)}` : '';
  const lines = [`${printable(workflowId)}: ${s.stage}${plan}`];
  if (s.plannerNote) lines.push(`  note: ${printable(s.plannerNote)}`);
  const n = s.scenes.length;
  for (const sc of s.scenes) {
    const extra = [
      sc.predictionId ? `prediction ${printable(sc.predictionId)}` : '',
      sc.attempts > 1 ? `attempt ${sc.attempts}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `  scene ${sc.index}/${n}  ${sc.status.padEnd(11)} ${printable(sc.prompt)}${extra ? `  (${extra})` : ''}`,
    );
    if (sc.error && sc.status !== 'ready') lines.push(`             ${printable(sc.error)}`);
  }
  const k = s.keyframes?.length ?? 0;
  for (const kf of s.keyframes ?? []) {
    const where = kf.path ? printable(kf.path) : printable(kf.prompt);
    lines.push(
      `  keyframe ${kf.index}/${k}  ${kf.status.padEnd(11)} ${where}${kf.attempts > 1 ? `  (attempt ${kf.attempts})` : ''}`,
    );
    if (kf.error && kf.status !== 'ready') lines.push(`             ${printable(kf.error)}`);
  }
  if (s.contactSheet) lines.push(`  contact sheet: ${printable(s.contactSheet)}`);
  lines.push(`  ${costLine(s)}`);
  if (s.output)
    lines.push(
      `  video: ${printable(s.output.path)} (${s.output.durationSeconds.toFixed(1)} s, ${(s.output.sizeBytes / 1e6).toFixed(1)} MB)`,
    );
  if (s.error) lines.push(`  error: ${printable(s.error)}`);
  return lines.join('\n');
}
