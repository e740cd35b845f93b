/**
 * Keeping the bot token out of logs and messages. It is part of every Bot API URL
 * (`/bot<token>/sendMessage`), so any network error that quotes its URL — node-fetch's
 * "request to https://…/bot123:ABC/getUpdates failed" — would print it.
 */

export type Redact = (text: string) => string;

export const REDACTED = '<redacted>';

/** Replaces each secret (as written and URL-encoded) and the secret half of a bot token. */
export function redactor(secrets: readonly (string | undefined)[]): Redact {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (!s || s.length < 8) continue;
    needles.add(s);
    needles.add(encodeURIComponent(s));
    // The part after the colon is what makes a token a credential; it may appear on its own.
    const half = s.split(':')[1];
    if (half && half.length >= 8) needles.add(half);
  }
  const list = [...needles].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const n of list) if (out.includes(n)) out = out.split(n).join(REDACTED);
    return out;
  };
}

/** An error as one line, with its causes, redacted. */
export function describeError(err: unknown, redact: Redact): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      parts.push(cur.message);
      // grammY's HttpError keeps the fetch error in `error`, not `cause`.
      const inner = (cur as { error?: unknown }).error;
      cur = cur.cause ?? (inner instanceof Error ? inner : undefined);
    } else {
      parts.push(typeof cur === 'string' ? cur : JSON.stringify(cur));
      cur = undefined;
    }
  }
  return redact(parts.filter((p, i) => p && parts.indexOf(p) === i).join(': '));
}

/**
 * Redacts everything this process writes to stdout and stderr. Our own logs are redacted where
 * they are made; this also covers what libraries print on their own (grammY's `debug` output with
 * DEBUG=grammy*, Node's warnings, an unhandled rejection's dump), which we do not control.
 */
export function redactProcessOutput(redact: Redact): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = (chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string') return write(redact(chunk), ...rest);
      if (chunk instanceof Uint8Array) return write(redact(Buffer.from(chunk).toString('utf8')), ...rest);
      return write(chunk, ...rest);
    };
  }
}
