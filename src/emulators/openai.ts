/**
 * Emulator of the OpenAI endpoints vidflow's planner may use: `POST /chat/completions`,
 * `POST /responses` and `GET /models[/{id}]`, with OpenAI's JSON shapes and error bodies, so the
 * real `openai` client (parse helpers, error classes, retry logic) runs unchanged against it. It
 * knows a catalogue of models: an unknown one is a 404 `model_not_found`, the ones OpenAI retires
 * carry a `shutdown_date`, and reasoning models refuse sampling parameters as OpenAI's do.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, bearerToken, isRecord, maskSecret, randomHex, readJson, sendJson, sleep } from './http';
import { makePlan } from './planner';

export const OPENAI_MODES = [
  'ok',
  'fenced',
  'prose',
  'garbage',
  'wrongCount',
  'refusal',
  'unauthorized',
  'rateLimited',
  'quota',
  'serverError',
  'length',
  'contentFilter',
  /** A valid plan whose middle scene is far over any video model's prompt limit (3,000+ characters). */
  'longScene',
] as const;
export type OpenAIMode = (typeof OPENAI_MODES)[number];

export interface OpenAIEmulatorConfig {
  /** Behaviour of every request not covered by `nextModes`. */
  mode: OpenAIMode;
  /** One-shot modes, consumed one per request (before `mode` applies). */
  nextModes: OpenAIMode[];
  /** Delay before each answer, e.g. to exercise client timeouts or activity heartbeats. */
  latencyMs: number;
  /** This key gets 401 (as a revoked key would); any other non-empty key is accepted. */
  rejectKey: string | null;
  /** `retry-after` seconds on a 429 rateLimited. */
  retryAfterSeconds: number;
}

export interface OpenAIEmulatorState {
  /** Every request that reached a generating endpoint, including refused ones (not model lookups). */
  requests: number;
  /** `GET /models` and `GET /models/{id}`, counted apart so a worker's start check leaves `requests` alone. */
  modelLookups: number;
  chatCompletions: number;
  responses: number;
  /** Requests answered 401. */
  unauthorized: number;
  lastPath: string | null;
  /** The last JSON body received (never contains the key: that travels in a header). */
  lastBody: unknown;
  /** The mode applied to each request, in order. */
  modesServed: OpenAIMode[];
}

export function defaultOpenAIConfig(): OpenAIEmulatorConfig {
  return { mode: 'ok', nextModes: [], latencyMs: 0, rejectKey: null, retryAfterSeconds: 1 };
}

function emptyState(): OpenAIEmulatorState {
  return {
    requests: 0,
    modelLookups: 0,
    chatCompletions: 0,
    responses: 0,
    unauthorized: 0,
    lastPath: null,
    lastBody: null,
    modesServed: [],
  };
}

const REFUSAL = "I'm sorry, but I can't help with that request.";

export interface EmulatedModel {
  id: string;
  /** Unix seconds, as `GET /models` gives it. */
  created: number;
  owned_by: string;
  /** YYYY-MM-DD when OpenAI has announced the model's shutdown, else null. */
  shutdown_date: string | null;
  /** Reasoning models refuse sampling parameters and take `reasoning_effort`. */
  reasoning: boolean;
}

/** The 2027-01-14 retirements are OpenAI's deprecations page as of 2026-12. */
const RETIRING = '2027-01-14';
const model = (id: string, created: number, reasoning: boolean, shutdown: string | null = null): EmulatedModel => ({
  id,
  created,
  owned_by: 'system',
  shutdown_date: shutdown,
  reasoning,
});
export const OPENAI_MODELS: readonly EmulatedModel[] = [
  model('gpt-4o', 1715367049, false, RETIRING),
  model('gpt-4o-2024-08-06', 1722814719, false, RETIRING),
  model('gpt-4o-mini', 1721172741, false, RETIRING),
  model('gpt-4o-mini-2024-07-18', 1721172717, false, RETIRING),
  model('gpt-4.1', 1744316542, false, RETIRING),
  model('gpt-4.1-mini', 1744318173, false, RETIRING),
  model('o3', 1744225308, true),
  model('o4-mini', 1744225351, true),
  model('gpt-5', 1754425777, true),
  model('gpt-5-mini', 1754425928, true),
  model('gpt-5-chat-latest', 1754073306, false),
  model('gpt-6-luna', 1788134400, true),
];
const modelById = new Map(OPENAI_MODELS.map((m) => [m.id, m]));

/** Sampling parameters reasoning models refuse (with `max_tokens`, which they refuse for another reason). */
const SAMPLING_PARAMS = ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'logprobs'] as const;
const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'];
/** Reasoning tokens the emulated model "spends" per effort, so usage shows the effort was read. */
const REASONING_TOKENS: Record<string, number> = { none: 0, minimal: 16, low: 64, medium: 256, high: 1024 };

