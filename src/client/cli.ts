/**
 * `vidflow <command>`: the command line of vidflow. Each command is a module in ./commands/ with
 * its usage and `run(config, args)`; this file finds it, and turns what it throws into a message
 * and an exit code: 0 done, 2 bad input (nothing started or changed), 1 a failure. Standard output
 * carries results (one JSON document with --json); notices, progress and logs go to standard error.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { ConfigError, loadConfig } from '../config';
import type { Config } from '../config';
import { WorkerConfigError } from '../worker/worker';
import type { Command } from './commands/command';
import * as approve from './commands/approve';
import * as bot from './commands/bot';
import * as cancel from './commands/cancel';
import * as edit from './commands/edit';
import * as list from './commands/list';
import * as models from './commands/models';
import * as redo from './commands/redo';
import * as reject from './commands/reject';
import * as result from './commands/result';
import * as run from './commands/run';
import * as server from './commands/server';
import * as start from './commands/start';
import * as status from './commands/status';
import * as stitch from './commands/stitch';
import * as watch from './commands/watch';
import * as webhooks from './commands/webhooks';
import * as worker from './commands/worker';
import { CliError, isParseArgsError, parseArgsMessage, rootMessage, UsageError } from './errors';
import { printable } from '../support/printable';
import { START_OPTIONS_USAGE } from './start';

const USAGE = `vidflow: durable text-to-video on Temporal

Usage:
  vidflow run "<prompt>" [--yes] [start options]   the whole job: server, worker, plan, approval, video
  vidflow worker [--offline]                        run a worker (needs REPLICATE_API_TOKEN; --offline: emulators)
  vidflow start "<prompt>" [start options] [--json] start a run and return
  vidflow status <id> [--json]                      where a run is
  vidflow watch <id>                                live per-scene progress
  vidflow list [--stage S] [--json]                 runs, newest first
  vidflow approve <id>                              approve its plan (or, in review, its video)
  vidflow edit <id> --scene N --prompt "..."        change a scene while the plan or result is reviewed
  vidflow reject <id> --feedback "..."              plan again with this feedback
  vidflow redo <id> --scene N [--prompt "..."]      regenerate one scene and stitch again (review)
  vidflow cancel <id>                               cancel it (stops paid predictions)
  vidflow result <id> [--json]                      wait for the video
  vidflow result <id> --download [--out FILE]       wait, then fetch the video here (artifact store);
                                                    an existing FILE is kept unless --force
  vidflow stitch <clips...> --out FILE [--transition fade] [--fade 0.5] [--fps N] [--size WxH]
  vidflow server [stop]                             start (or stop) the local Temporal dev server
  vidflow bot                                       the Telegram bot (see docs/telegram.md)
  vidflow webhooks                                  receive Replicate's webhooks (VIDFLOW_WEBHOOK_URL)
  vidflow models [--seconds S] [--audio] [--json]  video and image models, limits and prices

${START_OPTIONS_USAGE}
\`vidflow <command> --help\` shows a command's own usage.
Configuration: environment or .env (see .env.example). DEBUG=1 for detail.`;

/** In the order of the usage above. */
const COMMANDS: Record<string, Command> = {
  run,
  worker,
  start,
  status,
  watch,
  list,
  approve,
  edit,
  reject,
  redo,
  cancel,
  result,
  stitch,
  server,
  bot,
  webhooks,
  models,
};

const err = (s: string) => process.stderr.write(s + '\n');

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 2;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) throw new CliError(`unknown command "${printable(name)}"\n\n${USAGE}`, 2);
  if (asksForHelp(args)) {
    process.stdout.write(command.usage + '\n');
    return 0;
  }
  // Read once, and only by a command that needs it: `stitch` runs without any configuration.
  let cfg: Config | undefined;
  try {
    return await command.run(() => (cfg ??= loadConfig()), args);
  } catch (e) {
    if (isParseArgsError(e)) throw new UsageError(`${parseArgsMessage(e, command.usage)}\n\n${command.usage}`);
    throw e;
  }
}

/** `--help` or `-h` anywhere before `--` (after it, they are a prompt's words). */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** What a command threw, as a message on standard error; returns the exit code. */
export function reportError(e: unknown): number {
  if (e instanceof CliError) {
    err(`vidflow: ${e.message}`);
    return e.exitCode;
  }
  if (isParseArgsError(e)) {
    err(`vidflow: ${parseArgsMessage(e)}`);
    return 2;
  }
  if (e instanceof ConfigError || e instanceof WorkerConfigError) {
    err(`vidflow: ${e.message}`);
    return 2;
  }
  if (e instanceof WorkflowNotFoundError) {
    err(`vidflow: no run "${printable(e.workflowId)}": \`vidflow list\` shows the runs`);
    return 1;
  }
  err(`vidflow: ${rootMessage(e)}`);
  if (process.env.DEBUG && e instanceof Error) err(e.stack ?? '');
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => process.exit(reportError(e)),
  );
}
