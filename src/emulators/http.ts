/**
 * Small HTTP helpers shared by the emulators. Node built-ins only, so the emulators start in a
 * few milliseconds and can run in any test process or as a separate one.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }

  withHeaders(headers: Record<string, string>): HttpError {
    return new HttpError(this.status, this.body, { ...this.headers, ...headers });
  }
}

/** Bodies above this are refused: nothing we emulate takes more, and a runaway client must not eat memory. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, { detail: 'Request body too large' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON body; `onError` builds the provider-specific 400 body. */
export async function readJson(req: IncomingMessage, onError: (message: string) => HttpError): Promise<unknown> {
  const text = await readBody(req);
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw onError(`We could not parse the JSON body of your request. (${(err as Error).message})`);
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/**
 * Masks a secret the way OpenAI does in its 401 message (first 3 and last 4 characters). Short
 * secrets are masked entirely, because 3+4 visible characters of an 8-character key is the key.
 */
export function maskSecret(secret: string): string {
  if (secret.length < 12) return '*'.repeat(Math.max(secret.length, 3));
  return `${secret.slice(0, 3)}${'*'.repeat(secret.length - 7)}${secret.slice(-4)}`;
}

/** `Authorization: Bearer <x>` (case-insensitive scheme), or undefined when absent or another scheme. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  const token = match?.[1]?.trim();
  return token ? token : undefined;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Lowercase alphanumeric id like Replicate's (`gm3qorzdhgbfurvjtvhg6dckhu`). */
export function randomId(length = 26): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

export function randomHex(length: number): string {
  return randomBytes(Math.ceil(length / 2))
    .toString('hex')
    .slice(0, length);
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/**
 * Parses Replicate's `Cancel-After` value: Go-style durations (`30s`, `5m`, `1h30m`, `250ms`,
 * `1.5h`) or a bare number of seconds. Returns milliseconds, or undefined if it is not a duration.
 */
export function parseDurationMs(value: string): number | undefined {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 1e-6 };
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(v)) !== null) {
    total += Number(m[1]) * (unitMs[m[2] ?? ''] ?? 0);
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== v.length) return undefined;
  return Math.round(total);
}

/** JSON.stringify with sorted object keys, so two equal inputs give the same key whatever their key order. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Destroys the connection without an HTTP response: what a client sees when the network drops. */
export function dropConnection(req: IncomingMessage, res: ServerResponse): void {
  res.socket?.destroy();
  req.socket.destroy();
}
