/**
 * The worker's start check of REPLICATE_API_TOKEN: one cheap authenticated read (`GET /account`,
 * which costs nothing) before any run is taken. A refused token stops the worker with the advice
 * of the seed's troubleshooting guide (prefix `r8_`, no spaces, copied whole): otherwise every run
 * would fail at its first paid step, after a person approved it. An unreachable Replicate does not
 * stop the worker (an outage passes, and runs wait and retry), but it is said after a few tries,
 * with what was tried, so nobody watches a run retry without knowing the token was never checked.
 */
import type { Config } from '../config';
import { excerpt } from './errors';

export const DEFAULT_REPLICATE_API = 'https://api.replicate.com/v1';

export class ReplicateTokenRefused extends Error {
  override name = 'ReplicateTokenRefused';
}

export interface TokenCheckOptions {
  attempts?: number;
  /** Per request. */
  timeoutMs?: number;
  /** Before the 2nd, 3rd … attempt. */
  backoffMs?: number;
  fetch?: typeof globalThis.fetch;
}

/** What is wrong with a token's shape, as far as can be seen without showing it. */
function shapeHints(token: string): string[] {
  const hints = [
    token.startsWith('r8_')
      ? '- it starts with r8_ (yours does)'
      : '- it starts with r8_ (yours does NOT: copy the token itself, not its name or a label)',
    /\s/.test(token)
      ? '- it has no spaces, quotes or line breaks (yours HAS whitespace inside)'
      : /^["']|["']$/.test(token)
        ? '- it has no quotes around it (yours HAS)'
        : '- it has no spaces or quotes before, after or inside it',
    token.length < 40
      ? `- it is copied whole, not cut (yours is ${token.length} characters; Replicate's are usually 40)`
      : '- it is copied whole, not cut',
  ];
  return hints;
}

export function refusedAdvice(token: string, status: number, url: string): string {
  return [
    `REPLICATE_API_TOKEN was refused by Replicate (${status} on GET ${url}). Check it in .env or the environment:`,
    ...shapeHints(token).map((h) => `  ${h}`),
    'Copy it again from https://replicate.com/account/api-tokens; the worker did not start.',
  ].join('\n');
}

/**
 * Resolves 'ok' when Replicate accepts the token, 'unreachable' (after logging what was tried)
 * when it cannot be asked; throws ReplicateTokenRefused when it says the token is not valid.
 */
export async function checkReplicateToken(
  cfg: Pick<Config, 'REPLICATE_API_TOKEN' | 'REPLICATE_BASE_URL'>,
  log: (line: string) => void,
  opts: TokenCheckOptions = {},
): Promise<'ok' | 'unreachable'> {
  const token = cfg.REPLICATE_API_TOKEN ?? '';
  const url = `${(cfg.REPLICATE_BASE_URL ?? DEFAULT_REPLICATE_API).replace(/\/+$/, '')}/account`;
  const attempts = opts.attempts ?? 3;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const started = Date.now();
  const tried: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 1000) * (attempt - 1)));
    try {
      const res = await doFetch(url, {
        headers: { authorization: `Bearer ${token}`, 'user-agent': 'vidflow/0.1' },
        signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
      });
      const body = await res.text().catch(() => '');
      if (res.ok) {
        const name = (() => {
          try {
            return (JSON.parse(body) as { username?: unknown }).username;
          } catch {
            return undefined;
          }
        })();
        log(`Replicate token verified${typeof name === 'string' ? ` (account ${name})` : ''}`);
        return 'ok';
      }
      if (res.status === 401 || res.status === 403)
        throw new ReplicateTokenRefused(refusedAdvice(token, res.status, url));
      tried.push(`${res.status}${body ? ` ${excerpt(body, 120)}` : ''}`);
      // Any other 4xx will not change by asking again (a wrong REPLICATE_BASE_URL, most likely).
      if (res.status < 500 && res.status !== 429) break;
    } catch (err) {
      if (err instanceof ReplicateTokenRefused) throw err;
      const e = err as Error & { cause?: { code?: string; message?: string } };
      tried.push(
        e.name === 'TimeoutError'
          ? `no answer in ${(opts.timeoutMs ?? 5000) / 1000} s`
          : (e.cause?.code ?? e.cause?.message ?? e.message),
      );
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  log(
    `warning: Replicate could not be asked whether REPLICATE_API_TOKEN is valid: GET ${url} failed ${tried.length} time${tried.length > 1 ? 's' : ''} in ${seconds} s (${tried.join('; ')}). ` +
      `The worker starts anyway and generations retry until Replicate answers; check the network, a proxy, or REPLICATE_BASE_URL.`,
  );
  return 'unreachable';
}
