/**
 * `vidflow watch <id>`: live per-scene progress from the status query, plus what the running
 * activities last heartbeated (prediction status, percent downloaded), which only the server knows.
 * With no worker answering, it shows what the server recorded and says so, and keeps watching:
 * the run goes on once a worker starts.
 */
import { parseArgs } from 'node:util';
import { FINAL_STAGES } from '../../shared/schemas';
import type { PipelineStatus } from '../../shared/schemas';
import { firstWords, printable } from '../../support/printable';
import { findRun, whereIs } from '../run-lookup';
import type { Run } from '../run-lookup';
import { liveScenes, sceneFraction } from '../scene-progress';
import type { SceneLive } from '../scene-progress';
import type { ConfigLoader } from './command';
import { err, out, workflowIdArg } from './command';

export const usage = `usage: vidflow watch <id>   live per-scene progress until the run ends (exit 0 if it completed)
  or waits for a person (the plan, a storyboard, or the video with --review-result: exit 0, with what to type next)`;

const DECISIONS: Partial<Record<PipelineStatus['stage'], (id: string) => string>> = {
  awaiting_approval: (id) =>
    `the plan waits for you: \`vidflow approve ${id}\`, \`vidflow edit ${id} --scene N --prompt "..."\` or \`vidflow reject ${id} --feedback "..."\``,
  reviewing_storyboard: (id) =>
    `the storyboard waits for you (\`vidflow status ${id}\` lists the keyframes and the contact sheet): \`vidflow approve ${id}\` or \`vidflow redo ${id} --keyframe K [--prompt "..."]\``,
  reviewing_result: (id) =>
    `the video waits for you: \`vidflow approve ${id}\` or \`vidflow redo ${id} --scene N [--prompt "..."]\``,
};

/** Progress on standard error; the video's path, if any, on standard output. */
export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  const id = workflowIdArg(positionals, usage);
  const final = await watch(await findRun(cfg, id), (s) => process.stderr.write(s));
  const decision = DECISIONS[final.stage];
  if (decision) {
    err(decision(printable(id)));
    return 0;
  }
  if (final.output) out(final.output.path);
  return final.stage === 'completed' ? 0 : 1;
}

const BAR = 20;
function bar(fraction: number): string {
  const filled = Math.max(0, Math.min(BAR, Math.round(fraction * BAR)));
  return '█'.repeat(filled) + '░'.repeat(BAR - filled);
}

export function renderWatch(id: string, s: PipelineStatus, live: Map<number, SceneLive>, notice?: string): string {
  const lines = [
    `${printable(id)}  ${s.stage}   est. $${s.estimatedCostUsd.toFixed(2)}${s.planRound > 1 ? `   plan round ${s.planRound}` : ''}`,
  ];
  for (const sc of s.scenes) {
    const l = live.get(sc.index);
    const detail =
      sc.status === 'downloading' && l?.percent !== undefined
        ? `downloading ${l.percent}%`
        : sc.status === 'generating' && l?.predictionStatus
          ? `generating (${printable(l.predictionStatus)})`
          : sc.status;
    lines.push(
      `  ${sc.index} ${bar(sceneFraction(sc.status, l))} ${detail.padEnd(24)} attempt ${Math.max(1, sc.attempts)}  ${firstWords(sc.prompt, 6, 40)}`,
    );
  }
  for (const k of s.keyframes ?? []) {
    if (k.status !== 'ready' || s.stage === 'storyboarding' || s.stage === 'reviewing_storyboard') {
      lines.push(`  keyframe ${k.index} ${k.status}${k.path ? `  ${printable(k.path)}` : ''}`);
    }
  }
  if (s.contactSheet && s.stage === 'reviewing_storyboard') lines.push(`  contact sheet: ${printable(s.contactSheet)}`);
  if (s.output) lines.push(`  video: ${printable(s.output.path)}`);
  if (s.error) lines.push(`  ${printable(s.error)}`);
  if (notice) lines.push(`  (from the server's records) ${printable(notice)}`);
  return lines.join('\n');
}

/** Without a worker the record is read less often: it changes only when one comes back. */
const RECORD_INTERVAL_MS = 2000;

/** Redraws in place on a terminal; prints only changes otherwise. Returns the final status. */
export async function watch(run: Run, write: (s: string) => void, intervalMs = 500): Promise<PipelineStatus> {
  const tty = process.stderr.isTTY;
  let last = '';
  let lastLines = 0;
  for (;;) {
    const where = await whereIs(run);
    const s = where.status;
    const live = await liveScenes(run.handle).catch(() => new Map<number, SceneLive>());
    const frame = renderWatch(run.id, s, live, where.notice);
    if (frame !== last) {
      if (tty && lastLines) write(`\x1b[${lastLines}A\x1b[J`);
      write(frame + '\n');
      last = frame;
      lastLines = frame.split('\n').length;
    }
    // A run that waits for a person stops the watch: watching would show nothing more.
    if (FINAL_STAGES.includes(s.stage) || DECISIONS[s.stage]) return s;
    await new Promise((r) => setTimeout(r, where.live ? intervalMs : RECORD_INTERVAL_MS));
    // A run that ended meanwhile is described as ended (its record, not a stale RUNNING).
    if (!where.live) run = { ...run, desc: await run.handle.describe() };
  }
}
