/**
 * Button presses on a run. The run named in the button's data must belong to the chat the button
 * was pressed in — checked against the run's own VidflowChat, since a modified client can send
 * any data — and the button must be current (its plan round or video version), so an old button
 * never approves or redoes something its owner has not seen. Every action is idempotent: a
 * second tap finds the stage moved on, and updates carry ids Temporal runs once.
 */
import type { Context } from 'grammy';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Action } from '../keyboards';
import { sameWordsKeyboard } from '../keyboards';
import { videoVersion } from '../render';
import { describeError } from '../redact';
import { wordsFor } from './deps';
import type { HandlerDeps } from './deps';

type RunAction = Exclude<Action, { a: 'set' }>;

/** Removes the buttons from the message they were pressed on (it has done its job). */
async function dropButtons(ctx: Context): Promise<void> {
  await ctx.editMessageReplyMarkup().catch(() => undefined);
}

export async function onRunButton(ctx: Context, d: HandlerDeps, action: RunAction): Promise<void> {
  const { t } = wordsFor(ctx);
  const chatId = ctx.chat?.id;
  const userId = ctx.from!.id;
  const wf = action.wf;
  const owner = await d.runs.chatOf(wf);
  if (owner === undefined) {
    await ctx.answerCallbackQuery({ text: t.unknownRun });
    return;
  }
  if (owner !== chatId) {
    d.log.warn(
      `refused a button of user ${userId} in chat ${chatId ?? '?'} for run ${wf}, which belongs to chat ${owner}`,
    );
    await ctx.answerCallbackQuery({ text: t.notYours, show_alert: true });
    return;
  }
  if (action.a === 'cancel') {
    await d.runs.cancel(wf);
    d.log.info(`${wf}: cancel asked by user ${userId}`);
    await ctx.answerCallbackQuery({ text: t.cancelling });
    await dropButtons(ctx);
    d.followers.follow(wf);
    return;
  }

  let status;
  try {
    status = await d.runs.status(wf);
  } catch (err) {
    d.log.warn(`${wf}: status for a button: ${describeError(err, d.redact)}`);
    await ctx.answerCallbackQuery({ text: t.busy, show_alert: true });
    return;
  }
  const stageName = t.stages[status.stage] ?? status.stage;
  const planButton = action.a === 'approve' || action.a === 'edit' || action.a === 'reject';
  const current =
    action.a === 'storyboard'
      ? status.stage === 'reviewing_storyboard'
      : planButton
        ? status.stage === 'awaiting_approval' && status.planRound === action.round
        : status.stage === 'reviewing_result' && videoVersion(status) === action.version;
  if (!current) {
    await ctx.answerCallbackQuery({ text: t.stale(stageName) });
    await dropButtons(ctx);
    return;
  }

  switch (action.a) {
    case 'storyboard':
    case 'approve':
    case 'done':
      await d.runs.approve(wf);
      d.log.info(
        `${wf}: ${action.a === 'done' ? 'video accepted' : `${action.a === 'approve' ? 'plan' : 'storyboard'} approved`} by user ${userId}`,
      );
      await ctx.answerCallbackQuery({ text: action.a === 'done' ? t.doneAck : t.approved });
      await dropButtons(ctx);
      d.followers.follow(wf);
      return;
    case 'edit': {
      const scene = status.scenes[action.scene - 1];
      if (!scene) {
        await ctx.answerCallbackQuery({ text: t.stale(stageName) });
        return;
      }
      await d.state.updateSession(chatId, userId, (s) => ({
        ...s,
        pending: { kind: 'edit', workflowId: wf, scene: action.scene, round: action.round },
      }));
      await ctx.answerCallbackQuery();
      await ctx.reply(t.askEdit(action.scene, scene.prompt));
      return;
    }
    case 'reject':
      await d.state.updateSession(chatId, userId, (s) => ({
        ...s,
        pending: { kind: 'reject', workflowId: wf, round: action.round },
      }));
      await ctx.answerCallbackQuery();
      await ctx.reply(t.askFeedback);
      return;
    case 'redo':
      await d.state.updateSession(chatId, userId, (s) => ({
        ...s,
        pending: { kind: 'redo', workflowId: wf, scene: action.scene, version: action.version },
      }));
      await ctx.answerCallbackQuery();
      await ctx.reply(t.askRedo(action.scene), {
        reply_markup: sameWordsKeyboard(t, wf, action.version, action.scene),
      });
      return;
    case 'same': {
      await d.state.updateSession(chatId, userId, (s) => ({ ...s, pending: undefined }));
      try {
        const r = await d.runs.redoScene(wf, { index: action.scene }, redoUpdateId(wf, action.version, action.scene));
        await ctx.answerCallbackQuery();
        await dropButtons(ctx);
        await ctx.reply(t.redoQueued(action.scene, r.estimatedCostUsd));
      } catch (err) {
        if (!(err instanceof WorkflowUpdateFailedError)) throw err;
        await ctx.answerCallbackQuery({ text: t.refused(err.cause?.message ?? err.message), show_alert: true });
      }
      d.followers.follow(wf);
      return;
    }
  }
}

/** One redo per scene per video: the "Same words" tap and a typed text share it, so only one happens. */
export function redoUpdateId(wf: string, version: number, scene: number): string {
  return `redo-${wf}-v${version}-s${scene}`;
}