function openaiError(
  status: number,
  message: string,
  type: string,
  code: string | null,
  headers: Record<string, string> = {},
): HttpError {
  return new HttpError(status, { error: { message, type, param: null, code } }, headers);
}

function badRequest(message: string, param: string | null = null, code: string | null = null): HttpError {
  return new HttpError(400, { error: { message, type: 'invalid_request_error', param, code } });
}

function modelNotFound(id: string, param: string | null): HttpError {
  return new HttpError(404, {
    error: {
      message: `The model \`${id}\` does not exist or you do not have access to it.`,
      type: 'invalid_request_error',
      param,
      code: 'model_not_found',
    },
  });
}

const unsupported = (param: string, extra = ''): HttpError =>
  badRequest(
    `Unsupported parameter: '${param}' is not supported with this model.${extra}`,
    param,
    'unsupported_parameter',
  );

/**
 * OpenAI's checks of the parameters a model takes. `effort` is where the request put the
 * reasoning effort (`reasoning_effort` in Chat Completions, `reasoning.effort` in Responses).
 * Returns the effort applied (the default, medium, when a reasoning model is not told).
 */
function checkModelParams(
  m: EmulatedModel,
  body: Record<string, unknown>,
  effort: { param: string; value: unknown },
): string | null {
  if (m.reasoning) {
    for (const p of SAMPLING_PARAMS) if (body[p] !== undefined && body[p] !== null) throw unsupported(p);
    if (body.max_tokens !== undefined && body.max_tokens !== null) {
      throw unsupported('max_tokens', " Use 'max_completion_tokens' instead.");
    }
  }
  if (effort.value === undefined || effort.value === null) return m.reasoning ? 'medium' : null;
  if (!m.reasoning) throw unsupported(effort.param);
  if (typeof effort.value !== 'string' || !REASONING_EFFORTS.includes(effort.value)) {
    const shown = typeof effort.value === 'string' ? effort.value : JSON.stringify(effort.value);
    throw badRequest(
      `Invalid value: '${shown}'. Supported values are: ${REASONING_EFFORTS.map((e) => `'${e}'`).join(', ')}.`,
      effort.param,
      'invalid_value',
    );
  }
  return effort.value;
}

/** The model object as `GET /models` lists it. */
function modelJson(m: EmulatedModel): Record<string, unknown> {
  return { id: m.id, object: 'model', created: m.created, owned_by: m.owned_by, shutdown_date: m.shutdown_date };
}

/** Rough token count (4 characters a token), good enough for usage fields. */
const tokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

/** Text of a message `content`: a string, or an array of `{type:'text'|'input_text', text}` parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : ''))
      .filter(Boolean)
      .join('\n');
  }
  return '';
}

interface Conversation {
  userText: string;
  allText: string;
}

function fromMessages(messages: unknown[], extra = ''): Conversation {
  let userText = '';
  const parts: string[] = extra ? [extra] : [];
  for (const m of messages) {
    if (!isRecord(m)) continue;
    const text = contentText(m.content);
    parts.push(text);
    if (m.role === 'user') userText = text;
  }
  return { userText, allText: parts.join('\n') };
}

function jsonSchemaOf(format: unknown): Record<string, unknown> | undefined {
  if (!isRecord(format) || format.type !== 'json_schema') return undefined;
  // Chat nests it (`{type, json_schema:{name, schema}}`); Responses flattens it (`{type, name, schema}`).
  const holder = isRecord(format.json_schema) ? format.json_schema : format;
  return isRecord(holder.schema) ? holder.schema : undefined;
}

interface Written {
  content: string | null;
  refusal: string | null;
  finishReason: 'stop' | 'length' | 'content_filter';
}

/** What the emulated model writes for a mode that produces a completion. */
function write(mode: OpenAIMode, conv: Conversation, schema: Record<string, unknown> | undefined): Written {
  const plan = (countDelta = 0) =>
    makePlan({ schema, instructions: conv.allText, userText: conv.userText, countDelta });
  switch (mode) {
    case 'fenced':
      return {
        content: `Here is the scene plan you asked for:\n\n\`\`\`json\n${JSON.stringify(plan(), null, 2)}\n\`\`\`\n\nLet me know if you would like any changes.`,
        refusal: null,
        finishReason: 'stop',
      };
    case 'prose':
      return {
        content: `Sure! Here is the plan: ${JSON.stringify(plan())} I hope this works well for your video.`,
        refusal: null,
        finishReason: 'stop',
      };
    case 'garbage':
      return {
        content:
          'Absolutely, what a lovely idea. I picture it opening at dawn, moving to a busy afternoon and ending under the stars.',
        refusal: null,
        finishReason: 'stop',
      };
    case 'wrongCount':
      return { content: JSON.stringify(plan(1)), refusal: null, finishReason: 'stop' };
    case 'refusal':
      return { content: null, refusal: REFUSAL, finishReason: 'stop' };
    case 'length': {
      const full = JSON.stringify(plan());
      return { content: full.slice(0, Math.floor(full.length / 2)), refusal: null, finishReason: 'length' };
    }
    case 'contentFilter':
      return { content: null, refusal: null, finishReason: 'content_filter' };
    case 'longScene': {
      // A model that ignored the schema's maxLength (strict mode does not promise it).
      const p = plan() as { scenes?: { prompt?: unknown }[] };
      const scenes = p.scenes ?? [];
      const middle = scenes[Math.floor(scenes.length / 2)];
      if (middle && typeof middle.prompt === 'string') {
        const more = ', with drifting sea mist, gulls wheeling overhead and waves breaking on the rocks below';
        let long = middle.prompt;
        while (long.length < 3000) long += more;
        middle.prompt = `${long}, and the shot holds on the horizon`;
      }
      return { content: JSON.stringify(p), refusal: null, finishReason: 'stop' };
    }
    default:
      return { content: JSON.stringify(plan()), refusal: null, finishReason: 'stop' };
  }
}

