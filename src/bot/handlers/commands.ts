/** `/start`, `/help`, `/status`, `/cancel`, `/settings`, `/review`, and the settings buttons. */
import type { Context } from 'grammy';
import { DEFAULT_MODEL, estimateCostUsd } from '../../shared/models';
import { clip } from '../render';
import type { Action } from '../keyboards';
import { settingsKeyboard } from '../keyboards';
import type { Messages } from '../i18n';
import type { UserSettings } from '../state';
import { answerTo, wordsFor } from './deps';
import type { HandlerDeps } from './deps';

const costOf = (s: UserSettings) => estimateCostUsd(DEFAULT_MODEL, s.scenes, s.seconds);

export async function onHelp(ctx: Context, d: HandlerDeps): Promise<void> {
  const { t } = wordsFor(ctx);
  const s = await d.state.settings(ctx.from!.id);
  await ctx.reply(
    t.help({
      cost: costOf(s),
      scenes: s.scenes,
      seconds: s.seconds,
      aspect: s.aspect,
      maxRuns: d.bot.maxRuns,
      dailyUsd: d.bot.dailyUsd,
    }),
  );
}

/** The chat's runs, found through the VidflowChat search attribute (newest first). */
export async function onStatus(ctx: Context, d: HandlerDeps): Promise<void> {
  const { t } = wordsFor(ctx);
  const rows = await d.runs.ofChat(ctx.chat!.id, 10);
  if (rows.length === 0) {
    await ctx.reply(t.statusNone, answerTo(ctx));
    return;
  }
  const lines = [t.statusTitle];
  for (const r of rows) {
    const rec = await d.state.run(r.workflowId);
    const prompt = rec ? `«${clip(rec.input.prompt, 60)}»` : r.workflowId;
    lines.push(`• ${prompt}: ${t.stages[r.stage] ?? r.stage}`);
  }
  await ctx.reply(lines.join('\n'), answerTo(ctx));
}

/** Cancels the sender's newest run in this chat that still goes on (not one already being cancelled). */
export async function onCancel(ctx: Context, d: HandlerDeps): Promise<void> {
  const { t } = wordsFor(ctx);
  const chatId = ctx.chat!.id;
  const userId = ctx.from!.id;
  const mine = (await d.state.runs())
    .filter((r) => r.chatId === chatId && r.userId === userId && !r.finished)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  let run;
  for (const r of mine) {
    if (await d.runs.isGoing(r.workflowId)) {
      run = r;
      break;
    }
  }
  if (!run) {
    await ctx.reply(t.nothingToCancel, answerTo(ctx));
    return;
  }
  await d.runs.cancel(run.workflowId);
  await d.state.updateSession(chatId, userId, (s) => ({ ...s, pending: undefined }));
  d.log.info(`${run.workflowId}: cancel asked by user ${userId} (/cancel)`);
  await ctx.reply(t.cancelling, answerTo(ctx));
  d.followers.follow(run.workflowId);
}

function settingsText(t: Messages, s: UserSettings): string {
  return t.settingsTitle({ scenes: s.scenes, seconds: s.seconds, aspect: s.aspect, cost: costOf(s), review: s.review });
}

export async function onSettings(ctx: Context, d: HandlerDeps): Promise<void> {
  const { t } = wordsFor(ctx);
  const s = await d.state.settings(ctx.from!.id);
  await ctx.reply(settingsText(t, s), { reply_markup: settingsKeyboard(t, s) });
}

export async function onReview(ctx: Context, d: HandlerDeps): Promise<void> {
  const { t } = wordsFor(ctx);
  const userId = ctx.from!.id;
  const s = await d.state.changeSettings(userId, { review: !(await d.state.settings(userId)).review });
  await ctx.reply(s.review ? t.reviewOn : t.reviewOff, answerTo(ctx));
}

export async function onStoryboard(ctx: Context, d: HandlerDeps): Promise<void> {
  const { t } = wordsFor(ctx);
  const userId = ctx.from!.id;
  const s = await d.state.changeSettings(userId, { storyboard: !(await d.state.settings(userId)).storyboard });
  await ctx.reply(s.storyboard ? t.storyboardOn : t.storyboardOff, answerTo(ctx));
}

export async function onSettingsButton(
  ctx: Context,
  d: HandlerDeps,
  action: Extract<Action, { a: 'set' }>,
): Promise<void> {
  const { t } = wordsFor(ctx);
  const patch: Partial<UserSettings> =
    action.key === 'scenes'
      ? { scenes: Number(action.value) }
      : action.key === 'seconds'
        ? { seconds: action.value === '10' ? 10 : 5 }
        : action.key === 'aspect'
          ? { aspect: action.value as UserSettings['aspect'] }
          : { review: action.value === 'on' };
  const s = await d.state.changeSettings(ctx.from!.id, patch);
  await ctx.answerCallbackQuery({ text: t.saved });
  await ctx.editMessageText(settingsText(t, s), { reply_markup: settingsKeyboard(t, s) }).catch((err: unknown) => {
    if (!/message is not modified/.test(String(err))) throw err;
  });
}
