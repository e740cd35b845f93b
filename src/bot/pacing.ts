/**
 * Telegram's flood limits. Progress edits go at most one per 3 s per chat (a busy chat edited
 * faster gets 429s and, repeated, longer bans); a 429 anywhere is honoured: the call waits the
 * `retry_after` Telegram asked for and is retried, and that chat's next edit waits as well.
 * (What @grammyjs/auto-retry does, plus the per-chat pacing, in one place.)
 */
import type { Transformer } from 'grammy';
import type { BotLog } from './log';

export const EDIT_INTERVAL_MS = 3000;
/** A longer wait than this is not waited out inside a call: the call fails and its caller moves on. */
const MAX_RETRY_AFTER_S = 60;
const MAX_RETRIES = 3;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ChatPacer {
  private readonly next = new Map<string, number>();

  constructor(private readonly intervalMs = EDIT_INTERVAL_MS) {}

  /** Waits for this chat's turn and takes it: the next turn is `intervalMs` later. */
  async turn(chatId: number | string): Promise<void> {
    const key = String(chatId);
    for (;;) {
      const at = this.next.get(key) ?? 0;
      const wait = at - Date.now();
      if (wait <= 0) break;
      await sleep(wait);
    }
    this.next.set(key, Date.now() + this.intervalMs);
  }

  /** Whether this chat's turn has come (without taking it). */
  ready(chatId: number | string): boolean {
    return (this.next.get(String(chatId)) ?? 0) <= Date.now();
  }

  /** After a 429: nothing is edited in this chat before `ms` have passed. */
  blockFor(chatId: number | string, ms: number): void {
    const key = String(chatId);
    this.next.set(key, Math.max(this.next.get(key) ?? 0, Date.now() + ms));
  }
}

/** A grammY API transformer: a 429 waits its `retry_after` (and blocks the chat's edits), then retries. */
export function honourRetryAfter(pacer: ChatPacer, log: BotLog): Transformer {
  return async (prev, method, payload, signal) => {
    for (let attempt = 1; ; attempt++) {
      const res = await prev(method, payload, signal);
      if (res.ok || res.error_code !== 429) return res;
      const seconds = res.parameters?.retry_after ?? 1;
      const chat = (payload as { chat_id?: number | string } | undefined)?.chat_id;
      if (chat !== undefined) pacer.blockFor(chat, seconds * 1000);
      if (attempt > MAX_RETRIES || seconds > MAX_RETRY_AFTER_S) {
        log.warn(
          `Telegram: 429 on ${method}${chat !== undefined ? ` in chat ${chat}` : ''}, retry_after ${seconds} s: giving up on this call`,
        );
        return res;
      }
      log.warn(
        `Telegram: 429 on ${method}${chat !== undefined ? ` in chat ${chat}` : ''}: waiting ${seconds} s as asked`,
      );
      await sleep(seconds * 1000);
      if (chat !== undefined && method.startsWith('edit')) await pacer.turn(chat);
    }
  };
}
