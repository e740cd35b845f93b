/**
 * Crash tests and the chaos script: one isolated "case" (its own emulator process, task queue,
 * folders and `vidflow worker` processes) that can be SIGKILLed and restarted, plus readers of a
 * run's history and of the emulators' bookkeeping that say whether a crash cost a second
 * prediction or lost a step.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { EmulatorState } from '../../src/emulators';
import { sceneColor } from '../../src/media/testclip';
import { colorDistance, frameColor } from './video';
import { startEmulatorProcess, startWorkerProcess, temporalCli, vidflow } from './processes';
import type { EmulatorProcess, WorkerProcess } from './processes';
import { eventually } from './temporal';

export interface CaseOptions {
  /** Temporal frontend, host:port. */
  address: string;
  /** Names the task queue and temp folder, so a leftover is easy to trace to its case. */
  name: string;
  /** Emulator configuration (`{openai, replicate}`), applied at start. */
  emulator?: unknown;
}

export interface CrashCase {
  name: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  emu: EmulatorProcess;
  /** Every worker process of the case, oldest first; the last one is the current one. */
  workers: WorkerProcess[];
  /** Starts a worker process and waits until it polls. */
  startWorker(): Promise<WorkerProcess>;
  /** SIGKILLs the current worker (no shutdown, no last heartbeat) and waits for it to be gone. */
  killWorker(): Promise<void>;
  /** All worker logs, each headed by its number, for failure messages. */
  logs(): string;
  close(): Promise<void>;
}

