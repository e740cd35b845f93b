/**
 * Turns what the OpenAI and Replicate clients throw into failures from our catalogue, with a
 * message that says what to do. Auth and input errors are non-retryable (retrying a bad key only
 * burns time); 429 carries the provider's Retry-After into Temporal's next retry delay.
 */
import { APIError, APIConnectionError, APIUserAbortError } from 'openai';
import { failure } from '../shared/failures';
import type { ApplicationFailure } from '@temporalio/common';

/** Thrown by our Replicate fetch for 429 and 5xx, so the client's own tight retry loop never sees a response. */
export class ProviderHttpError extends Error {
  constructor(
    readonly provider: string,
    readonly status: number,
    readonly retryAfterSeconds: number | undefined,
    readonly body: string,
  ) {
    super(`${provider} answered ${status}${body ? `: ${body}` : ''}`);
    this.name = 'ProviderHttpError';
  }
}

/** Parses Retry-After (seconds or an HTTP date) into seconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Short excerpt of a provider's error body: enough to act on, never a whole HTML page. */
export function excerpt(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function httpFailure(
  provider: 'OpenAI' | 'Replicate',
  keyVar: string,
  status: number,
  detail: string,
  retryAfter?: number,
  code?: string,
): ApplicationFailure {
  const d = detail ? `: ${excerpt(detail)}` : '';
  if (status === 401 || status === 403) {
    return failure('ProviderAuth', `${keyVar} was rejected (${status}): check your .env${d}`);
  }
  if (status === 402 || code === 'insufficient_quota') {
    return failure('QuotaExceeded', `${provider} account is out of credit or quota (${status}): top it up${d}`);
  }
  if (status === 429) {
    return failure(
      'RateLimited',
      `${provider} rate limit (429); retrying after ${retryAfter ?? 'a backoff'}${retryAfter !== undefined ? ' s' : ''}`,
      retryAfter !== undefined ? { nextRetryDelayMs: Math.max(1, retryAfter) * 1000 } : {},
    );
  }
  if (status === 408 || status === 409 || status >= 500) {
    return failure('ProviderUnavailable', `${provider} is unavailable (${status}); will retry${d}`);
  }
  return failure('ProviderRejected', `${provider} refused the request (${status})${d}`);
}

export function fromOpenAIError(err: unknown): ApplicationFailure | undefined {
  if (err instanceof APIUserAbortError) return undefined; // cancellation: let it through as is
  if (err instanceof APIConnectionError) {
    return failure('ProviderUnavailable', `could not reach OpenAI: ${err.message}; will retry`);
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const retryAfter = parseRetryAfter((err.headers as Headers | undefined)?.get('retry-after'));
    const msg = (err.error as { message?: string } | undefined)?.message ?? '';
    return httpFailure('OpenAI', 'OPENAI_API_KEY', err.status, msg, retryAfter, err.code ?? undefined);
  }
  return undefined;
}

interface ReplicateApiErrorLike {
  name: string;
  message: string;
  response?: { status: number; headers: { get(name: string): string | null } };
}

function isReplicateApiError(err: unknown): err is ReplicateApiErrorLike {
  return err instanceof Error && err.name === 'ApiError' && 'response' in err;
}

/** The replicate client's ApiError message embeds the URL and body; keep only the body's detail. */
function replicateDetail(message: string): string {
  const body = message.replace(/^Request to \S+ failed with status \d+[^:]*: /, '').replace(/\.$/, '');
  try {
    const json = JSON.parse(body) as { detail?: unknown; title?: unknown };
    const detail = json.detail ?? json.title;
    return typeof detail === 'string' ? detail : body;
  } catch {
    return body;
  }
}

export function fromReplicateError(err: unknown): ApplicationFailure | undefined {
  if (err instanceof ProviderHttpError) {
    return httpFailure(
      'Replicate',
      'REPLICATE_API_TOKEN',
      err.status,
      replicateDetail(err.body),
      err.retryAfterSeconds,
    );
  }
  if (isReplicateApiError(err) && err.response) {
    const retryAfter = parseRetryAfter(err.response.headers.get('retry-after'));
    return httpFailure(
      'Replicate',
      'REPLICATE_API_TOKEN',
      err.response.status,
      replicateDetail(err.message),
      retryAfter,
    );
  }
  if (err instanceof TypeError && /fetch failed|network|ECONN|socket/i.test(`${err.message} ${String(err.cause)}`)) {
    return failure(
      'ProviderUnavailable',
      `could not reach Replicate: ${err.cause instanceof Error ? err.cause.message : err.message}; will retry`,
    );
  }
  return undefined;
}

/** The Retry-After a provider error carried, in ms (0 when none): a wait to honour before asking again. */
export function retryAfterMsOf(err: unknown): number {
  if (err instanceof ProviderHttpError) return (err.retryAfterSeconds ?? 0) * 1000;
  if (isReplicateApiError(err) && err.response) {
    return (parseRetryAfter(err.response.headers.get('retry-after')) ?? 0) * 1000;
  }
  return 0;
}
