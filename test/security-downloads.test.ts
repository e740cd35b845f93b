/**
 * The download activity fetches only what its policy allows. A tiny HTTP server on loopback
 * serves a real MP4 and every kind of bad answer; each refusal must be a non-retryable
 * DownloadRefused that says why, never echoes the URL's query string (signed URLs carry tokens),
 * and leaves no file behind. Plus the pure policy functions, on names that try to trick them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDownloadActivities } from '../src/activities/download';
import type { DownloadDeps } from '../src/activities/download';
import { checkContentType, checkUrl, defaultPolicy, parseHostList } from '../src/support/download-policy';
import { runWorkDir } from '../src/support/paths';
import { EnvSchema } from '../src/config';
import { makeTestClip } from '../src/media/testclip';
import type { ClipFile, DownloadClipInput } from '../src/shared/schemas';
import { harness } from './helpers/activity-env';
import { expectFailure } from './helpers/failures';

const TOKEN = 'sig-TOPSECRET-token-42';
let server: Server;
let base: string;
let root: string;
let clip: Buffer;
const hits = new Map<string, number>();

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vidflow-sec-dl-'));
  clip = await readFile(await makeTestClip({ path: join(root, 'src.mp4'), seconds: 1, width: 160, height: 90 }));
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const redirect = (to: string) => {
      res.writeHead(302, { location: to });
      res.end();
    };
    switch (path) {
      case '/clip.mp4':
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(clip.length) });
        res.end(clip);
        return;
      case '/octet':
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(clip.length) });
        res.end(clip);
        return;
      case '/to-clip':
        return redirect(`/clip.mp4?${TOKEN}`);
      case '/to-evil':
        return redirect(`https://evil.example.com/steal.mp4?${TOKEN}`);
      case '/to-http':
        return redirect(`http://example.com/clip.mp4?${TOKEN}`);
      case '/to-file':
        return redirect('file:///etc/passwd');
      case '/loop':
        return redirect(`/loop?${TOKEN}`);
      case '/html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<html><body>sign in</body></html>');
        return;
      case '/untyped':
        // No Content-Type at all: a server that will not say what it sends is not trusted to send a video.
        res.removeHeader('content-type');
        res.writeHead(200, { 'content-length': String(clip.length) });
        res.end(clip);
        return;
      case '/huge':
        // Declares 2 GB, sends a little and then nothing: the refusal must come from the header.
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(2 * 1024 ** 3) });
        res.write(clip.subarray(0, 1024));
        return;
      case '/endless': {
        // Chunked, no Content-Length, never ends on its own: only the streaming cap stops it.
        res.writeHead(200, { 'content-type': 'video/mp4' });
        const chunk = Buffer.alloc(64 * 1024, 7);
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
        return;
      }
      default:
        res.writeHead(404);
        res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

let caseNo = 0;
const WORKFLOW_ID = 'sec-dl';

interface Case {
  workDir: string;
  run(url: string, deps?: Partial<DownloadDeps>): Promise<ClipFile>;
  logs(): string;
  leftovers(): Promise<string[]>;
}

function newCase(): Case {
  const workDir = join(root, `case-${++caseNo}`);
  const h = harness();
  return {
    workDir,
    run(url, deps = {}) {
      const acts = createDownloadActivities({ workDir, allowedHosts: ['127.0.0.1'], ...deps });
      const input: DownloadClipInput = { workflowId: WORKFLOW_ID, sceneIndex: 1, sceneCount: 1, url };
      return h.run((i: DownloadClipInput) => acts.downloadClip(i), input);
    },
    logs: () => h.messages().join('\n'),
    leftovers: () => readdir(runWorkDir(workDir, WORKFLOW_ID)).catch(() => []),
  };
}

/** Runs a download that must be refused; checks the failure's type, flag, reason and secrecy. */
async function refused(url: string, reason: RegExp, deps: Partial<DownloadDeps> = {}): Promise<string> {
  const c = newCase();
  const err = await expectFailure(c.run(url, deps), 'DownloadRefused');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /download refused/);
  assert.match(err.message, reason);
  assert.ok(!err.message.includes(TOKEN), `the query string is redacted: ${err.message}`);
  assert.ok(!c.logs().includes(TOKEN), 'nor logged');
  assert.deepEqual(await c.leftovers(), [], 'no file left');
  return err.message;
}

test('control: an allowed loopback URL with a video answer is downloaded (also via one redirect)', async () => {
  const direct = await newCase().run(`${base}/clip.mp4?${TOKEN}`);
  assert.equal(direct.sizeBytes, clip.length);
  const viaRedirect = await newCase().run(`${base}/to-clip`);
  assert.equal(viaRedirect.sizeBytes, clip.length);
  const octet = await newCase().run(`${base}/octet`);
  assert.equal(octet.width, 160);
});

test('a host not on the allow-list is refused before any request', async () => {
  let fetched = false;
  const spy: typeof fetch = () => {
    fetched = true;
    return Promise.reject(new Error('must not fetch'));
  };
  await refused(
    `https://evil.example.com/x.mp4?${TOKEN}`,
    /host evil\.example\.com is not on the download allow-list/,
    {
      fetch: spy,
    },
  );
  assert.equal(fetched, false);
  // Loopback is not implicitly trusted once an allow-list is given.
  await refused(`${base}/clip.mp4?${TOKEN}`, /host 127\.0\.0\.1 is not on the download allow-list/, {
    allowedHosts: ['replicate.delivery', '*.replicate.delivery'],
  });
});

