/**
 * The bot as a real process (`node --import tsx src/bot/main.ts`), killable with a real signal,
 * and helpers that talk to it the way a person would: through the Telegram emulator's chat.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { ChatEntry, TelegramEmulator } from '../../src/emulators/telegram';
import { ROOT } from './processes';
import { eventually } from './temporal';

const TSX_LOADER = resolve(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

export interface BotProcess {
  child: ChildProcess;
  logs(): string;
  /** Resolves once the bot says it is ready (polling or listening). */
  ready: Promise<void>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startBotProcess(env: NodeJS.ProcessEnv): BotProcess {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, resolve(ROOT, 'src/bot/main.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const ready = new Promise<void>((res, rej) => {
    const onData = (d: Buffer) => {
      logs += d.toString();
      if (/ ready \(/.test(logs)) res();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => rej(new Error(`bot exited with ${String(code)} before it was ready:\n${logs}`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    logs: () => logs,
    ready,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await once(child, 'exit');
    },
  };
}

/** Button presses and reads of one chat, as its user. */
export function chatOf(tg: TelegramEmulator, userId: number, languageCode = 'en', chatId = userId) {
  const entries = () => tg.chatEntries(chatId);
  return {
    chatId,
    userId,
    entries,
    say(text: string): number {
      return tg.injectMessage({ userId, chatId, text, languageCode }).message_id;
    },
    /** Waits for a bot message (after `afterId`) that matches. */
    waitFor(match: (e: ChatEntry) => boolean, what: string, ms = 30_000, afterId = 0): Promise<ChatEntry> {
      return eventually(
        async () => entries().find((e) => e.from === 'bot' && e.message_id > afterId && match(e)),
        ms,
        `${what} in chat ${chatId}`,
      );
    },
    /** Presses the button labelled `label` (a prefix) on message `messageId`; returns the callback id. */
    press(messageId: number, label: string | RegExp): string {
      const msg = entries().find((e) => e.message_id === messageId);
      const button = msg?.reply_markup?.inline_keyboard
        .flat()
        .find((b) => (typeof label === 'string' ? b.text.startsWith(label) : label.test(b.text)));
      if (!button?.callback_data) throw new Error(`no button ${String(label)} on message ${messageId}`);
      return tg.injectCallback({ userId, chatId, messageId, data: button.callback_data, languageCode })
        .callback_query_id;
    },
    /** Sends raw callback data on one of this chat's bot messages (what a modified client can do). */
    forge(messageId: number, data: string): string {
      return tg.injectCallback({ userId, chatId, messageId, data, languageCode }).callback_query_id;
    },
    answerOf(callbackId: string): Promise<string> {
      return eventually(
        async () => {
          const cb = tg.state.callbacks.find((c) => c.id === callbackId);
          return cb?.answered ? (cb.answered.text ?? '(no text)') : undefined;
        },
        15_000,
        `the answer to callback ${callbackId}`,
      );
    },
    bot(): ChatEntry[] {
      return entries().filter((e) => e.from === 'bot');
    },
  };
}

export type Chat = ReturnType<typeof chatOf>;
