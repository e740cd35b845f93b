/**
 * Fetching a provider's output URL without trusting it: the first URL and every redirect must pass
 * the download policy (allowed hosts, https except for the local emulators), redirects are followed
 * by hand (`redirect: 'follow'` would let an allowed host bounce us to any host or scheme) and
 * bounded. One implementation for clips and keyframes.
 */
import { failure } from '../shared/failures';
import { checkUrl, isLoopback, redactUrl } from './download-policy';
import type { DownloadPolicy } from './download-policy';

export interface GuardedFetch {
  /** Where the download is for, in messages: `scene 2/3`, `keyframe 1/4`. */
  tag: string;
  url: string;
  policy: Pick<DownloadPolicy, 'allowedHosts'>;
  maxRedirects: number;
  fetch: typeof globalThis.fetch;
  signal: AbortSignal;
  onRedirect?: (to: URL) => void;
}

/** A refusal: the URL (or a redirect) breaks the policy; retrying cannot change that. */
export function refusal(tag: string, reason: string) {
  return failure('DownloadRefused', `${tag}: download refused: ${reason}`);
}

/** fetch's TypeError says only "fetch failed"; the reason (ECONNREFUSED, reset, TLS) is in its cause. */
export function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}

/**
 * The response after redirects, and the URL it came from. A network error is a (retryable)
 * DownloadFailed; a URL or redirect against the policy is a DownloadRefused.
 */
export async function guardedFetch(o: GuardedFetch): Promise<{ res: Response; url: URL }> {
  const refuse = (reason: string) => refusal(o.tag, reason);
  const first = checkUrl(o.url, o.policy);
  if (!first.ok) throw refuse(first.reason);
  let url = first.url;
  for (let hop = 0; ; hop++) {
    let res: Response;
    try {
      res = await o.fetch(url, { signal: o.signal, redirect: 'manual' });
    } catch (err) {
      if (o.signal.aborted) throw err;
      throw failure('DownloadFailed', `${o.tag}: download failed: ${describeNetworkError(err)}`);
    }
    if (![301, 302, 303, 307, 308].includes(res.status)) return { res, url };
    await res.body?.cancel().catch(() => undefined);
    const location = res.headers.get('location');
    if (!location) throw refuse(`a ${res.status} redirect without a Location from ${redactUrl(url)}`);
    if (hop >= o.maxRedirects) throw refuse(`more than ${o.maxRedirects} redirects (last from ${redactUrl(url)})`);
    let target: URL;
    try {
      target = new URL(location, url);
    } catch {
      throw refuse(`a redirect from ${redactUrl(url)} to something that is not a URL`);
    }
    // http is for the local emulators only; an https page may never downgrade to it.
    if (target.protocol === 'http:' && url.protocol === 'https:' && isLoopback(target.hostname)) {
      throw refuse(`a redirect from https to plain http: ${redactUrl(target)}`);
    }
    const next = checkUrl(target, o.policy);
    if (!next.ok) throw refuse(`redirect ${hop + 1}: ${next.reason}`);
    o.onRedirect?.(next.url);
    url = next.url;
  }
}
