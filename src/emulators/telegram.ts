/**
 * Emulator of the Telegram Bot API (api.telegram.org) as vidflow's bot uses it, on loopback, for
 * tests and offline demos. Point grammY at it with `new Bot(token, { client: { apiRoot } })`.
 *
 * The wire protocol is the real one: `POST|GET {apiRoot}/bot<token>/<method>` with JSON,
 * url-encoded, query-string or multipart/form-data parameters; answers `{ ok: true, result }` or
 * `{ ok: false, error_code, description, parameters? }` with the same HTTP status; 401 for any
 * other token. `getUpdates` long-polls (`timeout`) and drops updates below `offset` (that is how a
 * bot confirms them); a webhook set with `setWebhook` receives each update as a POST with the
 * `X-Telegram-Bot-Api-Secret-Token` header, retried until it answers 2xx.
 *
 * Test control, under `{root}/_emulator/`: `POST message` / `POST callback` inject what a user
 * types or presses, `POST fail` makes the next N calls of a method answer 429 with `retry_after`,
 * `GET state` / `GET chats/<id>` return everything the bot sent (texts, keyboards, edits, files).
 */
import { randomInt } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpError, isRecord, randomId, readJson, sendJson, sleep } from './http';
import { MultipartError, parseMultipart } from './multipart';
import type { UploadedFile } from './multipart';

export interface TelegramEmulatorOptions {
  /** The one token accepted (`<bot id>:<secret>`). */
  token: string;
  username?: string;
  firstName?: string;
  /** Where uploaded files are kept; default a fresh temp folder, removed on close. */
  fileDir?: string;
  /** The Bot API's upload limit for bots: 50 MB. */
  maxUploadBytes?: number;
  /** One line per Bot API call: method and status, never the token. */
  log?: (line: string) => void;
}

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
  language_code?: string;
}
export interface TgChat {
  id: number;
  type: 'private' | 'group' | 'supergroup';
  first_name?: string;
  title?: string;
}
export interface InlineButton {
  text: string;
  callback_data?: string;
  url?: string;
}
export interface InlineKeyboard {
  inline_keyboard: InlineButton[][];
}
export interface StoredFile {
  kind: 'video' | 'document';
  /** On this machine, for ffprobe. */
  path: string;
  filename: string;
  sizeBytes: number;
  file_id: string;
  /** What the bot declared (Telegram shows these before the file is probed). */
  duration?: number;
  width?: number;
  height?: number;
}
export interface ChatEntry {
  message_id: number;
  from: 'user' | 'bot';
  date: number;
  /** Milliseconds, for pacing checks. */
  at: number;
  userId?: number;
  text?: string;
  caption?: string;
  reply_markup?: InlineKeyboard;
  reply_to?: number;
  file?: StoredFile;
  /** Each successful edit, oldest first (the entry itself shows the latest state). */
  edits: { at: number; text?: string; reply_markup?: InlineKeyboard }[];
  /** The text and keyboard the message was sent with (edits may have changed them since). */
  sent_text?: string;
  sent_markup?: InlineKeyboard;
}
export interface CallbackRecord {
  id: string;
  chatId: number;
  userId: number;
  messageId: number;
  data: string;
  at: number;
  answered?: { text?: string; show_alert?: boolean; at: number };
}
export interface CallLog {
  method: string;
  status: number;
  at: number;
  chatId?: number;
  messageId?: number;
  retryAfter?: number;
}
export interface WebhookInfo {
  url: string;
  secret_token?: string;
  allowed_updates?: string[];
}
export interface TelegramEmulatorState {
  /** Calls per method, refused ones included. */
  calls: Record<string, number>;
  /** Every Bot API call in order (method, status, chat), for pacing and retry_after checks. */
  log: CallLog[];
  unauthorized: number;
  chats: Record<string, ChatEntry[]>;
  callbacks: CallbackRecord[];
  commands: Record<string, { command: string; description: string }[]>;
  webhook?: WebhookInfo;
  /** Updates not yet confirmed (by offset or a webhook's 2xx). */
  pendingUpdates: number;
  /** Webhook POSTs: update id, HTTP status (0 = no answer), whether the secret header was sent. */
  webhookDeliveries: { update_id: number; status: number; secret: boolean }[];
}

