/**
 * `vidflow webhooks`: the receiver of Replicate's webhooks (src/webhooks/), on its own. Webhooks
 * only wake runs sooner: the workers' prediction tracker still reconciles by polling, so this
 * process being down delays runs by at most VIDFLOW_RECONCILE_SECONDS, it loses none.
 */
import { webhooksCommand } from '../../webhooks/server';
import type { ConfigLoader } from './command';

export const usage = `usage: vidflow webhooks   receive Replicate's webhooks (VIDFLOW_WEBHOOK_PORT, default 8090; VIDFLOW_WEBHOOK_SECRET)`;

export function run(config: ConfigLoader, args: string[]): Promise<number> {
  return webhooksCommand(config(), args);
}