test('a redirect to a host not on the allow-list is refused, not followed', async () => {
  const before = hits.get('/to-evil') ?? 0;
  await refused(`${base}/to-evil`, /redirect 1: host evil\.example\.com is not on the download allow-list/);
  assert.equal(hits.get('/to-evil'), before + 1);
});

test('a redirect to plain http on a non-loopback host is refused', async () => {
  await refused(`${base}/to-http`, /redirect 1: plain http is allowed only to loopback/, {
    allowedHosts: ['127.0.0.1', 'example.com'],
  });
});

test('a redirect to file: is refused', async () => {
  await refused(`${base}/to-file`, /redirect 1: scheme file: is not allowed/);
});

test('more than 5 redirects are refused; the server sees at most 6 requests', async () => {
  const before = hits.get('/loop') ?? 0;
  await refused(`${base}/loop`, /more than 5 redirects/);
  assert.equal((hits.get('/loop') ?? 0) - before, 6);
});

test('text/html is refused (a login page is not a clip)', async () => {
  await refused(`${base}/html?${TOKEN}`, /content type "text\/html" is not a video/);
});

test('an answer without a Content-Type is refused', async () => {
  await refused(`${base}/untyped`, /content type \(none\) is not a video/);
});

test('a Content-Length over the cap is refused from the header, before the body is read', async () => {
  const c = newCase();
  const err = await expectFailure(c.run(`${base}/huge?${TOKEN}`), 'DownloadRefused');
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, /the clip is 2048 MB \(Content-Length\), over the 500 MB cap/);
  assert.ok(!err.message.includes(TOKEN));
  assert.deepEqual(await c.leftovers(), [], 'no temp file: nothing was written');
});

test('a body without Content-Length that streams past the cap is cut off at the cap', async () => {
  const msg = await refused(`${base}/endless?${TOKEN}`, /the clip is over the 262144 bytes cap/, {
    maxBytes: 256 * 1024,
  });
  const stopped = Number(/stopped at (\d+) bytes/.exec(msg)?.[1]);
  assert.ok(stopped > 256 * 1024 && stopped <= 256 * 1024 + 64 * 1024, `stopped right past the cap: ${stopped}`);
});

test('policy: default hosts, wildcards, look-alikes, trailing dots, credentials and schemes', () => {
  const p = defaultPolicy();
  assert.deepEqual(p.allowedHosts, ['replicate.delivery', '*.replicate.delivery']);
  assert.equal(p.maxBytes, 500 * 1024 * 1024);
  assert.equal(p.maxRedirects, 5);
  const ok = (u: string, pol = p) => checkUrl(u, pol).ok;
  assert.equal(ok('https://replicate.delivery/a/output.mp4'), true);
  assert.equal(ok('https://pbxt.replicate.delivery/a/output.mp4'), true);
  assert.equal(ok('https://PBXT.Replicate.Delivery./a/output.mp4'), true);
  assert.equal(ok('https://evilreplicate.delivery/a.mp4'), false);
  assert.equal(ok('https://replicate.delivery.evil.com/a.mp4'), false);
  assert.equal(ok('http://replicate.delivery/a.mp4'), false, 'http only to loopback');
  assert.equal(ok('https://user:pw@replicate.delivery/a.mp4'), false);
  assert.equal(ok('ftp://replicate.delivery/a.mp4'), false);
  assert.equal(ok('http://127.0.0.1/a.mp4'), false, 'loopback is not in the production default');
  // The emulators: REPLICATE_BASE_URL's host joins the default.
  const emu = defaultPolicy('http://127.0.0.1:4567/replicate/v1');
  assert.equal(ok('http://127.0.0.1:4567/replicate/files/x/output.mp4', emu), true);
  assert.equal(ok('http://169.254.169.254/latest/meta-data', emu), false);
  const bad = checkUrl(`https://replicate.delivery.evil.com/a.mp4?${TOKEN}`, p);
  assert.ok(!bad.ok && !bad.reason.includes(TOKEN), 'reasons are redacted');
  const notUrl = checkUrl(`::${TOKEN}`, p);
  assert.ok(!notUrl.ok && !notUrl.reason.includes(TOKEN), 'a malformed URL is not echoed');

  assert.deepEqual(parseHostList(' a.com, *.B.com ,, '), ['a.com', '*.b.com']);
  assert.equal(checkContentType('video/mp4'), undefined);
  assert.equal(checkContentType('application/octet-stream'), undefined);
  assert.match(checkContentType('application/json') ?? '', /not a video/);
});

test('config: VIDFLOW_DOWNLOAD_HOSTS is optional, VIDFLOW_MAX_DOWNLOAD_MB defaults to 500 and must be positive', () => {
  const d = EnvSchema.parse({});
  assert.equal(d.VIDFLOW_DOWNLOAD_HOSTS, undefined);
  assert.equal(d.VIDFLOW_MAX_DOWNLOAD_MB, 500);
  const set = EnvSchema.parse({ VIDFLOW_DOWNLOAD_HOSTS: 'cdn.example.com', VIDFLOW_MAX_DOWNLOAD_MB: '50' });
  assert.equal(set.VIDFLOW_DOWNLOAD_HOSTS, 'cdn.example.com');
  assert.equal(set.VIDFLOW_MAX_DOWNLOAD_MB, 50);
  assert.equal(EnvSchema.safeParse({ VIDFLOW_MAX_DOWNLOAD_MB: '0' }).success, false);
});
