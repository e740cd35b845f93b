/**
 * The workflow bundle for `vidflow run` from the TypeScript sources, kept between runs. A worker
 * started from the sources bundles the workflow code with webpack at every start (seconds on two
 * cores, the longest step before the plan); `vidflow run` prepares it here instead, while the dev
 * server starts, and keeps it under .vidflow/ named by a hash of every source file and the lock
 * file: any change there makes a new bundle, so a stale one can never run. The production image
 * uses `npm run build`'s bundle and never comes here.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { workflowBundleOptions } from '../worker/bundle-options';

const SRC_DIR = resolve(__dirname, '..');
const LOCK_FILE = resolve(__dirname, '..', '..', 'package-lock.json');
const PREFIX = 'workflow-bundle-';

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (entry.name.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

/** A hash of what the bundle is made from: our sources and the exact dependency versions. */
async function sourcesHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const f of [...(await sourceFiles(SRC_DIR)), LOCK_FILE]) {
    hash.update(f.slice(SRC_DIR.length)).update('\0');
    hash.update(await readFile(f).catch(() => Buffer.alloc(0)));
  }
  return hash.digest('hex').slice(0, 16);
}

/** True when this process runs from the TypeScript sources (not dist/), where workers bundle at start. */
export function runsFromSources(): boolean {
  return __filename.endsWith('.ts');
}

/**
 * The path of a bundle of the current sources in `stateDir`, made when missing (webpack, a few
 * seconds); older bundles there are removed. `log` hears when one is made.
 */
export async function cachedWorkflowBundle(stateDir: string, log: (line: string) => void): Promise<string> {
  const name = `${PREFIX}${await sourcesHash()}.js`;
  const path = join(stateDir, name);
  if (existsSync(path)) return path;
  log('bundling the workflow code (once per change of the sources; kept in .vidflow/) …');
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const quiet = () => undefined;
  const { code } = await bundleWorkflowCode({
    ...workflowBundleOptions(),
    logger: {
      log: quiet,
      trace: quiet,
      debug: quiet,
      info: quiet,
      warn: (m) => log(`bundle: ${m}`),
      error: (m) => log(`bundle: ${m}`),
    },
  });
  await mkdir(stateDir, { recursive: true });
  // Atomic: a second `vidflow run` starting at the same moment reads a whole file or none.
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, code);
  await rename(tmp, path);
  for (const f of await readdir(stateDir)) {
    if (f.startsWith(PREFIX) && f !== name && f.endsWith('.js')) await rm(join(stateDir, f), { force: true });
  }
  return path;
}
