/**
 * The shape every `vidflow <command>` module has: its usage text and a `run(config, args)` that
 * returns the exit code (0 done, 1 failed, 2 bad input; or throws a CliError that says which).
 * The configuration is a loader, so a command that needs none (`stitch`) never reads the
 * environment nor loads the Temporal SDK. No Temporal import here for the same reason.
 */
import type { Config } from '../../config';
import { parseArgs } from 'node:util';
import { CliError, UsageError } from '../errors';

/** Loads (and validates) the configuration on first call; a ConfigError exits 2. */
export type ConfigLoader = () => Config;

export interface Command {
  /** `vidflow <command> …` and what it takes: shown with its input errors. */
  readonly usage: string;
  run(config: ConfigLoader, args: string[]): Promise<number>;
}

/** Results: standard output (one JSON document with --json). */
export const out = (s: string): void => void process.stdout.write(s + '\n');
/** Notices, progress, logs: standard error. */
export const err = (s: string): void => void process.stderr.write(s + '\n');

/** The workflow id a command acts on: its first positional argument. */
export function workflowIdArg(positionals: string[], usage: string): string {
  const id = positionals[0];
  if (!id) throw new CliError(`missing workflow id\n\n${usage}`, 2);
  return id;
}

/** `<id> --scene N [--prompt "..."]`, as `edit` and `redo` take them; `--scene` is required. */
export function sceneArgs(args: string[], usage: string, what: string): { id: string; scene: string; prompt?: string } {
  const { values, positionals } = parseArgs({
    args,
    options: { scene: { type: 'string' }, prompt: { type: 'string' } },
    allowPositionals: true,
  });
  const id = workflowIdArg(positionals, usage);
  if (values.scene === undefined)
    throw new UsageError(`--scene N is required: the scene to ${what} (from 1)\n\n${usage}`);
  return { id, scene: values.scene, ...(values.prompt !== undefined ? { prompt: values.prompt } : {}) };
}
