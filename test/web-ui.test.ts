/**
 * The Temporal Web UI as a person sees it: a real dev server with its UI, a run started by our
 * client, and the run's page opened in headless Chromium (Debian's package, driven by
 * playwright-core, which downloads nothing). The page must show the run's summary (the prompt).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../src/config';
import { startDevServer } from '../src/client/dev-server';
import type { DevServer } from '../src/client/dev-server';
import { listRuns } from '../src/client/commands/list';
import { inputFromFlags, startRun } from '../src/client/start';
import { eventually } from './helpers/temporal';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The only skip in the suite: without a browser there is nothing to look with. `npm test` installs
// Debian's chromium through scripts/setup.sh (as root), so CI always runs this test.
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}: apt-get install -y chromium`;

let server: DevServer;
let browser: Browser | undefined;
let dir: string;

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'vidflow-webui-'));
  const port = 21000 + (process.pid % 10000);
  server = await startDevServer({ port, uiPort: port + 1, detached: false, dbFile: join(dir, 'temporal.db') });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root in a sandbox-less container; the background-networking flags keep Chromium from
    // calling home on a machine with no internet.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("the run's page in the Web UI shows its summary; the stage search attribute finds it", { skip }, async () => {
  const cfg = {
    ...loadConfig({}),
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_UI_URL: server.uiUrl,
    TEMPORAL_TASK_QUEUE: 'webui-nobody',
  };
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const prompt = 'a lighthouse in a storm, waves breaking over the rocks';
  const { handle } = await startRun(client, cfg, inputFromFlags(prompt, {}), `webui-${process.pid}`);

  // Visibility is eventually consistent: a list right after the start may not have the run yet
  // (a fresh dev server, answering as soon as it listens, shows it within a second or so).
  await eventually(
    async () => (await listRuns(client, 'planning')).some((r) => r.workflowId === handle.workflowId),
    10_000,
    'VideoStage=planning finds the new run',
  );

  const page = await browser!.newPage();
  await page.goto(`${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`);
  const summary = page.getByText(prompt).first();
  await summary.waitFor({ timeout: 30_000 });
  assert.ok(await summary.isVisible());
  await page.screenshot({ path: join(dir, 'run-page.png') });
  await handle.terminate('test over');
  await client.connection.close();
});
