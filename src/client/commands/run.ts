/**
 * `vidflow run`: the main job in one command. Uses the Temporal server at TEMPORAL_ADDRESS if
 * one answers, else starts the local dev server; runs a worker in this process; starts the run,
 * shows the plan and asks for approval (or `--yes`), shows per-scene progress, and prints the
 * video's path and the Web UI link. It says what it does while it starts, one line per step with
 * the seconds since launch, and does the slow steps at once (dev server, workflow bundle, token
 * check). Everything durable lives in Temporal: Ctrl-C stops this process, says how to pick the
 * run up (a worker, then `vidflow approve <id>` …), and loses nothing.
 */
import { parseArgs } from 'node:util';
import type { Config } from '../../config';
import { webUiRunUrl } from '../../config';
import { ensureFfmpeg } from '../../media/ffmpeg';
import { checkReplicateToken, ReplicateTokenRefused } from '../../providers/replicate-token-check';
import { statusQuery } from '../../shared/messages';
import { FINAL_STAGES } from '../../shared/schemas';
import type { PipelineInput, PipelineStatus } from '../../shared/schemas';
import { printableLines } from '../../support/printable';
import { installLogging } from '../../worker/logging';
import { createVidflowWorker } from '../../worker/worker';
import { connectClient } from '../connection';
import { serverAnswers, startDevServer, STATE_DIR } from '../dev-server';
import { CliError, rootMessage } from '../errors';
import { goOffline, OFFLINE_BANNER, offlineLogLine, offlineWorkerOverrides } from '../offline';
import { Interrupted, PromptConsole } from '../prompt-console';
import { decide } from '../run-review';
import { withReference } from '../reference';
import type { Reference } from '../reference';
import { START_OPTIONS, START_OPTIONS_USAGE, startInputFromFlags, startRun } from '../start';
import { cachedWorkflowBundle, runsFromSources } from '../workflow-bundle-cache';
import type { ConfigLoader } from './command';

export const usage = `usage: vidflow run "<prompt>" [--yes] [start options]   the whole job: server, worker, plan, approval, video

--yes approves without asking (plan and, with --review-result, video); --json prints the result as JSON.
${START_OPTIONS_USAGE}`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values, positionals } = parseArgs({
    args,
    options: { ...START_OPTIONS, yes: { type: 'boolean', short: 'y' } },
    allowPositionals: true,
  });
  const { input, reference } = startInputFromFlags(positionals.join(' ') || undefined, values);
  return runJob(cfg, input, { yes: Boolean(values.yes), id: values.id, json: Boolean(values.json), reference });
}

interface RunOptions {
  yes: boolean;
  id?: string | undefined;
  json?: boolean;
  /** A local --reference file, uploaded once the Replicate (or its emulator) to upload to is known. */
  reference?: Reference | undefined;
}

/** What the interrupt message needs to know: how far the job got. */
interface Progress {
  id?: string;
  offline: boolean;
  last?: PipelineStatus;
}