type Update = { update_id: number } & Record<string, unknown>;
type Params = Record<string, unknown>;

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description);
  }
}

const badRequest = (what: string) => new ApiError(400, `Bad Request: ${what}`);
const JSON_FIELDS = new Set(['reply_markup', 'reply_parameters', 'allowed_updates', 'commands', 'scope', 'entities']);
const MAX_TEXT = 4096;
const MAX_CAPTION = 1024;

export class TelegramEmulator {
  readonly botId: number;
  private readonly bot: TgUser;
  private nextUpdateId = 600_000_001;
  private readonly idBase = randomInt(1, 100_000) * 1000;
  private updates: Update[] = [];
  private waiter: { resolve: () => void; res: ServerResponse } | undefined;
  private readonly chats = new Map<number, { chat: TgChat; entries: ChatEntry[]; nextId: number }>();
  private readonly callbacks = new Map<string, CallbackRecord>();
  private readonly faults = new Map<string, { retryAfter: number }[]>();
  private counters: Pick<TelegramEmulatorState, 'calls' | 'log' | 'unauthorized' | 'commands' | 'webhookDeliveries'> = {
    calls: {},
    log: [],
    unauthorized: 0,
    commands: {},
    webhookDeliveries: [],
  };
  private webhook: WebhookInfo | undefined;
  private pushing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: TelegramEmulatorOptions & { fileDir: string }) {
    const id = Number(opts.token.split(':')[0]);
    if (!/^\d+:[\w-]+$/.test(opts.token) || !Number.isSafeInteger(id)) {
      throw new Error('telegram emulator: the token must look like <bot id>:<secret>');
    }
    this.botId = id;
    this.bot = { id, is_bot: true, first_name: opts.firstName ?? 'vidflow', username: opts.username ?? 'vidflow_bot' };
  }

  // ---- test control (also reachable over HTTP, see handleControl) -----------------------------

  /** What a user types: a new message update (a `/command` gets its bot_command entity). */
  injectMessage(m: {
    userId: number;
    text: string;
    chatId?: number;
    languageCode?: string;
    firstName?: string;
    /** Reuse a message id: a re-delivered message, as after a lost confirmation. */
    messageId?: number;
  }): { update_id: number; message_id: number } {
    const from = this.user(m.userId, m.languageCode, m.firstName);
    const c = this.chat(m.chatId ?? m.userId, from);
    const message_id = m.messageId ?? c.nextId++;
    const now = Date.now();
    if (m.messageId === undefined) {
      c.entries.push({ message_id, from: 'user', userId: m.userId, date: unix(now), at: now, text: m.text, edits: [] });
    }
    const command = /^\/[A-Za-z0-9_]+(@\w+)?/.exec(m.text);
    const message = {
      message_id,
      from,
      chat: c.chat,
      date: unix(now),
      text: m.text,
      ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}),
    };
    return { update_id: this.enqueue({ message }), message_id };
  }

  /**
   * A button press on a message in `chatId`. The data is whatever the client sends: Telegram
   * does not check that it belongs to the message, so a modified client can forge it.
   */
  injectCallback(c: { userId: number; messageId: number; data: string; chatId?: number; languageCode?: string }): {
    update_id: number;
    callback_query_id: string;
  } {
    const from = this.user(c.userId, c.languageCode);
    const chatId = c.chatId ?? c.userId;
    const entry = this.chats.get(chatId)?.entries.find((e) => e.message_id === c.messageId && e.from === 'bot');
    if (!entry) throw new ApiError(400, `no bot message ${c.messageId} in chat ${chatId}`);
    const id = `${this.botId}${randomId(10)}`;
    this.callbacks.set(id, { id, chatId, userId: c.userId, messageId: c.messageId, data: c.data, at: Date.now() });
    const callback_query = {
      id,
      from,
      message: this.messageJson(this.chats.get(chatId)!.chat, entry),
      chat_instance: String(chatId * 7919),
      data: c.data,
    };
    return { update_id: this.enqueue({ callback_query }), callback_query_id: id };
  }

  /** The next `count` calls of `method` answer 429 Too Many Requests with `retry_after`. */
  failNext(method: string, count = 1, retryAfter = 1): void {
    const queue = this.faults.get(method) ?? [];
    for (let i = 0; i < count; i++) queue.push({ retryAfter });
    this.faults.set(method, queue);
  }

  chatEntries(chatId: number): ChatEntry[] {
    return structuredClone(this.chats.get(chatId)?.entries ?? []);
  }

  /** The chat as its user saw it, for reports and docs: see renderTranscript. */
  transcript(chatId: number): string {
    return renderTranscript(
      this.chatEntries(chatId),
      [...this.callbacks.values()].filter((c) => c.chatId === chatId),
    );
  }

  get state(): TelegramEmulatorState {
    const chats: Record<string, ChatEntry[]> = {};
    for (const [id, c] of this.chats) chats[String(id)] = c.entries;
    return structuredClone({
      ...this.counters,
      chats,
      callbacks: [...this.callbacks.values()],
      ...(this.webhook ? { webhook: this.webhook } : {}),
      pendingUpdates: this.updates.length,
    });
  }

  reset(): void {
    this.updates = [];
    this.chats.clear();
    this.callbacks.clear();
    this.faults.clear();
    this.counters = { calls: {}, log: [], unauthorized: 0, commands: {}, webhookDeliveries: [] };
    this.webhook = undefined;
  }

  close(): void {
    this.closed = true;
    this.webhook = undefined;
    this.release();
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  /** Serves `path` (relative to where the emulator is mounted): `/bot<token>/<method>` or `/_emulator/...`. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    if (path.startsWith('/_emulator/')) return this.handleControl(req, res, path.slice('/_emulator'.length));
    const m = /^\/bot([^/]*)\/([A-Za-z]+)$/.exec(path);
    if (!m) return sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, method] = m as unknown as [string, string, string];
    if (token !== this.opts.token) {
      this.counters.unauthorized++;
      this.opts.log?.(`${method} -> 401`);
      return sendJson(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    }
    let params: Params;
    let files: Record<string, UploadedFile>;
    let status = 200;
    let logged: CallLog = { method, status, at: Date.now() };
    try {
      ({ params, files } = await readParams(req, query, this.opts.maxUploadBytes ?? 50 * 1024 * 1024));
      const chatId = numberOr(params.chat_id);
      const messageId = numberOr(params.message_id);
      logged = { ...logged, ...(chatId !== undefined ? { chatId } : {}), ...(messageId ? { messageId } : {}) };
      const fault = this.faults.get(method)?.shift();
      if (fault) {
        logged.retryAfter = fault.retryAfter;
        throw new ApiError(429, `Too Many Requests: retry after ${fault.retryAfter}`, {
          retry_after: fault.retryAfter,
        });
      }
      const result = await this.call(method, params, files, req, res);
      if (result === LONG_POLL_ANSWERED) return;
      sendJson(res, 200, { ok: true, result });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      status = err.code;
      sendJson(res, err.code, {
        ok: false,
        error_code: err.code,
        description: err.description,
        ...(err.parameters ? { parameters: err.parameters } : {}),
      });
    } finally {
      this.counters.calls[method] = (this.counters.calls[method] ?? 0) + 1;
      if (method !== 'getUpdates' || status !== 200) this.counters.log.push({ ...logged, status });
      this.opts.log?.(`${method} -> ${status}`);
    }
  }

  private async handleControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    try {
      if (method === 'GET' && path === '/state') return sendJson(res, 200, this.state);
      const chat = /^\/chats\/(-?\d+)$/.exec(path);
      if (method === 'GET' && chat) return sendJson(res, 200, this.chatEntries(Number(chat[1])));
      if (method !== 'POST') return sendJson(res, 404, { error: `no control route ${method} ${path}` });
      const body = await readJson(req, (m) => new HttpError(400, { error: m }));
      const b = isRecord(body) ? body : {};
      if (path === '/message') {
        if (typeof b.userId !== 'number' || typeof b.text !== 'string') {
          return sendJson(res, 400, { error: 'message needs {userId: number, text: string}' });
        }
        return sendJson(res, 200, this.injectMessage(b as Parameters<TelegramEmulator['injectMessage']>[0]));
      }
      if (path === '/callback') {
        if (typeof b.userId !== 'number' || typeof b.messageId !== 'number' || typeof b.data !== 'string') {
          return sendJson(res, 400, { error: 'callback needs {userId, messageId: number, data: string}' });
        }
        return sendJson(res, 200, this.injectCallback(b as Parameters<TelegramEmulator['injectCallback']>[0]));
      }
      if (path === '/fail') {
        if (typeof b.method !== 'string')
          return sendJson(res, 400, { error: 'fail needs {method, count?, retryAfter?}' });
        this.failNext(b.method, numberOr(b.count) ?? 1, numberOr(b.retryAfter) ?? 1);
        return sendJson(res, 200, { ok: true });
      }
      if (path === '/reset') {
        this.reset();
        return sendJson(res, 200, { ok: true });
      }
      sendJson(res, 404, { error: `no control route ${method} ${path}` });
    } catch (err) {
      if (err instanceof ApiError) return sendJson(res, err.code, { error: err.description });
      if (err instanceof HttpError) return sendJson(res, err.status, err.body);
      throw err;
    }
  }

  // ---- Bot API methods ---------------------------------------------------------------------------

  private async call(
    method: string,
    p: Params,
    files: Record<string, UploadedFile>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<unknown> {
    switch (method) {
      case 'getMe':
        return {
          ...this.bot,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        };
      case 'getUpdates':
        return this.getUpdates(p, req, res);
      case 'setWebhook': {
        const url = str(p.url);
        if (url === '') return this.deleteWebhook(p);
        if (!/^https?:\/\//.test(url)) throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
        if (p.secret_token !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(str(p.secret_token))) {
          throw badRequest('secret token contains unallowed characters');
        }
        if (truthy(p.drop_pending_updates)) this.updates = [];
        this.webhook = {
          url,
          ...(p.secret_token !== undefined ? { secret_token: str(p.secret_token) } : {}),
          ...(Array.isArray(p.allowed_updates) ? { allowed_updates: p.allowed_updates as string[] } : {}),
        };
        this.release();
        this.push();
        return true;
      }
      case 'deleteWebhook':
        return this.deleteWebhook(p);
      case 'getWebhookInfo':
        return {
          url: this.webhook?.url ?? '',
          has_custom_certificate: false,
          pending_update_count: this.updates.length,
        };
      case 'setMyCommands': {
        if (!Array.isArray(p.commands)) throw badRequest('commands must be an array');
        this.counters.commands[str(p.language_code)] = p.commands as {
          command: string;
          description: string;
        }[];
        return true;
      }
      case 'getMyCommands':
        return this.counters.commands[str(p.language_code)] ?? [];
      case 'sendChatAction':
        this.chatOf(p);
        return true;
      case 'sendMessage':
        return this.send(p, { text: checkText(p.text, MAX_TEXT, 'text') });
      case 'sendVideo':
      case 'sendDocument':
        return this.sendFile(method === 'sendVideo' ? 'video' : 'document', p, files);
      case 'editMessageText':
        return this.edit(p, { text: checkText(p.text, MAX_TEXT, 'text') });
      case 'editMessageReplyMarkup':
        return this.edit(p, {});
      case 'answerCallbackQuery': {
        const cb = this.callbacks.get(str(p.callback_query_id));
        if (!cb || cb.answered) {
          throw badRequest('query is too old and response timeout expired or query ID is invalid');
        }
        cb.answered = {
          ...(p.text !== undefined ? { text: str(p.text) } : {}),
          ...(p.show_alert !== undefined ? { show_alert: truthy(p.show_alert) } : {}),
          at: Date.now(),
        };
        return true;
      }
      default:
        throw new ApiError(404, 'Not Found');
    }
  }

  private deleteWebhook(p: Params): true {
    this.webhook = undefined;
    if (truthy(p.drop_pending_updates)) this.updates = [];
    return true;
  }

  private async getUpdates(p: Params, req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    if (this.webhook) {
      throw new ApiError(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    const offset = numberOr(p.offset);
    // Confirming is all a bot does to say it handled an update: everything below the offset goes.
    if (offset !== undefined && offset > 0) this.updates = this.updates.filter((u) => u.update_id >= offset);
    const limit = Math.min(100, Math.max(1, numberOr(p.limit) ?? 100));
    const timeout = Math.min(50, Math.max(0, numberOr(p.timeout) ?? 0));
    if (this.updates.length === 0 && timeout > 0) {
      // A second poller ends the first, as Telegram does ("terminated by other getUpdates request").
      if (this.waiter) {
        sendJson(this.waiter.res, 409, {
          ok: false,
          error_code: 409,
          description:
            'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
        });
        this.release();
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeout * 1000);
        const onClose = () => done();
        function done() {
          clearTimeout(timer);
          req.socket.off('close', onClose);
          resolve();
        }
        req.socket.once('close', onClose);
        this.waiter = { resolve: done, res };
      });
      if (this.waiter?.res === res) this.waiter = undefined;
      if (res.writableEnded || res.destroyed) return LONG_POLL_ANSWERED;
    }
    const allowed = Array.isArray(p.allowed_updates) && p.allowed_updates.length ? p.allowed_updates : undefined;
    return this.updates
      .filter((u) => !allowed || Object.keys(u).some((k) => k !== 'update_id' && allowed.includes(k)))
      .slice(0, limit);
  }

  private send(p: Params, content: { text?: string; caption?: string; file?: StoredFile }): unknown {
    const c = this.chatOf(p);
    const markup = checkMarkup(p.reply_markup);
    const replyTo = numberOr(isRecord(p.reply_parameters) ? p.reply_parameters.message_id : p.reply_to_message_id);
    const now = Date.now();
    const entry: ChatEntry = {
      message_id: c.nextId++,
      from: 'bot',
      date: unix(now),
      at: now,
      ...content,
      ...(content.text !== undefined ? { sent_text: content.text } : {}),
      ...(markup ? { reply_markup: markup, sent_markup: markup } : {}),
      ...(replyTo !== undefined ? { reply_to: replyTo } : {}),
      edits: [],
    };
    c.entries.push(entry);
    return this.messageJson(c.chat, entry);
  }

  private async sendFile(kind: 'video' | 'document', p: Params, files: Record<string, UploadedFile>): Promise<unknown> {
    const c = this.chatOf(p);
    const ref = p[kind];
    const attached = typeof ref === 'string' && ref.startsWith('attach://') ? files[ref.slice(9)] : files[kind];
    if (!attached) throw badRequest(`there is no ${kind} in the request`);
    const caption = p.caption === undefined ? undefined : checkText(p.caption, MAX_CAPTION, 'caption');
    const dir = join(this.opts.fileDir, String(c.chat.id));
    await mkdir(dir, { recursive: true });
    const filename = attached.filename.replace(/[^\w.-]/g, '_') || `${kind}.mp4`;
    const path = join(dir, `${c.nextId}-${filename}`);
    await writeFile(path, attached.data);
    const file: StoredFile = {
      kind,
      path,
      filename,
      sizeBytes: attached.data.length,
      file_id: `BAAC${randomId(24)}`,
      ...(numberOr(p.duration) !== undefined ? { duration: numberOr(p.duration)! } : {}),
      ...(numberOr(p.width) !== undefined ? { width: numberOr(p.width)! } : {}),
      ...(numberOr(p.height) !== undefined ? { height: numberOr(p.height)! } : {}),
    };
    return this.send(p, { ...(caption !== undefined ? { caption } : {}), file });
  }

  private edit(p: Params, change: { text?: string }): unknown {
    const c = this.chatOf(p);
    const entry = c.entries.find((e) => e.message_id === numberOr(p.message_id));
    if (!entry) throw badRequest('message to edit not found');
    if (entry.from !== 'bot') throw badRequest("message can't be edited");
    if (change.text !== undefined && entry.text === undefined)
      throw badRequest('there is no text in the message to edit');
    const markup = checkMarkup(p.reply_markup);
    const text = change.text ?? entry.text;
    if (text === entry.text && JSON.stringify(markup) === JSON.stringify(entry.reply_markup)) {
      throw badRequest(
        'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      );
    }
    if (text !== undefined) entry.text = text;
    if (markup) entry.reply_markup = markup;
    else delete entry.reply_markup;
    entry.edits.push({
      at: Date.now(),
      ...(change.text !== undefined ? { text: change.text } : {}),
      ...(markup ? { reply_markup: markup } : {}),
    });
    return this.messageJson(c.chat, entry);
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private user(id: number, languageCode?: string, firstName?: string): TgUser {
    return {
      id,
      is_bot: false,
      first_name: firstName ?? `User ${id}`,
      ...(languageCode ? { language_code: languageCode } : {}),
    };
  }

  private chat(id: number, from: TgUser) {
    let c = this.chats.get(id);
    if (!c) {
      const chat: TgChat =
        id > 0 ? { id, type: 'private', first_name: from.first_name } : { id, type: 'group', title: `Group ${id}` };
      // Like Telegram's, message ids never repeat in a chat: a fresh emulator against the same
      // Temporal server must not hand out ids (and so workflow ids) an earlier one did.
      c = { chat, entries: [], nextId: this.idBase + 1 };
      this.chats.set(id, c);
    }
    return c;
  }

  /** The chat a call addresses; like Telegram, a bot can only write to chats that wrote to it. */
  private chatOf(p: Params) {
    if (p.chat_id === undefined || p.chat_id === '') throw badRequest('chat_id is empty');
    const c = this.chats.get(Number(p.chat_id));
    if (!c) throw badRequest('chat not found');
    return c;
  }

  private messageJson(chat: TgChat, e: ChatEntry): Record<string, unknown> {
    return {
      message_id: e.message_id,
      from: e.from === 'bot' ? this.bot : this.user(e.userId ?? chat.id),
      chat,
      date: e.date,
      ...(e.edits.length ? { edit_date: unix(e.edits[e.edits.length - 1]!.at) } : {}),
      ...(e.text !== undefined ? { text: e.text } : {}),
      ...(e.caption !== undefined ? { caption: e.caption } : {}),
      ...(e.reply_markup ? { reply_markup: e.reply_markup } : {}),
      ...(e.file
        ? {
            [e.file.kind]: {
              file_id: e.file.file_id,
              file_unique_id: e.file.file_id.slice(-12),
              file_name: e.file.filename,
              mime_type: 'video/mp4',
              file_size: e.file.sizeBytes,
              ...(e.file.kind === 'video'
                ? { duration: e.file.duration ?? 0, width: e.file.width ?? 0, height: e.file.height ?? 0 }
                : {}),
            },
          }
        : {}),
    };
  }

  private enqueue(body: Record<string, unknown>): number {
    const update_id = this.nextUpdateId++;
    this.updates.push({ update_id, ...body });
    this.release();
    this.push();
    return update_id;
  }

  /** Wakes a long poll waiting for updates. */
  private release(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
  }

  /** Delivers pending updates to the webhook in order, one at a time, retrying until a 2xx. */
  private push(): void {
    if (!this.webhook || this.pushing) return;
    this.pushing = (async () => {
      let backoff = 200;
      while (!this.closed && this.webhook && this.updates.length > 0) {
        const hook = this.webhook;
        const update = this.updates[0]!;
        let status: number;
        try {
          const r = await fetch(hook.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(hook.secret_token ? { 'x-telegram-bot-api-secret-token': hook.secret_token } : {}),
            },
            body: JSON.stringify(update),
            signal: AbortSignal.timeout(60_000),
          });
          status = r.status;
          await r.arrayBuffer();
        } catch {
          status = 0;
        }
        this.counters.webhookDeliveries.push({
          update_id: update.update_id,
          status,
          secret: Boolean(hook.secret_token),
        });
        if (status >= 200 && status < 300) {
          this.updates = this.updates.filter((u) => u !== update);
          backoff = 200;
        } else {
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 5000);
        }
      }
    })().finally(() => {
      this.pushing = undefined;
      if (!this.closed && this.webhook && this.updates.length > 0) this.push();
    });
  }
}