export async function startCase(opts: CaseOptions): Promise<CrashCase> {
  const dir = await mkdtemp(join(tmpdir(), `vidflow-${opts.name}-`));
  const emu = await startEmulatorProcess(opts.emulator ?? {});
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: opts.address,
    TEMPORAL_TASK_QUEUE: `${opts.name}-${process.pid}-${Date.now().toString(36)}`,
    OPENAI_API_KEY: 'sk-test-crash',
    OPENAI_BASE_URL: emu.openaiBaseUrl,
    REPLICATE_API_TOKEN: 'r8_test_crash',
    REPLICATE_BASE_URL: emu.replicateBaseUrl,
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
    VIDFLOW_WORK_DIR: join(dir, 'work'),
    VIDFLOW_POLL_INTERVAL_MS: '200',
  };
  const workers: WorkerProcess[] = [];
  const current = () => workers[workers.length - 1];
  return {
    name: opts.name,
    dir,
    env,
    emu,
    workers,
    async startWorker() {
      const w = startWorkerProcess(env);
      workers.push(w);
      await w.ready;
      return w;
    },
    async killWorker() {
      await current()?.kill('SIGKILL');
    },
    logs() {
      return workers.map((w, i) => `--- worker ${i + 1} ---\n${w.logs()}`).join('\n');
    },
    async close() {
      for (const w of workers) await w.kill('SIGKILL');
      await emu.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `vidflow start <prompt> --json [...flags]`; returns the workflow id. */
export async function startRun(env: NodeJS.ProcessEnv, prompt: string, flags: string[] = []): Promise<string> {
  const r = await vidflow(['start', prompt, '--json', ...flags], env);
  if (r.code !== 0) throw new Error(`vidflow start exited ${r.code}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { workflowId: string }).workflowId;
}

export interface StatusJson {
  stage: string;
  planner?: string;
  scenes: { index: number; prompt: string; status: string }[];
}

/** `vidflow status <id> --json`, or undefined when it fails (e.g. no worker answers the query). */
export async function statusOf(env: NodeJS.ProcessEnv, workflowId: string): Promise<StatusJson | undefined> {
  const r = await vidflow(['status', workflowId, '--json'], env, 30_000);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as StatusJson;
}

/** Polls `vidflow status` until the run is at `stage`. */
export function waitForStage(env: NodeJS.ProcessEnv, workflowId: string, stage: string, ms = 90_000) {
  return eventually(
    async () => {
      const s = await statusOf(env, workflowId);
      return s?.stage === stage ? s : undefined;
    },
    ms,
    `${workflowId} at stage ${stage}`,
  );
}

/**
 * The emulators' whole state. `EmulatorProcess.state()` is typed with only the fields the e2e test
 * reads; the control API returns the emulators' `EmulatorState` as JSON (download counters too).
 */
export async function emulatorState(emu: EmulatorProcess): Promise<EmulatorState> {
  return (await emu.state()) as unknown as EmulatorState;
}

/** Polls the emulators' state until `pick` returns something. */
export function waitForEmulator<T>(
  emu: EmulatorProcess,
  pick: (s: EmulatorState) => T | undefined | false,
  what: string,
  ms = 90_000,
): Promise<T> {
  return eventually(async () => pick(await emulatorState(emu)), ms, what);
}

export interface RunResult {
  path: string;
  durationSeconds: number;
  sizeBytes: number;
  scenes: { index: number; prompt: string; predictionId: string }[];
}

/**
 * Waits for a case's run and reads its activities from the history; when the run failed, the error
 * carries the activities and every worker log, which is what a crash test needs to be debugged.
 */
export async function resultWithHistory(
  c: CrashCase,
  workflowId: string,
  address: string,
): Promise<{ result: RunResult; acts: ActivityRecord[] }> {
  let result: RunResult;
  try {
    result = await resultOf(c.env, workflowId);
  } catch (err) {
    const acts = describeActivities(activitiesOf(historyOf(address, workflowId)));
    throw new Error(`${(err as Error).message}\nactivities: ${acts}\n${c.logs()}`, { cause: err });
  }
  return { result, acts: activitiesOf(historyOf(address, workflowId)) };
}

/**
 * What a crash or a shutdown must not break, for a 3-scene run: one prediction per scene and no
 * other (all three succeeded and are the ones the result names), and each scene's clip in its
 * place (a retried download writing the wrong scene would show in the mid-scene colour).
 */
export function assertPaidOnceAndInPlace(result: RunResult, state: EmulatorState): void {
  const prompts = result.scenes.map((s) => s.prompt);
  assert.equal(new Set(prompts).size, 3, 'three distinct scene prompts');
  assert.deepEqual(predictionsPerPrompt(state, prompts), [1, 1, 1], 'exactly one prediction per scene');
  assert.equal(state.replicate.predictionsCreated, 3, `predictions created: ${state.replicate.predictionsCreated}`);
  const used = result.scenes.map((s) => state.replicate.predictions.find((p) => p.id === s.predictionId)?.status);
  assert.deepEqual(used, ['succeeded', 'succeeded', 'succeeded']);
  const mids = [2.0, 7.0, 12.0];
  result.scenes.forEach((scene, i) => {
    const assigned = state.replicate.promptScenes[scene.prompt];
    assert.ok(assigned, `scene ${scene.index} has a colour at the emulator`);
    const seen = frameColor(result.path, mids[i]!);
    assert.ok(colorDistance(seen, sceneColor(assigned.scene).rgb) < 40, `scene ${scene.index}: ${seen.join(',')}`);
  });
}

/** `vidflow result <id> --json`: waits for the run; throws with the CLI's reason when it failed. */
export async function resultOf(env: NodeJS.ProcessEnv, workflowId: string, ms = 300_000): Promise<RunResult> {
  const r = await vidflow(['result', workflowId, '--json'], env, ms);
  if (r.code !== 0) throw new Error(`vidflow result ${workflowId} exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as RunResult;
}

export interface HistoryEvent {
  eventId: string | number;
  eventType: string;
  eventTime?: string;
  activityTaskScheduledEventAttributes?: { activityType: { name: string } };
  activityTaskStartedEventAttributes?: {
    scheduledEventId: string | number;
    attempt?: number;
    lastFailure?: { message?: string };
  };
}

export function historyOf(address: string, workflowId: string): HistoryEvent[] {
  const r = temporalCli(['workflow', 'show', '--address', address, '--workflow-id', workflowId, '--output', 'json']);
  if (r.code !== 0) throw new Error(`temporal workflow show ${workflowId}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { events: HistoryEvent[] }).events;
}

export interface ActivityRecord {
  name: string;
  /** The attempt that ended the activity (1 = no retry), from its ActivityTaskStarted event. */
  attempt: number;
  /** Why the previous attempt ended, e.g. "activity Heartbeat timeout". */
  lastFailure?: string;
}

/**
 * Activities of a run in schedule order. The server writes an activity's ActivityTaskStarted
 * event only when it closes, with the final attempt number, so attempt 2 means exactly one
 * attempt was lost (here: to a killed worker).
 */
export function activitiesOf(events: HistoryEvent[]): ActivityRecord[] {
  const byScheduled = new Map<string, ActivityRecord>();
  const out: ActivityRecord[] = [];
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      const rec: ActivityRecord = { name: s.activityType.name, attempt: 0 };
      byScheduled.set(String(e.eventId), rec);
      out.push(rec);
    }
    const st = e.activityTaskStartedEventAttributes;
    if (st) {
      const rec = byScheduled.get(String(st.scheduledEventId));
      if (rec) {
        rec.attempt = st.attempt ?? 1;
        if (st.lastFailure?.message) rec.lastFailure = st.lastFailure.message;
      }
    }
  }
  return out;
}

/** One line per activity, for failure messages and diagnostics. */
export function describeActivities(acts: ActivityRecord[]): string {
  return acts
    .map((a) => `${a.name}#${a.attempt}${a.lastFailure ? ` (previous attempt: ${a.lastFailure})` : ''}`)
    .join(', ');
}

/** Predictions whose input prompt is one of `prompts`, counted per prompt. */
export function predictionsPerPrompt(state: EmulatorState, prompts: string[]): number[] {
  return prompts.map((p) => state.replicate.predictions.filter((x) => x.input.prompt === p).length);
}

/** A free TCP port on the loopback interface (closed again, so there is a small race; fine for tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Pids of the processes whose command line contains `needle` (read from /proc). Used to SIGKILL
 * the dev server we started — `DevServer` exposes only a graceful stop — by its unique database
 * path, which no other process has in its command line.
 */
export function pidsWithArg(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes(needle)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export function seconds(fromMs: number, toMs = Date.now()): string {
  return `${((toMs - fromMs) / 1000).toFixed(1)} s`;
}
