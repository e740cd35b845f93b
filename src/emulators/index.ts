/**
 * Local emulators of OpenAI and Replicate on one loopback HTTP server, for tests and the offline
 * demo. Point the real clients at them:
 *
 *   new OpenAI({ apiKey, baseURL: emu.openaiBaseUrl })
 *   new Replicate({ auth, baseUrl: emu.replicateBaseUrl })
 *
 * Routes (P = port): /openai/v1/*, /replicate/v1/*, /replicate/files/{id}/output.mp4,
 * /replicate/p/{id}, the control API /control/{state,config,configure,reset}, and the Telegram
 * Bot API under /telegram (apiRoot `/telegram`, its own control API /telegram/_emulator/*).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, checkPatch, mergeOpenAI, mergeReplicate } from './config';
import type { EmulatorConfigPatch } from './config';
import { readJson, sendJson, HttpError } from './http';
import { OpenAIEmulator } from './openai';
import type { OpenAIEmulatorConfig, OpenAIEmulatorState } from './openai';
import { ReplicateEmulator } from './replicate';
import type { ReplicateEmulatorConfig, ReplicateEmulatorState } from './replicate';
import { TelegramEmulator } from './telegram';

export type { EmulatorConfigPatch } from './config';
/** The key of `state.replicate.createdByInput` for an input (JSON with sorted keys). */
export { stableStringify as inputKey } from './http';
export { OPENAI_MODELS, OPENAI_MODES } from './openai';
export type { EmulatedModel, OpenAIEmulatorConfig, OpenAIEmulatorState, OpenAIMode } from './openai';
export { DOWNLOAD_FAULTS, KLING_MODEL, OUTCOMES, REQUEST_FAULTS } from './replicate';
export type {
  DownloadFault,
  Outcome,
  PredictionJson,
  PredictionStatus,
  ReplicateEmulatorConfig,
  ReplicateEmulatorState,
  ReplicateInputField,
  ReplicateModelSpec,
  RequestFault,
} from './replicate';
export { startTelegramEmulator, TelegramEmulator } from './telegram';
export type { ChatEntry, RunningTelegramEmulator, TelegramEmulatorState } from './telegram';

/** The bot token the Telegram emulator accepts unless told another (`telegramToken`). */
export const EMULATOR_BOT_TOKEN = '1000001:vidflow-emulator-token';

export interface EmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the emulators have no auth worth the name and must not face a network. */
  host?: string;
  /** Initial configuration, applied like configure(). */
  openai?: Partial<OpenAIEmulatorConfig>;
  replicate?: Partial<ReplicateEmulatorConfig>;
  /** Where generated clips are cached; default a fresh temp folder, removed on close. */
  clipDir?: string;
  /** One line per request (method, path, status, ms); never headers, so never a key. */
  log?: (line: string) => void;
  /** The one token the Telegram emulator accepts; default EMULATOR_BOT_TOKEN. */
  telegramToken?: string;
}

export interface EmulatorState {
  openai: OpenAIEmulatorState;
  replicate: ReplicateEmulatorState;
}

export interface Emulators {
  port: number;
  openaiBaseUrl: string;
  replicateBaseUrl: string;
  controlUrl: string;
  /** The Telegram emulator's `apiRoot` (TELEGRAM_API_ROOT); its control API is `${telegramApiRoot}/_emulator`. */
  telegramApiRoot: string;
  telegram: TelegramEmulator;
  /** A fresh snapshot on every read. */
  readonly state: EmulatorState;
  /** The current configuration (a copy). */
  readonly config: { openai: OpenAIEmulatorConfig; replicate: ReplicateEmulatorConfig };
  /** Merges a partial config; throws (changing nothing) on an unknown key or value. */
  configure(patch: EmulatorConfigPatch): void;
  /** Default config, no predictions, zero counters. */
  reset(): void;
  close(): Promise<void>;
}