const LONG_POLL_ANSWERED = Symbol('answered');

/**
 * A chat as text: each message with the buttons it was sent with, each button press with the
 * notice it got, and the last state of messages edited in place (with the number of edits).
 */
export function renderTranscript(entries: ChatEntry[], callbacks: CallbackRecord[]): string {
  const buttonText = new Map<string, string>();
  for (const e of entries) {
    for (const row of e.sent_markup?.inline_keyboard ?? []) {
      for (const b of row) if (b.callback_data) buttonText.set(`${e.message_id}|${b.callback_data}`, b.text);
    }
  }
  const items: { at: number; lines: string[] }[] = [];
  const indent = (text: string, pad: string) => text.split('\n').map((l, i) => (i === 0 ? l : pad + l));
  for (const e of entries) {
    if (e.from === 'user') {
      items.push({ at: e.at, lines: [`👤 ${e.text ?? ''}`] });
      continue;
    }
    const head = e.file
      ? `🤖 [${e.file.kind}: ${e.file.filename}, ${(e.file.sizeBytes / 1000).toFixed(0)} KB, ${e.file.duration ?? '?'} s, ${e.file.width ?? '?'}×${e.file.height ?? '?'}] `
      : '🤖 ';
    const lines = indent(`${head}${e.sent_text ?? e.text ?? e.caption ?? ''}`, '   ');
    for (const row of e.sent_markup?.inline_keyboard ?? []) lines.push(`   ${row.map((b) => `[${b.text}]`).join(' ')}`);
    const textEdits = e.edits.filter((x) => x.text !== undefined);
    if (textEdits.length) {
      lines.push(`   ✎ edited in place ${textEdits.length}×, last:`);
      lines.push(...indent(`     ${e.text ?? ''}`, '     '));
    }
    items.push({ at: e.at, lines });
  }
  for (const c of callbacks) {
    const label = buttonText.get(`${c.messageId}|${c.data}`) ?? `(data ${c.data})`;
    const answer = c.answered?.text ? ` → “${c.answered.text}”` : '';
    items.push({ at: c.at, lines: [`👆 taps ${label}${answer}`] });
  }
  return items
    .sort((a, b) => a.at - b.at)
    .flatMap((i) => i.lines)
    .join('\n');
}

