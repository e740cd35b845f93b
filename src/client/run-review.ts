/**
 * What a person decides in `vidflow run` at a review point: the plan (approve / edit / reject /
 * cancel) or, with --review-result, the video (approve / redo / cancel). Every answer is checked
 * where it is typed: a choice that is not one says which are; a scene number is checked before
 * its new text is asked, and the current text is shown first; a rejection names the edits it
 * discards. The workflow still has the last word (its update validators).
 */
import type { WorkflowHandle } from '@temporalio/client';
import { approveSignal } from '../shared/messages';
import type { PipelineStatus } from '../shared/schemas';
import { printable } from '../support/printable';
import type { videoPipeline } from '../workflows';
import { CliError } from './errors';
import type { PromptConsole } from './prompt-console';
import { editedScenes } from './run-record';
import { formatStatus } from './status-format';
import { discardedEditsNote, editScene, redoKeyframe, redoScene, rejectPlan } from './steer';

type Handle = WorkflowHandle<typeof videoPipeline>;

const PLAN_CHOICES = { a: 'approve', e: 'edit a scene', r: 'reject with feedback', c: 'cancel' } as const;
const RESULT_CHOICES = { a: 'approve the video', r: 'redo a scene', c: 'cancel' } as const;
const STORYBOARD_CHOICES = { a: 'approve the storyboard', k: 'keyframe redo', c: 'cancel' } as const;
const STORYBOARD_RESULT_CHOICES = { ...RESULT_CHOICES, k: 'keyframe redo (and its scenes)' } as const;

/** What `approve` approves at each review point, for the lines that say so. */
const APPROVED: Record<string, string> = {
  awaiting_approval: 'plan approved',
  reviewing_storyboard: 'storyboard approved',
  reviewing_result: 'video approved',
};

function menu(choices: Record<string, string>): string {
  return (
    Object.entries(choices)
      .map(([k, v]) => `[${k}]${v.startsWith(k) ? v.slice(1) : ` ${v}`}`)
      .join(', ') + '? '
  );
}

/** The choice's letter, from the letter or the word (approve, edit …); undefined when it is neither. */
function pick(answer: string, choices: Record<string, string>): string | undefined {
  if (Object.hasOwn(choices, answer)) return answer;
  return Object.entries(choices).find(([, v]) => v.split(' ')[0] === answer)?.[0];
}

/** Asks for a scene number until it is one of the plan's; empty goes back (undefined). */
async function askScene(io: PromptConsole, count: number): Promise<number | undefined> {
  for (;;) {
    const text = await io.ask(`scene number (1-${count}, empty to go back): `);
    if (text === '') return undefined;
    const n = Number(text);
    if (Number.isInteger(n) && n >= 1 && n <= count) return n;
    io.line(`"${printable(text)}" is not a scene of this plan: type a number from 1 to ${count}`);
  }
}

/** Returns once the run has moved on (approved, rejected, redo queued, cancelled). */
export async function decide(handle: Handle, s: PipelineStatus, yes: boolean, io: PromptConsole): Promise<void> {
  io.line('\n' + formatStatus(handle.workflowId, s));
  const atPlan = s.stage === 'awaiting_approval';
  if (yes) {
    await handle.signal(approveSignal);
    io.line(`${APPROVED[s.stage] ?? 'approved'} (--yes)`);
    return;
  }
  const choices: Record<string, string> = atPlan
    ? PLAN_CHOICES
    : s.stage === 'reviewing_storyboard'
      ? STORYBOARD_CHOICES
      : s.keyframes?.length
        ? STORYBOARD_RESULT_CHOICES
        : RESULT_CHOICES;
  const scenes = s.scenes.map((x) => ({ ...x }));
  for (;;) {
    const answer = await io.ask(menu(choices));
    const choice = pick(answer, choices);
    if (!choice) {
      const list = Object.entries(choices)
        .map(([k, v]) => `${k} (${v})`)
        .join(', ');
      io.line(answer === '' ? `type one of: ${list}` : `"${printable(answer)}" is not a choice: type one of ${list}`);
      continue;
    }
    try {
      if (choice === 'a') {
        await handle.signal(approveSignal);
        io.line(atPlan ? 'approved: generating the clips' : (APPROVED[s.stage] ?? 'approved'));
        return;
      }
      if (choice === 'k') {
        const k = await io.ask(`keyframe number (1-${s.keyframes?.length ?? 0}, empty to go back): `);
        if (k === '') continue;
        const moment = await io.ask(`new moment for keyframe ${k} (empty keeps it; the look is kept): `, false);
        const r = await redoKeyframe(handle, k, moment || undefined);
        io.line(`keyframe ${r.index} will be made again; estimated cost now $${r.estimatedCostUsd.toFixed(2)}`);
        return;
      }
      if (choice === 'c') {
        await handle.cancel();
        io.line('run cancelled');
        return;
      }
      if (choice === 'e' || (choice === 'r' && !atPlan)) {
        const n = await askScene(io, scenes.length);
        if (n === undefined) continue;
        io.line(`scene ${n} now: ${printable(scenes[n - 1]!.prompt)}`);
        const text = await io.ask(`new prompt for scene ${n} (empty keeps it): `, false);
        if (atPlan) {
          if (text === '') {
            io.line(`scene ${n} unchanged`);
            continue;
          }
          const scene = await editScene(handle, String(n), text);
          scenes[n - 1]!.prompt = scene.prompt;
          io.line(`scene ${scene.index}: ${printable(scene.prompt)}`);
          continue;
        }
        const r = await redoScene(handle, String(n), text || undefined);
        io.line(`scene ${r.index} will be generated again; estimated cost now $${r.estimatedCostUsd.toFixed(2)}`);
        return;
      }
      // choice r at the plan: reject
      const edited = await editedScenes(handle, scenes);
      if (edited.length) io.line(`rejecting ${discardedEditsNote(edited).replace(/^note: /, 'discards this: ')}`);
      const feedback = await io.ask('what should the new plan do differently (empty to go back)? ', false);
      if (feedback === '') continue;
      const round = await rejectPlan(handle, feedback);
      io.line(`making plan ${round} from the prompt and your feedback …`);
      return;
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      io.line(err.message);
    }
  }
}
