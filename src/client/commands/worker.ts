/**
 * `vidflow worker`: a worker process (the production role). It needs REPLICATE_API_TOKEN; a
 * shutdown signal hands its generations over at once and lets the other activities finish
 * (src/worker/signals.ts), so a redeploy neither pays twice nor waits out heartbeat timeouts.
 */
import { parseArgs } from 'node:util';
import { installLogging, workerLog } from '../../worker/logging';
import { createVidflowWorker } from '../../worker/worker';
import type { ConfigLoader } from './command';

export const usage = `usage: vidflow worker   run a worker (needs REPLICATE_API_TOKEN; configuration: environment or .env)`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  parseArgs({ args, options: {}, allowPositionals: false });
  installLogging({ debug: Boolean(cfg.DEBUG), format: cfg.LOG_FORMAT });
  const { worker } = await createVidflowWorker({ cfg, log: workerLog });
  await worker.run();
  return 0;
}
