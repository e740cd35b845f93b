/**
 * The Temporal server for process tests (tests that run `vidflow` and `vidflow worker` as real
 * processes, which need an address rather than an in-process TestWorkflowEnvironment). Under
 * `scripts/test.sh` that is the run's one dev server, passed in TEMPORAL_TEST_ADDRESS; a test file
 * run on its own starts its own dev server (the project's `startDevServer`, on free ports, with a
 * throwaway database) and stops it when the file is done.
 */
import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../../src/client/dev-server';
import type { DevServer } from '../../src/client/dev-server';
import { freePort } from './crash';

export interface TestTemporalServer {
  /**
   * host:port of the frontend. The first call starts the file's own server when there is no
   * shared one, so it works from any hook or test: node:test runs a file's top-level `before`
   * hooks side by side, so one cannot wait for another's server.
   */
  address(): Promise<string>;
}

/**
 * Call it once per file (or `describe`). Its `after` hook is registered once the file's own hooks
 * are (a microtask later), so an own server stops last, after the workers and CLIs using it.
 */
export function useTemporalServer(name: string): TestTemporalServer {
  let starting: Promise<string> | undefined;
  let own: DevServer | undefined;
  let dir: string | undefined;
  const start = async (): Promise<string> => {
    const shared = process.env.TEMPORAL_TEST_ADDRESS;
    if (shared) return shared;
    dir = await mkdtemp(join(tmpdir(), `vidflow-${name}-server-`));
    own = await startDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      detached: false,
      dbFile: join(dir, 'temporal.db'),
    });
    return own.address;
  };
  queueMicrotask(() =>
    after(async () => {
      await starting?.catch(() => undefined);
      await own?.stop?.();
      if (dir) await rm(dir, { recursive: true, force: true });
    }),
  );
  return {
    address: () => (starting ??= start()),
  };
}
