/**
 * Real processes for end-to-end and crash tests: the emulators in their own process, `vidflow`
 * CLI commands, and `vidflow worker`, each killable with a real signal.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { findTemporalBinary } from '../../src/client/temporal-binary';

export const ROOT = resolve(__dirname, '..', '..');
const TSX_CLI = resolve(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const VIDFLOW = resolve(ROOT, 'bin', 'vidflow.js');

export interface EmulatorProcess {
  openaiBaseUrl: string;
  replicateBaseUrl: string;
  controlUrl: string;
  child: ChildProcess;
  state(): Promise<EmulatorStateJson>;
  configure(patch: unknown): Promise<void>;
  stop(): Promise<void>;
}

export interface EmulatorStateJson {
  replicate: {
    predictionsCreated: number;
    createdByInput: Record<string, number>;
    cancels: number;
    promptScenes: Record<string, { scene: number; color: string }>;
    predictions: { id: string; status: string; input: { prompt: string } }[];
  };
  openai: { requests: number } & Record<string, unknown>;
}

export async function startEmulatorProcess(config: unknown = {}): Promise<EmulatorProcess> {
  const child = spawn(
    process.execPath,
    [TSX_CLI, resolve(ROOT, 'src/emulators/main.ts'), '--port', '0', '--config', JSON.stringify(config)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const rl = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([
    once(rl, 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`emulators exited with ${String(code)} before listening`);
    }),
  ])) as [string];
  rl.close();
  const urls = JSON.parse(line) as { openaiBaseUrl: string; replicateBaseUrl: string; controlUrl: string };
  return {
    ...urls,
    child,
    async state() {
      const res = await fetch(`${urls.controlUrl}/state`);
      return (await res.json()) as EmulatorStateJson;
    },
    async configure(patch) {
      const res = await fetch(`${urls.controlUrl}/configure`, {
        method: 'POST',
        body: JSON.stringify(patch),
        headers: { 'content-type': 'application/json' },
      });
      if (!res.ok) throw new Error(`configure failed: ${res.status} ${await res.text()}`);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `vidflow <args>` to completion. */
export function vidflow(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [VIDFLOW, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vidflow ${args.join(' ')} timed out\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface WorkerProcess {
  child: ChildProcess;
  logs(): string;
  /** Resolves once the worker says it is polling. */
  ready: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startWorkerProcess(env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(process.execPath, [VIDFLOW, 'worker'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  const ready = new Promise<void>((res, rej) => {
    const onData = (d: Buffer) => {
      logs += d.toString();
      if (logs.includes('worker: polling')) res();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => rej(new Error(`worker exited with ${String(code)} before polling:\n${logs}`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    logs: () => logs,
    ready,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await once(child, 'exit');
    },
  };
}

/** The Temporal CLI found by the project's own discovery (scripts/setup.sh installs it). */
export function temporalCli(args: string[]): CliResult {
  const bin = findTemporalBinary('cli');
  if (!bin) throw new Error('no Temporal CLI');
  const r = spawnSync(bin.path, args, { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
