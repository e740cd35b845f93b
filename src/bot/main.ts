/**
 * `vidflow bot`: the Telegram bot. Long polling by default (no public URL needed); a webhook
 * when VIDFLOW_TELEGRAM_WEBHOOK_URL is set. Runs until SIGTERM/SIGINT.
 *
 *   node --import tsx src/bot/main.ts        (from a checkout; the CLI's `vidflow bot` calls botCommand)
 *
 * Exit codes: 0 stopped by a signal, 1 failure, 2 configuration (bad variable, token refused).
 */
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { GrammyError, webhookCallback } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { ConfigError, loadConfig } from '../config';
import type { Config } from '../config';
import { connectClient } from '../client/connection';
import { connectionOptions } from '../worker/temporal-connection';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { createBotApp } from './app';
import type { BotApp } from './app';
import { loadBotConfig } from './config';
import type { BotConfig } from './config';
import { botLogger } from './log';
import type { BotLog } from './log';
import { describeError, redactor, redactProcessOutput } from './redact';
import type { Redact } from './redact';
import { BotState } from './state';
import { JsonStore } from './store';

const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

export async function botCommand(cfg: Config, args: string[]): Promise<number> {
  parseArgs({ args, options: {}, allowPositionals: false });
  let botCfg: BotConfig;
  try {
    botCfg = loadBotConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vidflow bot: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const redact = redactor([botCfg.token, botCfg.webhook?.secret]);
  redactProcessOutput(redact);
  const log = botLogger({ redact, format: cfg.LOG_FORMAT, debug: Boolean(cfg.DEBUG) });
  try {
    return await runBot(cfg, botCfg, log, redact);
  } catch (err) {
    log.error(describeError(err, redact));
    return 1;
  }
}

async function runBot(cfg: Config, botCfg: BotConfig, log: BotLog, redact: Redact): Promise<number> {
  const client = await connectClient(cfg);
  // The runs it starts carry VidflowChat: on a fresh server the bot may come up before any worker.
  await ensureSearchAttributes(connectionOptions(cfg), cfg.TEMPORAL_NAMESPACE).catch((err: unknown) =>
    log.warn(`could not register the search attributes (a worker does it too): ${describeError(err, redact)}`),
  );
  await mkdir(botCfg.dataDir, { recursive: true });
  const store = new JsonStore(botCfg.dataDir);
  await new BotState(store).prune();
  const app = createBotApp({ cfg, bot: botCfg, client, store, log, redact });

  const me = await whoAmI(app, log, redact);
  if (me === 'unauthorized') {
    log.error('TELEGRAM_BOT_TOKEN was rejected by Telegram (401 Unauthorized): check it with @BotFather');
    return 2;
  }
  app.bot.botInfo = me;
  await app.setCommands();
  const following = await app.followers.resume();
  const who = botCfg.users === 'everyone' ? 'everyone' : `${botCfg.users.size} user(s)`;
  const ready = `@${app.bot.botInfo.username} ready (${botCfg.webhook ? 'webhook' : 'long polling'}); allowed: ${who}; limits: ${botCfg.maxRuns} runs at once, $${botCfg.dailyUsd.toFixed(2)} a day; following ${following} open run(s)`;

  if (botCfg.webhook) return serveWebhook(app, botCfg, log, redact, ready);

  const stop = once(async () => {
    log.info('stopping');
    await app.bot.stop().catch(() => undefined);
  });
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  // drop_pending_updates stays false: messages sent while the bot was down are still answered.
  await app.bot.start({ allowed_updates: [...ALLOWED_UPDATES], onStart: () => log.info(ready) });
  await app.followers.stop();
  return 0;
}

/** Webhook mode: Telegram POSTs each update here; the secret token header is checked by grammY. */
async function serveWebhook(
  app: BotApp,
  botCfg: BotConfig,
  log: BotLog,
  redact: Redact,
  ready: string,
): Promise<number> {
  const hook = botCfg.webhook!;
  const path = new URL(hook.url).pathname;
  // Up to Telegram's own patience (about a minute); a slower answer is treated as failed and resent.
  const handle = webhookCallback(app.bot, 'http', { secretToken: hook.secret, timeoutMilliseconds: 50_000 });
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== path) {
      res.writeHead(404).end();
      return;
    }
    handle(req, res).catch((err: unknown) => {
      // Not 2xx: Telegram delivers the update again later (handling is idempotent).
      log.error(`webhook update failed: ${describeError(err, redact)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(hook.port, hook.host, () => resolve());
  });
  await app.bot.api.setWebhook(hook.url, { secret_token: hook.secret, allowed_updates: [...ALLOWED_UPDATES] });
  log.info(`${ready}; listening on ${hook.host}:${hook.port}${path}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  log.info('stopping');
  // The webhook stays set: Telegram keeps updates for the next start.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await app.followers.stop();
  return 0;
}

const GET_ME_TRIES = 3;

/**
 * The bot's own account, asked once at start (grammY's init would retry a network error forever,
 * silently): a refused token stops the bot at once; an unreachable API is retried a few times,
 * each failure logged, then the bot exits 1 (a supervisor restarts it; the log says why).
 */
async function whoAmI(app: BotApp, log: BotLog, redact: Redact): Promise<UserFromGetMe | 'unauthorized'> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await app.bot.api.getMe();
    } catch (err) {
      if (err instanceof GrammyError && err.error_code === 401) return 'unauthorized';
      if (attempt >= GET_ME_TRIES) throw err;
      log.warn(`Telegram did not answer (try ${attempt} of ${GET_ME_TRIES}): ${describeError(err, redact)}`);
      await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1)));
    }
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

if (require.main === module) {
  let cfg: Config;
  try {
    cfg = loadConfig();
  } catch (err) {
    process.stderr.write(`vidflow bot: ${(err as Error).message}\n`);
    process.exit(2);
  }
  botCommand(cfg, process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`vidflow bot: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
