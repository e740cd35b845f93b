/**
 * The message after Edit scene N, Reject or Redo scene N: a scene's new text or the feedback,
 * sent to the run as its `editScene`, `rejectPlan` or `redoScene` update. The update id is made
 * from the message, so Telegram delivering it twice changes the run once.
 */
import type { Context } from 'grammy';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { describeZodError, EditSceneSchema, RejectPlanSchema } from '../../shared/schemas';
import { messages } from '../i18n';
import { planKeyboard } from '../keyboards';
import { describeError } from '../redact';
import { planText } from '../render';
import type { PendingInput } from '../state';
import { redoUpdateId } from './buttons';
import { answerTo, wordsFor } from './deps';
import type { HandlerDeps } from './deps';

export async function onPendingText(ctx: Context, d: HandlerDeps, p: PendingInput, text: string): Promise<void> {
  const { t } = wordsFor(ctx);
  const chatId = ctx.chat!.id;
  const userId = ctx.from!.id;
  const messageId = ctx.message!.message_id;
  const updateId = `tg-msg-${chatId}-${messageId}`;
  const done = () =>
    d.state.updateSession(chatId, userId, (s) => ({ ...s, pending: undefined, lastHandled: messageId }));

  if ((await d.runs.chatOf(p.workflowId)) !== chatId) {
    await done();
    await ctx.reply(t.notYours, answerTo(ctx));
    return;
  }
  // Checked here too, so a bad text is refused at once with the same words the workflow would use.
  const check =
    p.kind === 'reject'
      ? RejectPlanSchema.safeParse({ feedback: text })
      : EditSceneSchema.safeParse({ index: p.scene, prompt: text });
  if (!check.success) {
    await ctx.reply(t.refused(describeZodError(check.error)), answerTo(ctx));
    return;
  }
  try {
    if (p.kind === 'edit') {
      await d.runs.editScene(p.workflowId, { index: p.scene, prompt: text }, updateId);
      await done();
      d.log.info(`${p.workflowId}: scene ${p.scene} edited by user ${userId}`);
      await refreshPlan(d, p.workflowId, ctx);
      await ctx.reply(t.edited(p.scene), answerTo(ctx));
    } else if (p.kind === 'reject') {
      await d.runs.rejectPlan(p.workflowId, text, updateId);
      await done();
      d.log.info(`${p.workflowId}: plan ${p.round} rejected by user ${userId}`);
      const rec = await d.state.run(p.workflowId);
      const planMsg = rec?.sent.plans[String(p.round)];
      if (planMsg) await ctx.api.editMessageReplyMarkup(chatId, planMsg).catch(() => undefined);
      await ctx.reply(t.replanning, answerTo(ctx));
    } else {
      const r = await d.runs.redoScene(
        p.workflowId,
        { index: p.scene, prompt: text },
        redoUpdateId(p.workflowId, p.version, p.scene),
      );
      await done();
      d.log.info(`${p.workflowId}: scene ${p.scene} redone with new words by user ${userId}`);
      await ctx.reply(t.redoQueued(p.scene, r.estimatedCostUsd), answerTo(ctx));
    }
    d.followers.follow(p.workflowId);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      await done();
      await ctx.reply(t.refused(err.cause?.message ?? err.message), answerTo(ctx));
      return;
    }
    // Not answered in time (no worker right now): the input stays pending, so sending it again works.
    d.log.warn(`${p.workflowId}: ${p.kind} not delivered: ${describeError(err, d.redact)}`);
    await ctx.reply(t.busy, answerTo(ctx));
  }
}

/** Shows the edited plan in its message, so the plan above the buttons is the one approved. */
async function refreshPlan(d: HandlerDeps, workflowId: string, ctx: Context): Promise<void> {
  const rec = await d.state.run(workflowId);
  if (!rec) return;
  try {
    const s = await d.runs.status(workflowId);
    const msg = rec.sent.plans[String(s.planRound)];
    if (!msg || s.stage !== 'awaiting_approval') return;
    const t = messages(rec.lang);
    await ctx.api.editMessageText(
      rec.chatId,
      msg,
      planText(t, s, { seconds: rec.input.sceneSeconds, aspect: rec.input.aspectRatio }),
      { reply_markup: planKeyboard(t, workflowId, s.planRound, s.scenes.length) },
    );
  } catch (err) {
    if (!/message is not modified/.test(String(err)))
      d.log.warn(`${workflowId}: plan not refreshed: ${describeError(err, d.redact)}`);
  }
}
