/**
 * The CLI's errors. A command throws a `CliError` for what it can explain to a person: exit code 2
 * for bad input (nothing was started or changed), 1 for a failure. `src/client/cli.ts` prints it
 * as `vidflow: <message>`. Kept free of the Temporal SDK: `vidflow stitch` loads this too.
 */

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad input: exit 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** node:util parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed options. */
export function isParseArgsError(e: unknown): e is TypeError {
  return e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS');
}

/** The innermost cause: what a workflow or activity failure says, not its wrappers. */
export function rootMessage(e: unknown): string {
  let cur: unknown = e;
  while (cur instanceof Error && cur.cause instanceof Error) cur = cur.cause;
  return cur instanceof Error ? cur.message : String(cur);
}
