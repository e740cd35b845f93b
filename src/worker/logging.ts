/**
 * Worker logs, in the seed bot's habit: one line per step, with the run and the scene, readable
 * by a person. `DEBUG=1` adds detail; `LOG_FORMAT=json` gives one JSON object per line for log
 * collectors. Workflow and activity loggers both end up here through the Temporal Runtime.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { LogEntry, LogLevel } from '@temporalio/worker';
import { printableLines } from '../support/printable';

const installed = { done: false };
const NO_WORKFLOWS_WARNING = 'No workflows registered, not polling for workflow tasks';

function clock(nanos: bigint): string {
  const d = new Date(Number(nanos / 1_000_000n));
  return d.toTimeString().slice(0, 8);
}

export function formatEntry(entry: LogEntry, format: 'text' | 'json'): string {
  const meta = (entry.meta ?? {}) as Record<string, unknown>;
  const workflowId = typeof meta.workflowId === 'string' ? meta.workflowId : undefined;
  if (format === 'json') {
    const { sdkComponent: _c, ...rest } = meta;
    return JSON.stringify({
      time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
      level: entry.level.toLowerCase(),
      msg: entry.message,
      ...rest,
    });
  }
  const where = workflowId ? ` ${workflowId} |` : '';
  const level = entry.level === 'INFO' ? '' : ` ${entry.level}`;
  // Core's warnings ("gRPC call ... retried 8 times") and failed activities carry their reason in
  // `error`: a person reading text needs it on the same line.
  const error = meta.error instanceof Error ? meta.error.message : typeof meta.error === 'string' ? meta.error : '';
  const reason = error ? `: ${error.length > 200 ? `${error.slice(0, 200)}…` : error}` : '';
  // A prompt or a provider's error text reaches the log: escape what a terminal would act on.
  return printableLines(`[${clock(entry.timestampNanos)}]${level}${where} ${entry.message}${reason}`);
}

/** Installs the process-wide Temporal Runtime with our logger; safe to call more than once. */
export function installLogging(
  opts: { debug?: boolean; format?: 'text' | 'json'; write?: (line: string) => void; metricsAddress?: string } = {},
): void {
  if (installed.done) return;
  installed.done = true;
  const level: LogLevel = opts.debug ? 'DEBUG' : 'INFO';
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const format = opts.format ?? 'text';
  Runtime.install({
    // Core (the SDK's native side) logs to stderr on its own by default, in its own colours: a
    // connection outage would put non-JSON lines into a LOG_FORMAT=json stream. Forward them here.
    telemetryOptions: {
      logging: { filter: { core: opts.debug ? 'DEBUG' : 'WARN', other: 'ERROR' }, forward: {} },
      // The SDK's metrics (VIDFLOW_METRICS_ADDRESS): how long workflow tasks take in this worker,
      // cache hits and evictions: what tells a slow worker from a slow server.
      ...(opts.metricsAddress ? { metrics: { prometheus: { bindAddress: opts.metricsAddress } } } : {}),
    },
    logger: new DefaultLogger(level, (entry) => {
      // The SDK's own worker chatter is detail: keep it for DEBUG.
      const meta = (entry.meta ?? {}) as Record<string, unknown>;
      if (!opts.debug && meta.sdkComponent === 'worker' && entry.level === 'INFO') return;
      // Each worker's own queue (<queue>@<id>) serves activities only, on purpose: the SDK's
      // warning about it would greet every start with a WARN that is no fault.
      if (!opts.debug && entry.message === NO_WORKFLOWS_WARNING) return;
      write(formatEntry(entry, format));
    }),
  });
}

/**
 * The worker's own lines (start-up, configuration warnings) through the same logger as the SDK's,
 * so that with LOG_FORMAT=json every line a collector reads is JSON. Call after installLogging.
 */
export function workerLog(line: string): void {
  const logger = Runtime.instance().logger;
  const warning = /^warning:\s*/i;
  if (warning.test(line)) logger.warn(line.replace(warning, ''));
  else logger.info(line);
}
