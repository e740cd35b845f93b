/**
 * `vidflow run`: the main job in one command. Uses the Temporal server at TEMPORAL_ADDRESS if
 * one answers, else starts the local dev server; runs a worker in this process; starts the run,
 * shows the plan and asks for approval (or `--yes`), shows per-scene progress, and prints the
 * video's path and the Web UI link. Everything durable lives in Temporal: Ctrl-C here loses
 * nothing, and `vidflow worker` finishes the run later.
 */
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import type { Config } from '../../config';
import { webUiRunUrl } from '../../config';
import { ensureFfmpeg } from '../../media/ffmpeg';
import { approveSignal, statusQuery } from '../../shared/messages';
import { FINAL_STAGES } from '../../shared/schemas';
import type { PipelineInput, PipelineStatus } from '../../shared/schemas';
import type { WorkflowHandle } from '@temporalio/client';
import type { videoPipeline } from '../../workflows';
import { installLogging } from '../../worker/logging';
import { createVidflowWorker } from '../../worker/worker';
import { connectClient } from '../connection';
import { serverAnswers, startDevServer } from '../dev-server';
import { CliError, rootMessage } from '../errors';
import { goOffline, OFFLINE_BANNER } from '../offline';
import { inputFromFlags, START_OPTIONS, START_OPTIONS_USAGE, startRun } from '../start';
import { editScene, redoScene, rejectPlan } from '../steer';
import { formatStatus } from '../status-format';
import type { ConfigLoader } from './command';
import { err as say } from './command';

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
  const input = inputFromFlags(positionals.join(' ') || undefined, values);
  return runJob(cfg, input, { yes: Boolean(values.yes), id: values.id, json: Boolean(values.json) });
}

interface RunOptions {
  yes: boolean;
  id?: string | undefined;
  json?: boolean;
}

async function ask(question: string, lower = true): Promise<string> {
  if (!process.stdin.isTTY)
    throw new CliError('no terminal to ask for approval: pass --yes, or approve with `vidflow approve <id>`', 2);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(question)).trim();
    return lower ? answer.toLowerCase() : answer;
  } finally {
    rl.close();
  }
}

async function runJob(baseCfg: Config, input: PipelineInput, opts: RunOptions): Promise<number> {
  await ensureFfmpeg();
  let cfg = baseCfg;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    if (!cfg.REPLICATE_API_TOKEN) {
      say(OFFLINE_BANNER);
      const offline = await goOffline(cfg);
      cfg = offline.cfg;
      cleanups.push(offline.close);
    } else if (!cfg.OPENAI_API_KEY) {
      say('OPENAI_API_KEY is not set: the plan will be a plain split of the prompt (marked fallback).');
    }

    if (!(await serverAnswers(cfg.TEMPORAL_ADDRESS))) {
      if (cfg.temporalAddressFrom) {
        // An address someone chose is not ours to replace with a local server.
        throw new CliError(`no Temporal server answers at ${cfg.TEMPORAL_ADDRESS} (set by ${cfg.temporalAddressFrom})`);
      }
      const server = await startDevServer({ log: say });
      cfg = { ...cfg, TEMPORAL_ADDRESS: server.address, TEMPORAL_UI_URL: server.uiUrl };
      if (server.stop) cleanups.push(server.stop);
      say(
        `Temporal dev server: ${server.address}, Web UI ${server.uiUrl}${server.stop ? '' : ' (keeps running; `npx vidflow server stop` stops it)'}`,
      );
    } else {
      say(`Temporal server: ${cfg.TEMPORAL_ADDRESS}`);
    }

    installLogging({ debug: Boolean(cfg.DEBUG), format: cfg.LOG_FORMAT });
    const { worker } = await createVidflowWorker({ cfg, log: say });
    // Like `vidflow worker`: Ctrl-C hands the generations over (src/worker/signals.ts).
    const workerDone = worker.run();
    cleanups.unshift(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerDone.catch(() => undefined);
    });

    const client = await connectClient(cfg);
    const { handle, existed } = await startRun(client, cfg, input, opts.id);
    const desc = await handle.describe();
    const ui = webUiRunUrl(cfg, handle.workflowId, desc.runId);
    say(`${existed ? 'run already exists' : 'started'}: ${handle.workflowId}\nWeb UI: ${ui}`);

    const status = await followRun(
      () => handle.query(statusQuery),
      (s) => decide(handle, s, opts.yes),
    );

    try {
      const result = await handle.result();
      say(
        `\nvideo: ${result.path}\n  ${result.durationSeconds.toFixed(2)} s, ${(result.sizeBytes / 1e6).toFixed(2)} MB, ${result.scenes.length} scenes\nWeb UI: ${ui}`,
      );
      if (opts.json) process.stdout.write(JSON.stringify({ ...result, webUiUrl: ui }) + '\n');
      else process.stdout.write(result.path + '\n');
      return 0;
    } catch (err) {
      say(`run ${status.stage}: ${rootMessage(err)}`);
      return 1;
    }
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}