function unix(ms: number): number {
  return Math.floor(ms / 1000);
}

function numberOr(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** A parameter as text: numbers and booleans as written, anything else (absent, objects) empty. */
function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

function truthy(v: unknown): boolean {
  return v === true || v === 'true' || v === '1' || v === 1;
}

/** Telegram's own wording: "message text is empty", "message is too long", "message caption is too long". */
function checkText(v: unknown, max: number, what: 'text' | 'caption'): string {
  const text = str(v);
  if (text.trim() === '') throw badRequest(`message ${what} is empty`);
  if (text.length > max) throw badRequest(what === 'text' ? 'message is too long' : 'message caption is too long');
  return text;
}

function checkMarkup(v: unknown): InlineKeyboard | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v) || !Array.isArray(v.inline_keyboard))
    throw badRequest("can't parse reply keyboard markup JSON object");
  const rows = v.inline_keyboard as unknown[];
  for (const row of rows) {
    if (!Array.isArray(row))
      throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays');
    for (const b of row as unknown[]) {
      if (!isRecord(b) || typeof b.text !== 'string' || b.text === '')
        throw badRequest('text buttons are unallowed in the inline keyboard');
      if (b.callback_data !== undefined) {
        const size = Buffer.byteLength(str(b.callback_data));
        if (size < 1 || size > 64) throw badRequest('BUTTON_DATA_INVALID');
      }
    }
  }
  return rows.length ? (structuredClone(v) as unknown as InlineKeyboard) : undefined;
}

