/** One way to reach Temporal from the CLI, with a message that says what to do when it is not there. */
import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config';
import type { videoPipeline } from '../workflows';
import { connectionOptions } from '../worker/temporal-connection';
import { CliError } from './errors';

export async function connectClient(cfg: Config): Promise<Client> {
  // Outside the try: a bad TLS setting is a ConfigError (exit 2), not "cannot reach Temporal".
  const opts = connectionOptions(cfg);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...opts, connectTimeout: '5s' });
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${cfg.TEMPORAL_ADDRESS} (${(err as Error).message}).\n` +
        'Start a local server with `npx vidflow server`, set TEMPORAL_ADDRESS, or use `npx vidflow run`, which starts one.',
    );
  }
  return new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
}

/** A run by its workflow id. Connects, but does not ask the server: a missing run shows on first use. */
export async function runHandle(cfg: Config, workflowId: string): Promise<WorkflowHandle<typeof videoPipeline>> {
  const client = await connectClient(cfg);
  return client.workflow.getHandle<typeof videoPipeline>(workflowId);
}
