/**
 * The `VideoStage` search attribute at start. A run is started with it set, and a namespace where
 * no worker has registered it (a new server, another namespace) refuses the start with
 * `INVALID_ARGUMENT: Namespace default has no mapping defined for search attribute VideoStage`.
 * Registered just now, a server may still refuse for a moment while its cache catches up. So the
 * start registers it (as a worker does) and tries again for a while; where the CLI may not
 * register (an API key without operator rights), it says the one command that does.
 */
import type { Config } from '../config';
import { VIDEO_STAGE } from '../shared/names';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { connectionOptions } from '../worker/temporal-connection';
import { CliError, rootMessage } from './errors';

/** How long a start waits for a fresh registration to take effect (the dev server: ~1–10 s). */
const SETTLE_MS = 20_000;

export function isMissingStageAttribute(err: unknown): boolean {
  const text = `${(err as Error)?.message ?? ''} ${rootMessage(err)}`;
  return new RegExp(`no mapping defined for search attribute ${VIDEO_STAGE.name}`, 'i').test(text);
}

function registerCommand(namespace: string): string {
  return `temporal operator search-attribute create --namespace ${namespace} --name ${VIDEO_STAGE.name} --type Keyword`;
}

/**
 * Runs `start`; when the namespace lacks the attribute, registers it and retries until the server
 * takes it (or SETTLE_MS passes). `log` hears what is happening, once.
 */
export async function withStageAttribute<T>(
  cfg: Config,
  start: () => Promise<T>,
  log: (line: string) => void,
): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (!isMissingStageAttribute(err)) throw err;
  }
  const ns = cfg.TEMPORAL_NAMESPACE;
  log(`namespace ${ns} has no search attribute ${VIDEO_STAGE.name} yet: registering it (once per namespace) …`);
  try {
    await ensureSearchAttributes(connectionOptions(cfg), ns);
  } catch (err) {
    throw new CliError(
      `namespace ${ns} has no search attribute ${VIDEO_STAGE.name}, and registering it failed (${rootMessage(err)}).\n` +
        `Register it with:  ${registerCommand(ns)}\n(or start a \`vidflow worker\`, which registers it), then start again.`,
    );
  }
  const until = Date.now() + SETTLE_MS;
  for (let wait = 250; ; wait = Math.min(2000, wait * 2)) {
    try {
      return await start();
    } catch (err) {
      if (!isMissingStageAttribute(err)) throw err;
      if (Date.now() + wait > until) {
        throw new CliError(
          `namespace ${ns}: ${VIDEO_STAGE.name} is registered, but the server still refuses it after ${SETTLE_MS / 1000} s. ` +
            `Check with \`temporal operator search-attribute list --namespace ${ns}\`, then start again.`,
        );
      }
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}
