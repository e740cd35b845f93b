/** A fresh folder for one test file: made before its tests, removed after them. */
import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Registers the hooks; `ready` gets the folder's path before the first test runs. */
export function useTempDir(prefix: string, ready: (dir: string) => void | Promise<void>): void {
  let dir: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    await ready(dir);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
}
