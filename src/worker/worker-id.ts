/**
 * A worker's id names its disk, not its process: the steps that need a run's clips go to the queue
 * `<queue>@<id>`, and any worker process that sees the same work folder can serve them. So the id
 * is kept in the work folder: replicas sharing a volume share it, and a container recreated by a
 * redeploy (new host name) keeps it, instead of leaving every run in flight to wait out
 * workerTimeout and download its clips again on another worker.
 */
import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/** Starts with a dot: no run folder can be named so (safeStem strips leading dots). */
export const WORKER_ID_FILE = '.worker-id';
const VALID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Host name plus a hash of the work folder: the seed of a new work folder's id (and the id before it was kept). */
export function defaultWorkerId(workDir: string): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .slice(0, 60) || 'host';
  return `${host}-${createHash('sha256').update(resolve(workDir)).digest('hex').slice(0, 6)}`;
}

async function readId(file: string): Promise<string | undefined> {
  try {
    const id = (await readFile(file, 'utf8')).trim();
    return VALID.test(id) ? id : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The id kept in `<workDir>/.worker-id`, created on first start. Creation is a hard link of a
 * complete temporary file, so two replicas starting at once agree: one link wins, the other reads
 * it (a plain exclusive create could be read while still empty).
 */
export async function diskWorkerId(workDir: string): Promise<string> {
  await mkdir(workDir, { recursive: true });
  const file = join(workDir, WORKER_ID_FILE);
  const existing = await readId(file);
  if (existing) return existing;
  const seed = defaultWorkerId(workDir);
  // Unique per call, not per process and millisecond: two calls in one process at once (or two
  // processes with one pid in two containers on a shared volume) must not share a temporary file,
  // or one's clean-up unlinks it before the other's link.
  const tmp = join(workDir, `${WORKER_ID_FILE}.${randomUUID()}`);
  await writeFile(tmp, `${seed}\n`);
  try {
    await link(tmp, file);
    return seed;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const won = await readId(file);
    if (!won) throw new Error(`${file} holds no valid worker id: remove it, or set VIDFLOW_WORKER_ID`, { cause: err });
    return won;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
