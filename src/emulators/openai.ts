/**
 * Emulator of the two OpenAI endpoints vidflow's planner may use: `POST /chat/completions` and
 * `POST /responses`, with OpenAI's JSON shapes and error bodies, so the real `openai` client
 * (parse helpers, error classes, retry logic) runs unchanged against it.
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
  /** Every request that reached an endpoint, including refused ones. */
  requests: number;
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
    chatCompletions: 0,
    responses: 0,
    unauthorized: 0,
    lastPath: null,
    lastBody: null,
    modesServed: [],
  };
}

const REFUSAL = "I'm sorry, but I can't help with that request.";

function openaiError(
  status: number,
  message: string,
  type: string,
  code: string | null,
  headers: Record<string, string> = {},
): HttpError {
  return new HttpError(status, { error: { message, type, param: null, code } }, headers);
}

function badRequest(message: string, param: string | null = null): HttpError {
  return new HttpError(400, { error: { message, type: 'invalid_request_error', param, code: null } });
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
    if (body.stream === true) throw badRequest('Streaming is not supported by the vidflow OpenAI emulator.', 'stream');

    const answer = endpoint === 'chat' ? this.chat(body, mode) : this.responses(body, mode);
    sendJson(res, 200, answer, { 'x-request-id': requestId, 'openai-processing-ms': String(this.config.latencyMs) });
  }

  private checkAuth(req: IncomingMessage, mode: OpenAIMode): void {
    const key = bearerToken(req);
    if (!key) {
      this.state.unauthorized++;
      throw openaiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        'invalid_request_error',
        null,
      );
    }
    if (mode === 'unauthorized' || key === this.config.rejectKey) {
      this.state.unauthorized++;
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

  private chat(body: Record<string, unknown>, mode: OpenAIMode): unknown {
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw badRequest("Missing required parameter: 'messages'.", 'messages');
    }
    const conv = fromMessages(body.messages);
    const written = write(mode, conv, jsonSchemaOf(body.response_format));
    const promptTokens = tokens(conv.allText);
    const completionTokens = written.content ? tokens(written.content) : tokens(written.refusal ?? '');
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
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_emulator',
    };
  }

  private responses(body: Record<string, unknown>, mode: OpenAIMode): unknown {
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
    const outputTokens = tokens(written.content ?? written.refusal ?? '');
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
      reasoning: { effort: null, summary: null },
      store: true,
      temperature: 1,
      text: { format: text?.format ?? { type: 'text' }, verbosity: 'medium' },
      tool_choice: 'auto',
      tools: [],
      top_p: 1,
      truncation: 'disabled',
      usage: {
        input_tokens: inputTokens,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: outputTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: inputTokens + outputTokens,
      },
      user: null,
      metadata: {},
    };
  }
}
