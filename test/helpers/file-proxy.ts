/**
 * A fault-injecting HTTP proxy in front of the Replicate emulator, for what the emulator cannot
 * serve itself: a 403 from a proxy on the way, a body cut short after the URL worked, a clip far
 * shorter than asked. The worker talks to the proxy (REPLICATE_BASE_URL = proxy.replicateBaseUrl);
 * API answers are passed through with the emulator's address rewritten to the proxy's, so the
 * output URLs the worker downloads lead here too, where `rule` decides each file request.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What one file request gets. */
export type FileAction =
  | { kind: 'pass' }
  | { kind: 'status'; status: number }
  /** Headers promise the whole clip; half the body comes, then the connection drops. */
  | { kind: 'truncate' }
  /** These bytes instead of the clip (a valid MP4 of the wrong length, say). */
  | { kind: 'body'; body: Buffer };

export interface FileRequest {
  predictionId: string;
  /** 1 for the first request for this prediction's file, 2 for the next, … */
  nth: number;
}

export interface FileProxy {
  replicateBaseUrl: string;
  /** Decides each file request; default: pass it through. */
  rule: (req: FileRequest) => FileAction | Promise<FileAction>;
  /** Every file request and what it got, in order. */
  served: (FileRequest & { action: FileAction['kind'] })[];
  close(): Promise<void>;
}

const FILE = /^\/replicate\/files\/([a-z0-9]+)\/output\.mp4$/;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the proxy in front of the emulator whose API is at `emulatorReplicateBaseUrl`. */
export async function startFileProxy(emulatorReplicateBaseUrl: string): Promise<FileProxy> {
  const upstream = new URL(emulatorReplicateBaseUrl).origin;
  const counts = new Map<string, number>();
  let own = '';

  const forward = async (req: IncomingMessage): Promise<Response> => {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers.set(k, v);
    }
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
    return fetch(`${upstream}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, body, redirect: 'manual' });
  };

  const send = (res: ServerResponse, status: number, headers: Headers, body: Buffer) => {
    const out: Record<string, string> = {};
    headers.forEach((v, k) => {
      if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
    });
    res.writeHead(status, { ...out, 'content-length': String(body.length) });
    res.end(body);
  };

  const proxy: FileProxy = {
    replicateBaseUrl: '',
    rule: () => ({ kind: 'pass' }),
    served: [],
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const file = FILE.exec(path);
    if (file?.[1]) {
      const predictionId = file[1];
      const nth = (counts.get(predictionId) ?? 0) + 1;
      counts.set(predictionId, nth);
      const action = await proxy.rule({ predictionId, nth });
      proxy.served.push({ predictionId, nth, action: action.kind });
      if (action.kind === 'status') {
        res.writeHead(action.status, { 'content-type': 'text/plain' });
        res.end(`${action.status} from the test proxy`);
        return;
      }
      if (action.kind === 'body') {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(action.body.length) });
        res.end(action.body);
        return;
      }
      const up = await forward(req);
      const body = Buffer.from(await up.arrayBuffer());
      if (action.kind === 'truncate' && up.status === 200) {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(body.length) });
        // The drop comes a moment after the half body, as from a connection that stalls and
        // resets: at once, the client may drop the bytes it has not handed on yet.
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.destroy(), 300));
        return;
      }
      send(res, up.status, up.headers, body);
      return;
    }
    const up = await forward(req);
    let body = Buffer.from(await up.arrayBuffer());
    if ((up.headers.get('content-type') ?? '').includes('json')) {
      body = Buffer.from(body.toString('utf8').split(upstream).join(own));
    }
    send(res, up.status, up.headers, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  own = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.replicateBaseUrl = `${own}/replicate/v1`;
  return proxy;
}
