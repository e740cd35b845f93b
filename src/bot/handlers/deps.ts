/** What every handler works with; built once in ../app.ts. */
import type { Context } from 'grammy';
import type { Config } from '../../config';
import type { BotConfig } from '../config';
import type { Followers } from '../follower';
import { langOf, messages } from '../i18n';
import type { Lang, Messages } from '../i18n';
import type { BotLog } from '../log';
import type { Redact } from '../redact';
import type { Runs } from '../runs';
import type { BotState } from '../state';

export interface HandlerDeps {
  cfg: Config;
  bot: BotConfig;
  runs: Runs;
  state: BotState;
  followers: Followers;
  log: BotLog;
  redact: Redact;
}

/** The sender's language and its words. */
export function wordsFor(ctx: Context): { lang: Lang; t: Messages } {
  const lang = langOf(ctx.from?.language_code);
  return { lang, t: messages(lang) };
}

/** Replies in the chat, as an answer to the message that asked. */
export function answerTo(ctx: Context) {
  const id = ctx.message?.message_id;
  return id ? { reply_parameters: { message_id: id, allow_sending_without_reply: true } } : {};
}