export async function startEmulators(opts: EmulatorOptions = {}): Promise<Emulators> {
  const host = opts.host ?? '127.0.0.1';
  const ownsClipDir = opts.clipDir === undefined;
  const clipDir = opts.clipDir ?? (await mkdtemp(join(tmpdir(), 'vidflow-emulator-')));
  const log = opts.log;

  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const root = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const openaiBaseUrl = `${root}/openai/v1`;
  const replicateBaseUrl = `${root}/replicate/v1`;
  const controlUrl = `${root}/control`;
  const telegramApiRoot = `${root}/telegram`;

  const openai = new OpenAIEmulator();
  const telegram = new TelegramEmulator({
    token: opts.telegramToken ?? EMULATOR_BOT_TOKEN,
    fileDir: join(clipDir, 'telegram'),
    ...(log ? { log: (line: string) => log(`telegram ${line}`) } : {}),
  });
  const replicate = new ReplicateEmulator({
    apiBaseUrl: replicateBaseUrl,
    filesBaseUrl: `${root}/replicate/files`,
    webBaseUrl: `${root}/replicate/p`,
    clipDir,
  });

  const configure = (patch: EmulatorConfigPatch): void => {
    checkPatch(patch);
    const nextOpenAI = patch.openai !== undefined ? mergeOpenAI(openai.config, patch.openai) : openai.config;
    const nextReplicate =
      patch.replicate !== undefined ? mergeReplicate(replicate.config, patch.replicate) : replicate.config;
    openai.config = nextOpenAI;
    replicate.config = nextReplicate;
  };
  const reset = (): void => {
    openai.reset();
    replicate.reset();
  };
  const snapshot = (): EmulatorState => ({ openai: structuredClone(openai.state), replicate: replicate.state });

  configure({ openai: opts.openai ?? {}, replicate: opts.replicate ?? {} });

  const control = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const method = req.method ?? 'GET';
    try {
      if (method === 'GET' && path === '/state') return sendJson(res, 200, snapshot());
      if (method === 'GET' && path === '/config') {
        return sendJson(res, 200, { openai: openai.config, replicate: replicate.config });
      }
      if (method === 'POST' && path === '/configure') {
        const body = await readJson(req, (m) => new HttpError(400, { error: m }));
        configure(body ?? {});
        return sendJson(res, 200, { openai: openai.config, replicate: replicate.config });
      }
      if (method === 'POST' && path === '/reset') {
        reset();
        return sendJson(res, 200, { ok: true });
      }
      sendJson(res, 404, { error: `no control route ${method} ${path}` });
    } catch (err) {
      if (err instanceof ConfigError) return sendJson(res, 400, { error: err.message });
      if (err instanceof HttpError) return sendJson(res, err.status, err.body);
      throw err;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', root);
    const path = url.pathname;
    const under = (prefix: string) =>
      path === prefix || path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : undefined;
    let rest: string | undefined;
    if ((rest = under('/openai/v1')) !== undefined) return openai.handle(req, res, rest);
    if ((rest = under('/replicate/v1')) !== undefined) return replicate.handleApi(req, res, rest, url.searchParams);
    if ((rest = under('/replicate/files')) !== undefined) return replicate.handleFile(req, res, rest);
    if ((rest = under('/replicate/p')) !== undefined) return replicate.handleWeb(res, rest);
    if ((rest = under('/control')) !== undefined) return control(req, res, rest);
    if ((rest = under('/telegram')) !== undefined) return telegram.handle(req, res, rest, url.searchParams);
    if (path === '/' && req.method === 'GET') {
      return sendJson(res, 200, { openaiBaseUrl, replicateBaseUrl, controlUrl, telegramApiRoot });
    }
    sendJson(res, 404, { error: `no route ${req.method ?? 'GET'} ${path}` });
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = Date.now();
    if (log) {
      // Only the path: query strings and headers stay out of logs.
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      res.once('close', () =>
        log(
          `${req.method ?? 'GET'} ${path} -> ${res.headersSent ? res.statusCode : 'dropped'} ${Date.now() - started}ms`,
        ),
      );
    }
    handle(req, res).catch((err: unknown) => {
      log?.(`internal error: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'emulator internal error' });
      else res.destroy();
    });
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      telegram.close();
      server.closeAllConnections();
      await replicate.close();
      await stopped;
      if (ownsClipDir) await rm(clipDir, { recursive: true, force: true });
    })();
    return closing;
  };

  return {
    port,
    openaiBaseUrl,
    replicateBaseUrl,
    controlUrl,
    telegramApiRoot,
    telegram,
    get state() {
      return snapshot();
    },
    get config() {
      return structuredClone({ openai: openai.config, replicate: replicate.config });
    },
    configure,
    reset,
    close,
  };
}
