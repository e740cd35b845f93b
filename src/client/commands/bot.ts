/**
 * `vidflow bot`: the Telegram front end (src/bot/). It starts and steers runs through Temporal
 * like the CLI does, so it needs a Temporal server and workers, not API keys of its own.
 */
import { botCommand } from '../../bot/main';
import type { ConfigLoader } from './command';

export const usage = `usage: vidflow bot   run the Telegram bot (TELEGRAM_BOT_TOKEN, VIDFLOW_TELEGRAM_USERS; see docs/telegram.md)`;

export function run(config: ConfigLoader, args: string[]): Promise<number> {
  return botCommand(config(), args);
}