export class OpenAIEmulator {
  config: OpenAIEmulatorConfig = defaultOpenAIConfig();
  state: OpenAIEmulatorState = emptyState();

  reset(): void {
    this.config = defaultOpenAIConfig();
    this.state = emptyState();
  }

  /** `path` is relative to the base URL, e.g. `/chat/completions`. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const requestId = `req_${randomHex(32)}`;
    try {
      await this.route(req, res, path, requestId);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      sendJson(res, err.status, err.body, { 'x-request-id': requestId, ...err.headers });
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, path: string, requestId: string): Promise<void> {
    if (req.method === 'GET' && (path === '/models' || path.startsWith('/models/'))) {
      return this.models(req, res, path, requestId);
    }
    const endpoint =
      req.method === 'POST' && path === '/chat/completions'
        ? 'chat'
        : req.method === 'POST' && path === '/responses'
          ? 'responses'
          : undefined;
    if (!endpoint) {
      throw openaiError(404, `Invalid URL (${req.method ?? 'GET'} /v1${path})`, 'invalid_request_error', null);
    }
    this.state.requests++;
    this.state.lastPath = path;
    if (endpoint === 'chat') this.state.chatCompletions++;
    else this.state.responses++;

    const body = await readJson(req, (m) => badRequest(m));
    this.state.lastBody = body ?? null;
    const mode = this.config.nextModes.shift() ?? this.config.mode;
    this.state.modesServed.push(mode);
    await sleep(this.config.latencyMs);

    this.checkAuth(req, mode);
    this.failIfErrorMode(mode);
    if (!isRecord(body)) throw badRequest('We could not parse the JSON body of your request.');
    if (typeof body.model !== 'string' || body.model === '') {
      throw badRequest('you must provide a model parameter', 'model');
    }
    const m = modelById.get(body.model);
    if (!m) throw modelNotFound(body.model, null);
    if (body.stream === true) throw badRequest('Streaming is not supported by the vidflow OpenAI emulator.', 'stream');
    const effort =
      endpoint === 'chat'
        ? checkModelParams(m, body, { param: 'reasoning_effort', value: body.reasoning_effort })
        : checkModelParams(m, body, {
            param: 'reasoning.effort',
            value: isRecord(body.reasoning) ? body.reasoning.effort : undefined,
          });

    const answer = endpoint === 'chat' ? this.chat(body, mode, effort) : this.responses(body, mode, effort);
    sendJson(res, 200, answer, { 'x-request-id': requestId, 'openai-processing-ms': String(this.config.latencyMs) });
  }

  /**
   * `GET /models` and `GET /models/{id}`. They take no one-shot mode (a worker's start check must
   * not eat the mode a test queued for a plan), only the key checks and the latency.
   */
  private async models(req: IncomingMessage, res: ServerResponse, path: string, requestId: string): Promise<void> {
    this.state.modelLookups++;
    await sleep(this.config.latencyMs);
    this.checkAuth(req, this.config.mode, false);
    const headers = { 'x-request-id': requestId };
    if (path === '/models') {
      return sendJson(res, 200, { object: 'list', data: OPENAI_MODELS.map(modelJson) }, headers);
    }
    const id = decodeURIComponent(path.slice('/models/'.length));
    const m = modelById.get(id);
    if (!m) throw modelNotFound(id, 'model');
    sendJson(res, 200, modelJson(m), headers);
  }

