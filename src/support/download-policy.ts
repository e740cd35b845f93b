/**
 * What the download activity may fetch. The URL comes from a provider's answer (and, through the
 * workflow's history, from anyone who can start a run), so the worker must not fetch whatever it
 * is told: that would let a URL read internal services (SSRF), fill the disk, or feed ffmpeg a web
 * page. Pure functions only, so every rule is unit-testable without a network.
 *
 * Rules: `https` anywhere on the allow-list, `http` only to loopback (the local emulators); no
 * credentials in the URL; a host allow-list (exact names or `*.suffix`); a size cap; a content
 * type that is a video or opaque bytes; at most `maxRedirects` hops, each checked like the first.
 */

export interface DownloadPolicy {
  /** Lower-case host names, or `*.example.com` for any subdomain of example.com (not itself). */
  allowedHosts: readonly string[];
  maxBytes: number;
  maxRedirects: number;
}

const MB = 1024 * 1024;
export const DEFAULT_MAX_BYTES = 500 * MB;
export const DEFAULT_MAX_REDIRECTS = 5;
/** Where Replicate serves prediction outputs (`https://replicate.delivery/...`, `https://pbxt.replicate.delivery/...`). */
export const REPLICATE_DELIVERY_HOSTS: readonly string[] = ['replicate.delivery', '*.replicate.delivery'];

/** Normalises a host for comparison: lower case, no trailing dot (`Replicate.Delivery.` is the same host). */
function normHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * Replicate's delivery hosts, plus the host of `REPLICATE_BASE_URL` when set: a self-hosted or
 * emulated Replicate serves its files from where its API is.
 */
export function defaultPolicy(replicateBaseUrl?: string): DownloadPolicy {
  const hosts = [...REPLICATE_DELIVERY_HOSTS];
  if (replicateBaseUrl) {
    try {
      hosts.push(normHost(new URL(replicateBaseUrl).hostname));
    } catch {
      // config validation already refuses a non-URL; nothing to add
    }
  }
  return { allowedHosts: hosts, maxBytes: DEFAULT_MAX_BYTES, maxRedirects: DEFAULT_MAX_REDIRECTS };
}

/** `VIDFLOW_DOWNLOAD_HOSTS=a.com, *.b.com` → `['a.com', '*.b.com']` (empty items dropped). */
export function parseHostList(text: string): string[] {
  return text
    .split(',')
    .map(normHost)
    .filter((h) => h.length > 0);
}

/** 127.0.0.0/8, ::1 and `localhost`: the only places plain http may go (the emulators). */
export function isLoopback(hostname: string): boolean {
  const h = normHost(hostname);
  return h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function hostAllowed(hostname: string, allowed: readonly string[]): boolean {
  const h = normHost(hostname);
  return allowed.some((entry) => {
    const e = normHost(entry);
    if (e.startsWith('*.')) return h.endsWith(e.slice(1)) && h.length > e.length - 1;
    return h === e;
  });
}

/**
 * A URL as it may appear in a message or log: origin and path only. Signed delivery URLs carry
 * their token in the query string, and userinfo is a password, so both are dropped.
 */
export function redactUrl(url: string | URL): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/** Decides whether `url` (the first one or a redirect's target) may be fetched. */
export function checkUrl(url: string | URL, policy: Pick<DownloadPolicy, 'allowedHosts'>): UrlCheck {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    // The text itself is not echoed: a malformed signed URL still carries its token.
    return { ok: false, reason: 'not a URL' };
  }
  const shown = redactUrl(u);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    return { ok: false, reason: `scheme ${u.protocol} is not allowed (https only): ${shown}` };
  }
  if (u.protocol === 'http:' && !isLoopback(u.hostname)) {
    return { ok: false, reason: `plain http is allowed only to loopback (https only): ${shown}` };
  }
  if (u.username || u.password) {
    return { ok: false, reason: `the URL carries credentials: ${shown}` };
  }
  if (!hostAllowed(u.hostname, policy.allowedHosts)) {
    return {
      ok: false,
      reason: `host ${u.hostname} is not on the download allow-list (${policy.allowedHosts.join(', ')}; set VIDFLOW_DOWNLOAD_HOSTS): ${shown}`,
    };
  }
  return { ok: true, url: u };
}

/** A reason to refuse the response's Content-Type, or undefined when it is a video or opaque bytes. */
export function checkContentType(contentType: string | null): string | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type.startsWith('video/') || type === 'application/octet-stream') return undefined;
  return `content type ${type ? `"${type.slice(0, 100)}"` : '(none)'} is not a video (expected video/* or application/octet-stream)`;
}

/** `500 MB` for caps a person sets; plain bytes below a megabyte (tests use tiny caps). */
export function formatBytes(n: number): string {
  return n >= MB ? `${(n / MB).toFixed(0)} MB` : `${n} bytes`;
}

/** A reason to refuse a declared Content-Length over the cap, or undefined. */
export function checkContentLength(contentLength: string | null, maxBytes: number): string | undefined {
  if (contentLength === null) return undefined;
  const total = Number(contentLength);
  if (!Number.isFinite(total) || total <= maxBytes) return undefined;
  return `the clip is ${formatBytes(total)} (Content-Length), over the ${formatBytes(maxBytes)} cap`;
}
