/**
 * The webhook receiver's HTTP server, and `vidflow webhooks` (its own process; the worker can
 * also serve it, with VIDFLOW_WEBHOOK_PORT). The coordinator wires `webhooksCommand` into the CLI.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { connectClient } from '../client/connection';
import type { Config } from '../config';
import { createReplicate } from '../providers/clients';
import type { PredictionTracker } from '../activities/prediction-tracker';
import { createWebhookReceiver } from './receiver';
import type { WebhookReceiver } from './receiver';

export const DEFAULT_WEBHOOK_PORT = 8090;

export interface WebhookServer {
  port: number;
  receiver: WebhookReceiver;
  close(): Promise<void>;
}

/** The signing secret: VIDFLOW_WEBHOOK_SECRET, else Replicate's `GET /v1/webhooks/default/secret`. */
export function secretFrom(cfg: Config): () => Promise<string> {
  const fixed = cfg.VIDFLOW_WEBHOOK_SECRET;
  if (fixed) return () => Promise.resolve(fixed);
  const replicate = createReplicate(cfg);
  return async () => (await replicate.webhooks.default.secret.get()).key;
}

export async function startWebhookServer(o: {
  client: Client;
  secret: () => Promise<string>;
  port: number;
  host?: string;
  tracker?: PredictionTracker;
  log?: (line: string) => void;
}): Promise<WebhookServer> {
  const receiver = createWebhookReceiver({
    client: o.client,
    secret: o.secret,
    ...(o.tracker ? { tracker: o.tracker } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  const server = createServer((req, res) => void receiver.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    receiver,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const usage = `usage: vidflow webhooks   receive Replicate's webhooks (VIDFLOW_WEBHOOK_PORT, default ${DEFAULT_WEBHOOK_PORT}; VIDFLOW_WEBHOOK_SECRET or REPLICATE_API_TOKEN)`;

/** `vidflow webhooks`: serves until SIGINT/SIGTERM; returns the exit code. */
export async function webhooksCommand(cfg: Config, args: string[]): Promise<number> {
  parseArgs({ args, options: {}, allowPositionals: false });
  const client = await connectClient(cfg);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const server = await startWebhookServer({
    client,
    secret: secretFrom(cfg),
    port: cfg.VIDFLOW_WEBHOOK_PORT ?? DEFAULT_WEBHOOK_PORT,
    log,
  });
  log(`webhooks: listening on :${server.port} (namespace ${cfg.TEMPORAL_NAMESPACE})`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  log(`webhooks: stopped; ${JSON.stringify(server.receiver.counters)}`);
  return 0;
}
