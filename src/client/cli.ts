/**
 * `vidflow <command>`: the command line of vidflow. Standard output carries results (one JSON
 * document with --json); notices, progress and logs go to standard error.
 */
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, webUiRunUrl } from '../config';
import type { Config } from '../config';
import { handOverGenerations } from '../activities/generate';
import { stitchCommand } from '../media/stitch-cli';
import { approveSignal, statusQuery } from '../shared/messages';
import type { PipelineResult } from '../shared/schemas';
import { installLogging, workerLog } from '../worker/logging';
import { createVidflowWorker, WorkerConfigError } from '../worker/worker';
import type { videoPipeline } from '../workflows';
import { CliError, connectClient } from './connection';
import { downloadResult, downloadTarget } from './download-result';
import { serverAnswers, startDevServer, stopDevServer } from './dev-server';
import { listRuns } from './list';
import { runCommand } from './run';
import { editScene, redoScene, rejectPlan } from './steer';
import { watch } from './watch';
import { inputFromFlags, START_OPTIONS, startRun } from './start';
import { formatStatus } from './status-format';

const USAGE = `vidflow: durable text-to-video on Temporal

Usage:
  vidflow run "<prompt>" [--yes] [start options]   the whole job: server, worker, plan, approval, video
  vidflow worker                                    run a worker (needs REPLICATE_API_TOKEN)
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

Start options: --scenes 1-6 (3)  --seconds 5|10 (5)  --aspect 16:9|9:16|1:1  --model kling-v2.5-turbo-pro
               --transition SECONDS (0.5)  --id WORKFLOW_ID  --auto-approve
               --approval-timeout 24h  --max-cost USD  --review-result  --worker-timeout 1m
Configuration: environment or .env (see .env.example). DEBUG=1 for detail.`;

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

function one(positionals: string[], what: string): string {
  const v = positionals[0];
  if (!v) throw new CliError(`missing ${what}\n\n${USAGE}`, 2);
  return v;
}

async function handleFor(cfg: Config, id: string) {
  const client = await connectClient(cfg);
  return client.workflow.getHandle<typeof videoPipeline>(id);
}