async function runJob(baseCfg: Config, input: PipelineInput, opts: RunOptions): Promise<number> {
  const interrupt = new AbortController();
  const onSigint = () => {
    // A second Ctrl-C while the first one is being handled: the person wants out now.
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  const io = new PromptConsole(onSigint, interrupt.signal);
  const progress: Progress = { offline: !baseCfg.REPLICATE_API_TOKEN };
  const cleanups: (() => Promise<void>)[] = [];
  try {
    return await job(baseCfg, input, opts, io, interrupt.signal, progress, cleanups);
  } catch (err) {
    if (!(err instanceof Interrupted) && !interrupt.signal.aborted) throw err;
    io.line(resumeAdvice(progress));
    return 130;
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
    process.removeListener('SIGINT', onSigint);
  }
}

/** Rejects with Interrupted as soon as Ctrl-C is pressed, whatever `p` is waiting for. */
function orInterrupt<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function job(
  baseCfg: Config,
  input: PipelineInput,
  opts: RunOptions,
  io: PromptConsole,
  signal: AbortSignal,
  progress: Progress,
  cleanups: (() => Promise<void>)[],
): Promise<number> {
  const say = (line: string) => io.line(line);
  // Seconds since launch: loading the CLI itself is part of what the person waits for.
  const step = (line: string) => io.line(`[${process.uptime().toFixed(1).padStart(4)} s] ${line}`);
  const wait = <T>(p: Promise<T>) => orInterrupt(p, signal);
  let cfg = baseCfg;

  step('checking ffmpeg …');
  await wait(ensureFfmpeg());
  if (progress.offline) {
    say(OFFLINE_BANNER);
    step('starting the emulators of OpenAI and Replicate in this process …');
    const offline = await wait(goOffline(cfg));
    cfg = offline.cfg;
    cleanups.push(offline.close);
  } else if (!cfg.OPENAI_API_KEY) {
    say('OPENAI_API_KEY is not set: the plan will be a plain split of the prompt (marked fallback).');
  }

  // The slow steps side by side: the server, the workflow bundle, the token check.
  const server = (async () => {
    step(`looking for a Temporal server at ${cfg.TEMPORAL_ADDRESS} …`);
    if (await serverAnswers(cfg.TEMPORAL_ADDRESS)) return step(`Temporal server: ${cfg.TEMPORAL_ADDRESS}`);
    if (cfg.temporalAddressFrom) {
      // An address someone chose is not ours to replace with a local server.
      throw new CliError(`no Temporal server answers at ${cfg.TEMPORAL_ADDRESS} (set by ${cfg.temporalAddressFrom})`);
    }
    step('none answers: starting the local Temporal dev server …');
    const dev = await startDevServer({ log: step });
    cfg = { ...cfg, TEMPORAL_ADDRESS: dev.address, TEMPORAL_UI_URL: dev.uiUrl };
    if (dev.stop) cleanups.push(dev.stop);
    step(
      `Temporal dev server ready: ${dev.address}, Web UI ${dev.uiUrl}${dev.stop ? '' : ' (keeps running; `npx vidflow server stop` stops it)'}`,
    );
  })();
  const bundle =
    runsFromSources() && !process.env.VIDFLOW_WORKFLOW_BUNDLE
      ? cachedWorkflowBundle(STATE_DIR, step).then((path) => {
          process.env.VIDFLOW_WORKFLOW_BUNDLE = path;
        })
      : Promise.resolve();
  const token = progress.offline
    ? Promise.resolve()
    : checkReplicateToken(cfg, step).then(
        () => undefined,
        (e: unknown) => {
          throw e instanceof ReplicateTokenRefused ? new CliError(printableLines(e.message), 2) : e;
        },
      );
  await wait(Promise.all([server, bundle, token]));

  const write = (line: string) => io.line(progress.offline ? offlineLogLine(line) : line);
  installLogging({ debug: Boolean(cfg.DEBUG), format: cfg.LOG_FORMAT, write });
  step('starting the worker …');
  const { worker } = await wait(
    createVidflowWorker({ cfg, log: say, overrides: progress.offline ? offlineWorkerOverrides() : {} }),
  );
  // Like `vidflow worker`: Ctrl-C hands the generations over (src/worker/signals.ts).
  let workerStopped: unknown;
  const workerDone = worker.run().then(
    () => (workerStopped ??= new Error('the worker stopped')),
    (e: unknown) => (workerStopped = e),
  );
  cleanups.unshift(async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerDone;
  });

  const client = await wait(connectClient(cfg));
  if (opts.reference && 'file' in opts.reference) step('uploading the --reference image to Replicate …');
  const withRef = await wait(withReference(cfg, input, opts.reference));
  const { handle, existed } = await wait(startRun(client, cfg, withRef, opts.id, step));
  progress.id = handle.workflowId;
  const desc = await wait(handle.describe());
  const ui = webUiRunUrl(cfg, handle.workflowId, desc.runId);
  step(`${existed ? 'run already exists' : 'run started'}: ${handle.workflowId}\nWeb UI: ${ui}`);

  const status = await followRun(
    () => handle.query(statusQuery),
    (s) => decide(handle, s, opts.yes, io),
    { signal, progress, workerStopped: () => workerStopped },
  );

  try {
    const result = await wait(handle.result());
    say(
      `\nvideo: ${result.path}\n  ${result.durationSeconds.toFixed(2)} s, ${(result.sizeBytes / 1e6).toFixed(2)} MB, ${result.scenes.length} scenes\nWeb UI: ${ui}`,
    );
    if (opts.json) process.stdout.write(JSON.stringify({ ...result, webUiUrl: ui }) + '\n');
    else process.stdout.write(result.path + '\n');
    return 0;
  } catch (err) {
    if (err instanceof Interrupted) throw err;
    say(`run ${status.stage}: ${rootMessage(err)}`);
    return 1;
  }
}