  private checkAuth(req: IncomingMessage, mode: OpenAIMode, count = true): void {
    const key = bearerToken(req);
    if (!key) {
      if (count) this.state.unauthorized++;
      throw openaiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        'invalid_request_error',
        null,
      );
    }
    if (mode === 'unauthorized' || key === this.config.rejectKey) {
      if (count) this.state.unauthorized++;
      throw openaiError(
        401,
        `Incorrect API key provided: ${maskSecret(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_request_error',
        'invalid_api_key',
      );
    }
  }

  private failIfErrorMode(mode: OpenAIMode): void {
    switch (mode) {
      case 'rateLimited': {
        const s = this.config.retryAfterSeconds;
        // OpenAI sends no `x-should-retry` on 429s, so the client's own 429 rule applies.
        throw openaiError(
          429,
          `Rate limit reached for requests in organization org-emulator on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${s}s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
          'requests',
          'rate_limit_exceeded',
          {
            'retry-after': String(s),
            'x-ratelimit-limit-requests': '3',
            'x-ratelimit-remaining-requests': '0',
            'x-ratelimit-reset-requests': `${s}s`,
          },
        );
      }
      case 'quota':
        throw openaiError(
          429,
          'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
          'insufficient_quota',
          'insufficient_quota',
        );
      case 'serverError':
        throw openaiError(
          500,
          'The server had an error while processing your request. Sorry about that!',
          'server_error',
          null,
        );
      default:
        return;
    }
  }

  private chat(body: Record<string, unknown>, mode: OpenAIMode, effort: string | null): unknown {
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw badRequest("Missing required parameter: 'messages'.", 'messages');
    }
    const conv = fromMessages(body.messages);
    const written = write(mode, conv, jsonSchemaOf(body.response_format));
    const promptTokens = tokens(conv.allText);
    const reasoningTokens = effort ? (REASONING_TOKENS[effort] ?? 2048) : 0;
    const completionTokens =
      (written.content ? tokens(written.content) : tokens(written.refusal ?? '')) + reasoningTokens;
    return {
      id: `chatcmpl-${randomHex(29)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: written.content, refusal: written.refusal, annotations: [] },
          logprobs: null,
          finish_reason: written.finishReason,
        },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: reasoningTokens,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_emulator',
    };
  }

  private responses(body: Record<string, unknown>, mode: OpenAIMode, effort: string | null): unknown {
    const instructions = typeof body.instructions === 'string' ? body.instructions : '';
    let conv: Conversation;
    if (typeof body.input === 'string') conv = { userText: body.input, allText: `${instructions}\n${body.input}` };
    else if (Array.isArray(body.input)) conv = fromMessages(body.input, instructions);
    else throw badRequest("Missing required parameter: 'input'.", 'input');

    const text = isRecord(body.text) ? body.text : undefined;
    const written = write(mode, conv, jsonSchemaOf(text?.format));
    const content: unknown[] = [];
    if (written.refusal !== null) content.push({ type: 'refusal', refusal: written.refusal });
    if (written.content !== null) {
      content.push({ type: 'output_text', text: written.content, annotations: [], logprobs: [] });
    }
    const incomplete =
      written.finishReason === 'length'
        ? { reason: 'max_output_tokens' }
        : written.finishReason === 'content_filter'
          ? { reason: 'content_filter' }
          : null;
    const status = incomplete ? 'incomplete' : 'completed';
    const inputTokens = tokens(conv.allText);
    const reasoningTokens = effort ? (REASONING_TOKENS[effort] ?? 2048) : 0;
    const outputTokens = tokens(written.content ?? written.refusal ?? '') + reasoningTokens;
    return {
      id: `resp_${randomHex(48)}`,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      status,
      background: false,
      error: null,
      incomplete_details: incomplete,
      instructions: instructions || null,
      max_output_tokens: typeof body.max_output_tokens === 'number' ? body.max_output_tokens : null,
      model: body.model,
      output: [{ id: `msg_${randomHex(48)}`, type: 'message', status, role: 'assistant', content }],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort, summary: null },
      store: true,
      temperature: typeof body.temperature === 'number' ? body.temperature : 1,
      text: { format: text?.format ?? { type: 'text' }, verbosity: 'medium' },
      tool_choice: 'auto',
      tools: [],
      top_p: 1,
      truncation: 'disabled',
      usage: {
        input_tokens: inputTokens,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: outputTokens,
        output_tokens_details: { reasoning_tokens: reasoningTokens },
        total_tokens: inputTokens + outputTokens,
      },
      user: null,
      metadata: {},
    };
  }
}
