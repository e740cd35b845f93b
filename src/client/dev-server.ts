/**
 * The local Temporal dev server for `vidflow run` and `vidflow server`: the real Temporal CLI's
 * `server start-dev` with a SQLite file in a project-local folder (runs survive a restart) and
 * the Web UI on 8233. Started detached, so the Web UI stays up after `vidflow run` ends;
 * `vidflow server stop` stops it.
 */
import { Connection } from '@temporalio/client';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { VIDEO_STAGE, VIDFLOW_CHAT } from '../shared/names';
import { findTemporalBinary, installHint } from './temporal-binary';

export const STATE_DIR = resolve(process.env.VIDFLOW_STATE_DIR ?? '.vidflow');
const PID_FILE = resolve(STATE_DIR, 'dev-server.pid');

/**
 * False at once when nothing listens at `address` (connection refused); the SDK's connect would
 * retry until its timeout, seconds a first `vidflow run` spends before it starts the dev server.
 */
function tcpListens(address: string, timeoutMs: number): Promise<boolean> {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (!m) return Promise.resolve(true); // not host:port: let the SDK judge it
  return new Promise((resolve) => {
    const socket = createConnection({ host: m[1], port: Number(m[2]) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(true));
    socket.once('connect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED'));
  });
}

/** True when a Temporal frontend answers at `address` within `timeoutMs`. */
export async function serverAnswers(address: string, timeoutMs = 2000): Promise<boolean> {
  if (!(await tcpListens(address, timeoutMs))) return false;
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

async function waitUntilAnswers(address: string, totalMs: number): Promise<boolean> {
  const until = Date.now() + totalMs;
  while (Date.now() < until) {
    if (await serverAnswers(address, 1000)) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** Undefined when the server lives on after this process (detached). */
  stop?: () => Promise<void>;
  how: string;
  /** The server's process, when it is a child of this one (benches count its CPU). */
  pid?: number | undefined;
}

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  dbFile?: string;
  /** SQLite in memory instead of a file (runs die with the server): benches that measure the server. */
  inMemory?: boolean;
  /** Keep running after this process exits (the default for `vidflow run`). */
  detached?: boolean;
  log?: (line: string) => void;
  /** Dynamic config values (`KEY=JSON`), for benches that try the server's settings. */
  dynamicConfig?: string[];
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  const log = opts.log ?? (() => undefined);
  mkdirSync(STATE_DIR, { recursive: true });
  const dbFile = resolve(opts.dbFile ?? resolve(STATE_DIR, 'temporal.db'));
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://localhost:${uiPort}`;

  const bin = findTemporalBinary('cli', { install: true, log });
  if (bin) {
    const args = [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      ...(opts.inMemory ? [] : ['--db-filename', dbFile]),
      '--search-attribute',
      `${VIDEO_STAGE.name}=Keyword`,
      '--search-attribute',
      `${VIDFLOW_CHAT.name}=Keyword`,
      '--log-level',
      'warn',
      ...(opts.dynamicConfig ?? []).flatMap((kv) => ['--dynamic-config-value', kv]),
    ];
    const logFile = resolve(STATE_DIR, 'dev-server.log');
    const out = openSync(logFile, 'a');
    const child = spawn(bin.path, args, { detached: opts.detached ?? true, stdio: ['ignore', out, out] });
    closeSync(out);
    if (opts.detached ?? true) {
      child.unref();
      writeFileSync(PID_FILE, String(child.pid));
    }
    log(
      `starting the Temporal dev server (${bin.path}, from ${bin.source}); database ${opts.inMemory ? 'in memory' : dbFile}, log ${logFile}`,
    );
    if (!(await waitUntilAnswers(address, 30_000))) {
      child.kill('SIGKILL');
      throw new Error(`the Temporal dev server did not answer on ${address} within 30 s; see ${logFile}`);
    }
    const exited = new Promise((r) => child.once('exit', r));
    // Idempotent: a second stop (or one after the server died) must not wait for an exit already past.
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    };
    return {
      address,
      uiUrl,
      how: `${bin.path} (${bin.source})`,
      pid: child.pid,
      ...((opts.detached ?? true) ? {} : { stop }),
    };
  }

  // No binary here: let the SDK download the CLI (needs internet). It lives inside this process.
  log('no Temporal CLI found locally; asking the Temporal SDK to download it …');
  try {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: { ip: '127.0.0.1', port, uiPort, dbFilename: dbFile, searchAttributes: [VIDEO_STAGE, VIDFLOW_CHAT] },
    });
    return { address, uiUrl, how: 'downloaded by the Temporal SDK', stop: () => env.teardown() };
  } catch (err) {
    throw new Error(`${installHint('cli')}\n(SDK download failed: ${(err as Error).message})`, { cause: err });
  }
}

/** Stops a detached dev server started by `vidflow run` / `vidflow server --detach`. */
export function stopDevServer(): boolean {
  if (!existsSync(PID_FILE)) return false;
  const pid = Number(readFileSync(PID_FILE, 'utf8'));
  rmSync(PID_FILE, { force: true });
  try {
    process.kill(pid, 'SIGTERM');
    return true;
  } catch {
    return false;
  }
}
