/**
 * The bot: a grammY `Bot` pointed at `TELEGRAM_API_ROOT`, with access control in front of
 * everything, the commands, the buttons, and text (a prompt, or the input a button asked for).
 */
import { Bot } from 'grammy';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { BotConfig } from './config';
import { isAllowed } from './config';
import { Followers } from './follower';
import { decodeAction } from './keyboards';
import { en } from './i18n/en';
import { ru } from './i18n/ru';
import type { BotLog } from './log';
import { ChatPacer, honourRetryAfter } from './pacing';
import { describeError } from './redact';
import type { Redact } from './redact';
import { Runs } from './runs';
import { BotState } from './state';
import type { JsonStore } from './store';
import { onRunButton } from './handlers/buttons';
import { onCancel, onHelp, onReview, onSettings, onSettingsButton, onStatus, onStoryboard } from './handlers/commands';
import { answerTo, wordsFor } from './handlers/deps';
import type { HandlerDeps } from './handlers/deps';
import { onPrompt } from './handlers/prompt';
import { onPendingText } from './handlers/steer';

export interface BotAppOptions {
  cfg: Config;
  bot: BotConfig;
  client: Client;
  store: JsonStore;
  log: BotLog;
  redact: Redact;
}

export interface BotApp {
  bot: Bot;
  followers: Followers;
  deps: HandlerDeps;
  /** The command menu in English and Russian. */
  setCommands(): Promise<void>;
}

const COMMANDS = ['start', 'help', 'settings', 'review', 'storyboard', 'status', 'cancel'] as const;

export function createBotApp(o: BotAppOptions): BotApp {
  const bot = new Bot(o.bot.token, { client: { apiRoot: o.bot.apiRoot } });
  const pacer = new ChatPacer();
  bot.api.config.use(honourRetryAfter(pacer, o.log));
  const runs = new Runs(o.client, o.cfg.TEMPORAL_TASK_QUEUE);
  const state = new BotState(o.store);
  const followers = new Followers({
    api: bot.api,
    runs,
    state,
    pacer,
    log: o.log,
    redact: o.redact,
    cfg: o.cfg,
    bot: o.bot,
  });
  const d: HandlerDeps = { cfg: o.cfg, bot: o.bot, runs, state, followers, log: o.log, redact: o.redact };

  // Only allowed users get further; a stranger learns their id and how to be let in. Nothing
  // else is done for them: no run, no store write.
  bot.use(async (ctx, next) => {
    if (isAllowed(o.bot, ctx.from?.id)) return next();
    if (!ctx.from) return;
    const { t } = wordsFor(ctx);
    o.log.info(`refused user ${ctx.from.id} (not in VIDFLOW_TELEGRAM_USERS)`);
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: t.stranger(ctx.from.id), show_alert: true });
    else if (ctx.chat) await ctx.reply(t.stranger(ctx.from.id), answerTo(ctx));
  });

  bot.command(['start', 'help'], (ctx) => onHelp(ctx, d));
  bot.command('status', (ctx) => onStatus(ctx, d));
  bot.command('cancel', (ctx) => onCancel(ctx, d));
  bot.command('settings', (ctx) => onSettings(ctx, d));
  bot.command('review', (ctx) => onReview(ctx, d));
  bot.command('storyboard', (ctx) => onStoryboard(ctx, d));

  bot.on('callback_query:data', async (ctx) => {
    const action = decodeAction(ctx.callbackQuery.data);
    if (!action) {
      o.log.warn(`ignored a button with unknown data from user ${ctx.from.id}`);
      await ctx.answerCallbackQuery();
      return;
    }
    if (action.a === 'set') return onSettingsButton(ctx, d, action);
    return onRunButton(ctx, d, action);
  });

  bot.on('message:text', async (ctx) => {
    const text = ctx.message.text;
    const session = await state.session(ctx.chat.id, ctx.from.id);
    // Handled already: Telegram delivered it again because the last bot died before confirming.
    if (session?.lastHandled !== undefined && ctx.message.message_id <= session.lastHandled) return;
    if (text.startsWith('/')) return onHelp(ctx, d);
    if (session?.pending) return onPendingText(ctx, d, session.pending, text);
    return onPrompt(ctx, d, text);
  });

  bot.catch((err) => {
    o.log.error(`update ${err.ctx.update.update_id}: ${describeError(err.error, o.redact)}`);
  });

  return {
    bot,
    followers,
    deps: d,
    async setCommands() {
      for (const [t, language_code] of [
        [en, undefined],
        [ru, 'ru'],
      ] as const) {
        await bot.api.setMyCommands(
          COMMANDS.map((command) => ({ command, description: t.commands[command] })),
          language_code ? { language_code } : {},
        );
      }
    },
  };
}
