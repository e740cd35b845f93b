/** The load bench's command line (see bench/load.ts for what each option measures). */
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    'latency-ms': { type: 'string', default: '3000' },
    size: { type: 'string', default: '1280x720' },
    keep: { type: 'boolean', default: false },
    source: { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    mode: { type: 'string', default: 'polling' },
    'worker-env': { type: 'string', multiple: true, default: [] },
    // The dev server's own settings: to test whether a wait is the server's (matching partitions,
    // SQLite on disk) rather than the worker's.
    'server-config': { type: 'string', multiple: true, default: [] },
    'server-memory': { type: 'boolean', default: false },
  },
  strict: true,
});

export function usage(msg: string): never {
  process.stderr.write(`bench:load: ${msg}\n`);
  process.exit(2);
}

const RUNS = Math.floor(Number(args.runs));
if (!Number.isFinite(RUNS) || RUNS < 1) usage(`--runs must be a number >= 1, got ${args.runs}`);
const L = Math.round(Number(args['latency-ms']));
if (!Number.isFinite(L) || L < 0) usage(`--latency-ms must be a number >= 0, got ${args['latency-ms']}`);
const sizeMatch = /^(\d+)x(\d+)$/.exec(args.size);
if (!sizeMatch) usage(`--size must be WIDTHxHEIGHT, got ${args.size}`);
const MODE = args.mode;
if (MODE !== 'polling' && MODE !== 'webhook' && MODE !== 'legacy') {
  usage(`--mode must be webhook, polling or legacy, got ${MODE}`);
}
for (const kv of args['server-config']) {
  if (!/^[\w.]+=.+$/.test(kv)) usage(`--server-config takes KEY=JSON_VALUE, got ${kv}`);
}

export const bench = {
  args,
  runs: RUNS,
  /** The emulated generation latency L, in ms. */
  latencyMs: L,
  clipWidth: Number(sizeMatch[1]),
  clipHeight: Number(sizeMatch[2]),
  mode: MODE,
};
