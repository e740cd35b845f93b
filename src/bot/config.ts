/**
 * The bot's settings, validated with zod at start like the rest (src/config.ts holds Temporal's
 * and the providers'). Messages name the variable and what to do, never its value: the token
 * would otherwise end up in the log of a bad start.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../config';

const blankIsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** `*` for everyone, else Telegram user ids (positive integers), comma-separated. */
const UsersSchema = z.preprocess(
  blankIsUnset,
  z
    .string()
    .trim()
    .optional()
    .transform((text, ctx): 'everyone' | ReadonlySet<number> => {
      if (text === undefined) return new Set();
      if (text === '*') return 'everyone';
      const ids = new Set<number>();
      for (const part of text
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const id = Number(part);
        if (!/^\d{1,16}$/.test(part) || !Number.isSafeInteger(id) || id <= 0) {
          ctx.addIssue({ code: 'custom', message: `"${part}" is not a Telegram user id (digits; or * for everyone)` });
          return z.NEVER;
        }
        ids.add(id);
      }
      return ids;
    }),
);

export const BotEnvSchema = z.object({
  TELEGRAM_BOT_TOKEN: z.preprocess(
    blankIsUnset,
    z
      .string({ error: 'is required: the token @BotFather gave you (Telegram → @BotFather → /newbot)' })
      .trim()
      .regex(/^\d{1,20}:[A-Za-z0-9_-]{20,100}$/, 'does not look like a bot token (<digits>:<35 characters>)'),
  ),
  TELEGRAM_API_ROOT: z.preprocess(
    blankIsUnset,
    z
      .url({ error: 'must be a URL such as https://api.telegram.org' })
      .default('https://api.telegram.org')
      .transform((u) => u.replace(/\/+$/, '')),
  ),
  VIDFLOW_TELEGRAM_USERS: UsersSchema,
  VIDFLOW_TELEGRAM_WEBHOOK_URL: z.preprocess(
    blankIsUnset,
    z.url({ error: 'must be the public https URL Telegram posts updates to' }).optional(),
  ),
  VIDFLOW_TELEGRAM_WEBHOOK_PORT: z.coerce.number().int().min(1).max(65535).default(8088),
  VIDFLOW_TELEGRAM_WEBHOOK_HOST: z.string().trim().min(1).default('0.0.0.0'),
  /** Checked on every webhook request (X-Telegram-Bot-Api-Secret-Token); default: derived from the token. */
  VIDFLOW_TELEGRAM_WEBHOOK_SECRET: z.preprocess(
    blankIsUnset,
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,256}$/, '1-256 characters: letters, digits, _ and - only')
      .optional(),
  ),
  /** Runs one user may have going at once. */
  VIDFLOW_TELEGRAM_MAX_RUNS: z.coerce.number().int().min(1).max(100).default(2),
  /** Estimated spend one user may commit per UTC day, in US dollars. */
  VIDFLOW_TELEGRAM_DAILY_USD: z.coerce.number().positive().max(100_000).default(10),
  /** The bot's store (settings, what was delivered); must survive restarts (a volume in compose). */
  VIDFLOW_TELEGRAM_DATA_DIR: z.string().trim().min(1).default('./.vidflow/telegram'),
  /** How often the bot reads an open run's status. */
  VIDFLOW_TELEGRAM_POLL_MS: z.coerce.number().int().min(100).max(60_000).default(1500),
  /** Largest video sent as a file: 50 MB on api.telegram.org, 2000 MB on a local Bot API server. */
  VIDFLOW_TELEGRAM_MAX_UPLOAD_MB: z.coerce.number().positive().max(2000).default(50),
});

export interface BotConfig {
  token: string;
  /** The digits before the token's colon: the bot's user id, public. */
  botId: number;
  apiRoot: string;
  users: 'everyone' | ReadonlySet<number>;
  webhook?: { url: string; port: number; host: string; secret: string };
  maxRuns: number;
  dailyUsd: number;
  dataDir: string;
  pollMs: number;
  maxUploadBytes: number;
}

export function loadBotConfig(env: NodeJS.ProcessEnv = process.env): BotConfig {
  const parsed = BotEnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid bot configuration (environment or .env):\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const token = e.TELEGRAM_BOT_TOKEN;
  return {
    token,
    botId: Number(token.split(':')[0]),
    apiRoot: e.TELEGRAM_API_ROOT,
    users: e.VIDFLOW_TELEGRAM_USERS,
    ...(e.VIDFLOW_TELEGRAM_WEBHOOK_URL
      ? {
          webhook: {
            url: e.VIDFLOW_TELEGRAM_WEBHOOK_URL,
            port: e.VIDFLOW_TELEGRAM_WEBHOOK_PORT,
            host: e.VIDFLOW_TELEGRAM_WEBHOOK_HOST,
            secret: e.VIDFLOW_TELEGRAM_WEBHOOK_SECRET ?? derivedSecret(token),
          },
        }
      : {}),
    maxRuns: e.VIDFLOW_TELEGRAM_MAX_RUNS,
    dailyUsd: e.VIDFLOW_TELEGRAM_DAILY_USD,
    dataDir: e.VIDFLOW_TELEGRAM_DATA_DIR,
    pollMs: e.VIDFLOW_TELEGRAM_POLL_MS,
    maxUploadBytes: Math.floor(e.VIDFLOW_TELEGRAM_MAX_UPLOAD_MB * 1000 * 1000),
  };
}

/**
 * A webhook secret that needs no extra setting and survives restarts: an HMAC of the token, so
 * it changes when the token is revoked, and reveals nothing about it.
 */
export function derivedSecret(token: string): string {
  return createHmac('sha256', token).update('vidflow-telegram-webhook').digest('base64url');
}

export function isAllowed(cfg: Pick<BotConfig, 'users'>, userId: number | undefined): boolean {
  if (userId === undefined) return false;
  return cfg.users === 'everyone' || cfg.users.has(userId);
}