/** After Ctrl-C: where the run stands and the commands that pick it up. */
function resumeAdvice(p: Progress): string {
  if (!p.id) return '\ninterrupted before a run was started: nothing to resume.';
  const id = p.id;
  const stage = p.last?.stage;
  const worker = p.offline ? '`vidflow worker --offline` (this run was offline)' : '`vidflow worker`';
  const next =
    stage === 'generating' || stage === 'stitching'
      ? `\`vidflow watch ${id}\` shows it finish, and \`vidflow result ${id} --download\` fetches the video`
      : stage === 'reviewing_result'
        ? `\`vidflow approve ${id}\` approves the video, or \`vidflow redo ${id} --scene N\``
        : stage === 'reviewing_storyboard' || stage === 'storyboarding'
          ? `\`vidflow approve ${id}\` approves the storyboard (\`vidflow status ${id}\` shows the keyframes), or \`vidflow redo ${id} --keyframe K\``
          : `\`vidflow approve ${id}\` approves the plan (\`vidflow status ${id}\` shows it; edit and reject work too)`;
  return [
    '',
    `interrupted: run ${id} keeps waiting in Temporal${stage ? ` (stage ${stage})` : ''}; nothing is lost.`,
    `To pick it up: start a worker with ${worker} in another terminal, then ${next}.`,
  ].join('\n');
}

const REVIEW_STAGES: readonly PipelineStatus['stage'][] = [
  'awaiting_approval',
  'reviewing_storyboard',
  'reviewing_result',
];

/**
 * Polls the status query until the run ends, handing each new review point (a plan round, a
 * result) to `onReview` once. Per-scene steps are not printed here: the in-process worker logs
 * one line per step already. Ends at Ctrl-C, or when the worker in this process has stopped.
 */
async function followRun(
  query: () => Promise<PipelineStatus>,
  onReview: (s: PipelineStatus) => Promise<void>,
  ctx: { signal: AbortSignal; progress: Progress; workerStopped: () => unknown },
): Promise<PipelineStatus> {
  let handled = '';
  for (;;) {
    if (ctx.signal.aborted) throw new Interrupted();
    const stopped = ctx.workerStopped();
    if (stopped) {
      throw new CliError(
        `the worker in this process stopped (${rootMessage(stopped)}); the run waits in Temporal. ${resumeAdvice(ctx.progress).trim()}`,
      );
    }
    const s = await query().catch(() => undefined);
    if (s) ctx.progress.last = s;
    if (s && REVIEW_STAGES.includes(s.stage)) {
      // A review point is its stage and plan round, and the estimate (a redo raises it). Not the
      // prompts: an edit made at this review would look like a new one until the approval lands.
      const key = `${s.stage}:${s.planRound}:${s.estimatedCostUsd}`;
      if (key !== handled) {
        handled = key;
        await onReview(s);
      }
    }
    if (s && FINAL_STAGES.includes(s.stage)) return s;
    await orInterrupt(new Promise((r) => setTimeout(r, 400)), ctx.signal);
  }
}
