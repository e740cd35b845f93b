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

/** The flags a usage text names (`--scenes`, `--max-cost` …), for "did you mean". */
function flagsIn(usage: string): string[] {
  return [...new Set(usage.match(/--[a-z][a-z-]*/g) ?? [])];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/**
 * parseArgs' errors in the words of a command line: the option named, no advice about '--' and
 * positional arguments (which reads as if the user had typed something else), and the nearest
 * option the command knows when `usage` is given.
 */
export function parseArgsMessage(e: TypeError, usage?: string): string {
  const code = (e as TypeError & { code?: string }).code;
  const quoted = /'([^']*)'/.exec(e.message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const given = quoted.split('=')[0] ?? quoted;
    const near = usage
      ? flagsIn(usage).find((f) => f.startsWith(given) || given.startsWith(f) || editDistance(f, given) <= 2)
      : undefined;
    return `unknown option ${given}${near && near !== given ? ` (did you mean ${near}?)` : ''}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = quoted.split(' ')[0] ?? quoted;
    return /argument missing/.test(e.message) ? `${flag} needs a value` : `${flag} takes no value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument "${quoted}"`;
  return e.message;
}