type Handle = WorkflowHandle<typeof videoPipeline>;

/**
 * What a person decides at a review point: the plan (approve / edit / reject / cancel) or the
 * result (approve / redo / cancel). Returns once the run has moved on. With --yes, approves.
 */
async function decide(handle: Handle, s: PipelineStatus, yes: boolean): Promise<void> {
  say('\n' + formatStatus(handle.workflowId, s));
  say(
    `estimated cost: $${s.estimatedCostUsd.toFixed(2)}${s.maxCostUsd !== undefined ? ` (max $${s.maxCostUsd.toFixed(2)})` : ''}`,
  );
  if (yes) {
    await handle.signal(approveSignal);
    say(s.stage === 'awaiting_approval' ? 'plan approved (--yes)' : 'video approved (--yes)');
    return;
  }
  const atPlan = s.stage === 'awaiting_approval';
  for (;;) {
    const choice = await ask(
      atPlan
        ? '[a]pprove, [e]dit a scene, [r]eject with feedback, [c]ancel? '
        : '[a]pprove the video, [r]edo a scene, [c]ancel? ',
    );
    try {
      if (choice === 'a' || choice === 'approve') {
        await handle.signal(approveSignal);
        say('approved');
        return;
      }
      if (choice === 'c' || choice === 'cancel') {
        await handle.cancel();
        say('run cancelled');
        return;
      }
      if (atPlan && (choice === 'e' || choice === 'edit')) {
        const scene = await editScene(handle, await ask('scene number: '), await ask('new prompt: ', false));
        say(`scene ${scene.index}: ${scene.prompt}`);
        continue;
      }
      if (atPlan && (choice === 'r' || choice === 'reject')) {
        const round = await rejectPlan(handle, await ask('what should change? ', false));
        say(`making plan ${round} with your feedback …`);
        return;
      }
      if (!atPlan && (choice === 'r' || choice === 'redo')) {
        const scene = await ask('scene number: ');
        const prompt = await ask('new prompt (empty keeps it): ', false);
        const r = await redoScene(handle, scene, prompt || undefined);
        say(`scene ${r.index} will be generated again; estimated cost now $${r.estimatedCostUsd.toFixed(2)}`);
        return;
      }
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      say(err.message);
    }
  }
}

/**
 * Polls the status query until the run ends, handing each new review point (a plan round, a
 * result) to `onReview` once. Per-scene steps are not printed here: the in-process worker logs
 * one line per step already.
 */
async function followRun(
  query: () => Promise<PipelineStatus>,
  onReview: (s: PipelineStatus) => Promise<void>,
): Promise<PipelineStatus> {
  let handled = '';
  for (;;) {
    const s = await query().catch(() => undefined);
    if (s && (s.stage === 'awaiting_approval' || s.stage === 'reviewing_result')) {
      // A review point is identified by its stage, plan round and what changed since.
      const key = `${s.stage}:${s.planRound}:${s.estimatedCostUsd}:${s.scenes.map((x) => x.prompt).join('|')}`;
      if (key !== handled) {
        handled = key;
        await onReview(s);
      }
    }
    if (s && FINAL_STAGES.includes(s.stage)) return s;
    await new Promise((r) => setTimeout(r, 400));
  }
}