function rootMessage(e: unknown): string {
  let cur: unknown = e;
  while (cur instanceof Error && cur.cause instanceof Error) cur = cur.cause;
  return cur instanceof Error ? cur.message : String(cur);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    out(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'stitch') return stitchCommand(rest);

  const cfg = loadConfig();
  switch (command) {
    case 'worker': {
      parseArgs({ args: rest, options: {}, allowPositionals: false });
      installLogging({ debug: Boolean(cfg.DEBUG), format: cfg.LOG_FORMAT });
      const { worker } = await createVidflowWorker({ cfg, log: workerLog });
      // A redeploy's SIGTERM (the SDK starts the graceful shutdown on it too): generations hand over
      // at once, their predictions live on at Replicate; other activities get the grace time.
      // The SDK's own shutdown signals, Ctrl-C included.
      for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGUSR2'] as const)
        process.once(signal, handOverGenerations);
      await worker.run();
      return 0;
    }
    case 'start': {
      const { values, positionals } = parseArgs({ args: rest, options: START_OPTIONS, allowPositionals: true });
      const input = inputFromFlags(positionals.join(' ') || undefined, values);
      const client = await connectClient(cfg);
      const { handle, existed } = await startRun(client, cfg, input, values.id);
      const desc = await handle.describe();
      const webUiUrl = webUiRunUrl(cfg, handle.workflowId, desc.runId);
      if (existed) err(`run ${handle.workflowId} already exists (${desc.status.name}); not starting another`);
      if (values.json)
        out(
          JSON.stringify({
            workflowId: handle.workflowId,
            runId: desc.runId,
            webUiUrl,
            ...(existed ? { existed } : {}),
          }),
        );
      else out(`${existed ? 'exists' : 'started'}: ${handle.workflowId}\nWeb UI: ${webUiUrl}`);
      return 0;
    }
    case 'status': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { json: { type: 'boolean' } },
        allowPositionals: true,
      });
      const id = one(positionals, 'workflow id');
      const status = await (await handleFor(cfg, id)).query(statusQuery);
      out(values.json ? JSON.stringify(status) : formatStatus(id, status));
      return 0;
    }
    case 'approve': {
      const { positionals } = parseArgs({ args: rest, options: {}, allowPositionals: true });
      const id = one(positionals, 'workflow id');
      await (await handleFor(cfg, id)).signal(approveSignal);
      out(`approved: ${id}`);
      return 0;
    }
    case 'edit':
    case 'redo': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { scene: { type: 'string' }, prompt: { type: 'string' } },
        allowPositionals: true,
      });
      const handle = await handleFor(cfg, one(positionals, 'workflow id'));
      if (command === 'edit') {
        const scene = await editScene(handle, values.scene, values.prompt);
        out(`scene ${scene.index}: ${scene.prompt}`);
      } else {
        const r = await redoScene(handle, values.scene, values.prompt);
        out(`scene ${r.index} will be generated again; estimated cost now $${r.estimatedCostUsd.toFixed(2)}`);
      }
      return 0;
    }
    case 'reject': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { feedback: { type: 'string' } },
        allowPositionals: true,
      });
      const round = await rejectPlan(await handleFor(cfg, one(positionals, 'workflow id')), values.feedback);
      out(`rejected: making plan ${round} with your feedback`);
      return 0;
    }
    case 'watch': {
      const { positionals } = parseArgs({ args: rest, options: {}, allowPositionals: true });
      const id = one(positionals, 'workflow id');
      const final = await watch(id, await handleFor(cfg, id), (s) => process.stderr.write(s));
      if (final.output) out(final.output.path);
      return final.stage === 'completed' ? 0 : 1;
    }
    case 'list': {
      const { values } = parseArgs({ args: rest, options: { stage: { type: 'string' }, json: { type: 'boolean' } } });
      const runs = await listRuns(await connectClient(cfg), values.stage);
      if (values.json) out(JSON.stringify(runs));
      else for (const r of runs) out(`${r.workflowId}  ${r.stage.padEnd(18)} ${r.startTime}  ${r.summary ?? ''}`);
      return 0;
    }
    case 'cancel': {
      const { positionals } = parseArgs({ args: rest, options: {}, allowPositionals: true });
      const id = one(positionals, 'workflow id');
      await (await handleFor(cfg, id)).cancel();
      out(`cancel requested: ${id}`);
      return 0;
    }
    case 'result': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          json: { type: 'boolean' },
          download: { type: 'boolean' },
          out: { type: 'string' },
          force: { type: 'boolean' },
        },
        allowPositionals: true,
      });
      const id = one(positionals, 'workflow id');
      if ((values.out !== undefined || values.force) && !values.download) {
        throw new CliError('--out and --force go with --download', 2);
      }
      // Before waiting for the run: a refusal after a ten-minute wait would waste the wait.
      if (values.download) downloadTarget(id, values.out, values.force);
      const handle = await handleFor(cfg, id);
      let result: PipelineResult;
      try {
        result = await handle.result();
      } catch (e) {
        if (e instanceof WorkflowFailedError) throw new CliError(`run ${id} failed: ${rootMessage(e)}`);
        throw e;
      }
      // Results of runs from before worker affinity have neither worker nor artifactUri.
      const { path, durationSeconds, sizeBytes, scenes, worker, artifactUri } = result;
      if (values.download) {
        const saved = await downloadResult(
          cfg,
          id,
          { path, ...(artifactUri ? { artifactUri } : {}) },
          {
            out: values.out,
            force: values.force,
            progress: err,
          },
        );
        out(
          values.json
            ? JSON.stringify({ path: saved.path, sizeBytes: saved.sizeBytes, artifactUri: saved.uri, durationSeconds })
            : `${saved.path} (${(saved.sizeBytes / 1e6).toFixed(2)} MB)`,
        );
        return 0;
      }
      out(
        values.json
          ? JSON.stringify({
              path,
              durationSeconds,
              sizeBytes,
              scenes,
              ...(worker ? { worker } : {}),
              ...(artifactUri ? { artifactUri } : {}),
            })
          : // With a remote store the worker's copy is gone: name where the video is now.
            `${artifactUri && !artifactUri.startsWith('file:') ? artifactUri : path} (${durationSeconds.toFixed(2)} s, ${(sizeBytes / 1e6).toFixed(2)} MB${worker ? `, stitched by ${worker}` : ''})`,
      );
      return 0;
    }
    case 'run': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...START_OPTIONS, yes: { type: 'boolean', short: 'y' } },
        allowPositionals: true,
      });
      const input = inputFromFlags(positionals.join(' ') || undefined, values);
      return runCommand(cfg, input, { yes: Boolean(values.yes), id: values.id, json: Boolean(values.json) });
    }
    case 'server': {
      if (rest[0] === 'stop') {
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
    default:
      throw new CliError(`unknown command "${command}"\n\n${USAGE}`, 2);
  }
}

export function reportError(e: unknown): number {
  if (e instanceof CliError) {
    err(`vidflow: ${e.message}`);
    return e.exitCode;
  }
  if (e instanceof ConfigError || e instanceof WorkerConfigError) {
    err(`vidflow: ${e.message}`);
    return 2;
  }
  if (e instanceof WorkflowNotFoundError) {
    err(`vidflow: no such run: ${e.workflowId}`);
    return 1;
  }
  if (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) {
    err(`vidflow: ${e.message}`);
    return 2;
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
