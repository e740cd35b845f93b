/** How a run looks in a terminal: one line for the run, one per scene. */
import type { PipelineStatus } from '../shared/schemas';

export function formatStatus(workflowId: string, s: PipelineStatus): string {
  const lines = [`${workflowId}: ${s.stage}${s.planner ? `   plan: ${s.planner}` : ''}`];
  if (s.plannerNote) lines.push(`  note: ${s.plannerNote}`);
  const n = s.scenes.length;
  for (const sc of s.scenes) {
    const extra = [
      sc.predictionId ? `prediction ${sc.predictionId}` : '',
      sc.attempts > 1 ? `attempt ${sc.attempts}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`  scene ${sc.index}/${n}  ${sc.status.padEnd(11)} ${sc.prompt}${extra ? `  (${extra})` : ''}`);
    if (sc.error && sc.status !== 'ready') lines.push(`             ${sc.error}`);
  }
  if (s.output)
    lines.push(
      `  video: ${s.output.path} (${s.output.durationSeconds.toFixed(1)} s, ${(s.output.sizeBytes / 1e6).toFixed(1)} MB)`,
    );
  if (s.error) lines.push(`  error: ${s.error}`);
  return lines.join('\n');
}
