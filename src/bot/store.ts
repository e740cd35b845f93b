/**
 * A small durable key-value store: one JSON file per key under `<dir>/<namespace>/`. Writes go to
 * a temporary file that is flushed and renamed over the old one, so a crash (SIGKILL, power loss)
 * leaves either the old value or the new one, never half a file. Changes to one key are applied
 * one after another (read-modify-write in `update`), so two handlers cannot lose each other's write.
 *
 * Enough for the bot's per-user settings and per-run delivery records (a few KB each); a bot with
 * many thousands of users would want a database instead.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Letters, digits, `_`, `.` and `-` are kept; anything else is %-encoded, so a key is one safe file name. */
function fileName(key: string): string {
  const safe = key.replace(/[^A-Za-z0-9_.-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `${safe === '.' || safe === '..' ? `%2e${safe.slice(1)}` : safe}.json`;
}

function keyOf(file: string): string {
  return decodeURIComponent(file.slice(0, -'.json'.length));
}

export class JsonStore {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(readonly dir: string) {}

  private path(ns: string, key: string): string {
    if (!/^[a-z][a-z0-9-]*$/.test(ns)) throw new Error(`store: bad namespace ${ns}`);
    return join(this.dir, ns, fileName(key));
  }

  async get<T>(ns: string, key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.path(ns, key), 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list<T>(ns: string): Promise<{ key: string; value: T }[]> {
    let files: string[];
    try {
      files = await readdir(join(this.dir, ns));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: { key: string; value: T }[] = [];
    for (const f of files.filter((n) => n.endsWith('.json'))) {
      const key = keyOf(f);
      const value = await this.get<T>(ns, key);
      if (value !== undefined) out.push({ key, value });
    }
    return out;
  }

  put<T>(ns: string, key: string, value: T): Promise<void> {
    return this.serial(ns, key, () => this.write(ns, key, value));
  }

  delete(ns: string, key: string): Promise<void> {
    return this.serial(ns, key, () => rm(this.path(ns, key), { force: true }));
  }

  /** Read-modify-write of one key; `fn` returning undefined deletes it. Returns the new value. */
  update<T>(ns: string, key: string, fn: (old: T | undefined) => T | undefined): Promise<T | undefined> {
    return this.serial(ns, key, async () => {
      const next = fn(await this.get<T>(ns, key));
      if (next === undefined) await rm(this.path(ns, key), { force: true });
      else await this.write(ns, key, next);
      return next;
    });
  }

  private serial<R>(ns: string, key: string, op: () => Promise<R>): Promise<R> {
    const id = `${ns}/${key}`;
    const prev = this.queues.get(id) ?? Promise.resolve();
    const run = prev.then(op, op);
    const tail = run.catch(() => undefined);
    this.queues.set(id, tail);
    void tail.then(() => {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    });
    return run;
  }

  private async write(ns: string, key: string, value: unknown): Promise<void> {
    const target = this.path(ns, key);
    await mkdir(join(this.dir, ns), { recursive: true });
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(value));
      // Flushed before the rename: otherwise a power loss can leave the new name on empty data.
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
