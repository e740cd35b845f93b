/**
 * `vidflow server [stop]`: the local Temporal dev server for trying vidflow on one machine. When a
 * server already answers at TEMPORAL_ADDRESS it says so and starts none: two would share no runs.
 */
import { parseArgs } from 'node:util';
import { serverAnswers, startDevServer, stopDevServer } from '../dev-server';
import { UsageError } from '../errors';
import type { ConfigLoader } from './command';
import { err, out } from './command';

export const usage = `usage: vidflow server [stop]   start (or stop) the local Temporal dev server`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== 'stop')) {
    throw new UsageError(`unexpected argument "${positionals.find((p) => p !== 'stop') ?? ''}"\n\n${usage}`);
  }
  if (positionals[0] === 'stop') {
    out(stopDevServer() ? 'dev server stopped' : 'no dev server started by vidflow is running');
    return 0;
  }
  if (await serverAnswers(cfg.TEMPORAL_ADDRESS)) {
    out(`a Temporal server already answers at ${cfg.TEMPORAL_ADDRESS}`);
    return 0;
  }
  const server = await startDevServer({ log: err });
  out(`Temporal dev server: ${server.address}, Web UI ${server.uiUrl}`);
  return 0;
}