/** Parameters from the query string and the body, whichever of the four encodings it uses. */
async function readParams(
  req: IncomingMessage,
  query: URLSearchParams,
  maxBytes: number,
): Promise<{ params: Params; files: Record<string, UploadedFile> }> {
  const params: Params = Object.fromEntries(query);
  let files: Record<string, UploadedFile> = {};
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep reading (and dropping) so the client gets the answer instead of a reset connection.
    if (size > maxBytes + 64 * 1024) tooLarge = true;
    else chunks.push(chunk);
  }
  if (tooLarge) throw new ApiError(413, 'Request Entity Too Large');
  const body = Buffer.concat(chunks);
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  if (body.length > 0) {
    if (type.startsWith('application/json')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw badRequest("can't parse JSON object");
      }
      if (isRecord(parsed)) Object.assign(params, parsed);
    } else if (type.startsWith('multipart/form-data')) {
      try {
        const mp = parseMultipart(body, String(req.headers['content-type']));
        Object.assign(params, mp.fields);
        files = mp.files;
      } catch (err) {
        if (err instanceof MultipartError) throw badRequest(err.message);
        throw err;
      }
      const total = Object.values(files).reduce((n, f) => n + f.data.length, 0);
      if (total > maxBytes) throw new ApiError(413, 'Request Entity Too Large');
    } else {
      Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    }
  }
  for (const key of JSON_FIELDS) {
    const v = params[key];
    if (typeof v === 'string') {
      try {
        params[key] = JSON.parse(v) as unknown;
      } catch {
        throw badRequest(`can't parse ${key} JSON object`);
      }
    }
  }
  return { params, files };
}

export interface RunningTelegramEmulator {
  emulator: TelegramEmulator;
  /** For grammY's `client.apiRoot` (TELEGRAM_API_ROOT). */
  apiRoot: string;
  controlUrl: string;
  fileDir: string;
  close(): Promise<void>;
}

/** The emulator on its own loopback server (port 0: a free one). */
export async function startTelegramEmulator(
  opts: TelegramEmulatorOptions & { port?: number },
): Promise<RunningTelegramEmulator> {
  const ownsDir = opts.fileDir === undefined;
  const fileDir = opts.fileDir ?? (await mkdtemp(join(tmpdir(), 'vidflow-telegram-')));
  const emulator = new TelegramEmulator({ ...opts, fileDir });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    emulator.handle(req, res, url.pathname, url.searchParams).catch((err: unknown) => {
      opts.log?.(`internal error: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) sendJson(res, 500, { ok: false, error_code: 500, description: 'Internal Server Error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    emulator,
    apiRoot: root,
    controlUrl: `${root}/_emulator`,
    fileDir,
    async close() {
      emulator.close();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
      if (ownsDir) await rm(fileDir, { recursive: true, force: true });
    },
  };
}
