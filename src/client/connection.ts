/** One way to reach Temporal from the CLI, with a message that says what to do when it is not there. */
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export async function connectClient(cfg: Config): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS, connectTimeout: '5s' });
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${cfg.TEMPORAL_ADDRESS} (${(err as Error).message}).\n` +
        'Start a local server with `npx vidflow server`, set TEMPORAL_ADDRESS, or use `npx vidflow run`, which starts one.',
    );
  }
  return new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
}
