/** One bench run: an auto-approved prompt, started the way `vidflow run --yes` starts it. */
import type { Client } from '@temporalio/client';
import { inputFromFlags, startRun } from '../../src/client/start';
import type { Config } from '../../src/config';

export interface RunOutcome {
  workflowId: string;
  ok: boolean;
  ms: number;
  error?: string;
}

let runCounter = 0;
/** Starts one auto-approved run (one of eight prompts) and waits for its result. */
export async function oneRun(client: Client, cfg: Config, t0: number, label: string): Promise<RunOutcome> {
  const n = ++runCounter;
  // Eight prompts for all runs, not one each: the emulated provider renders each distinct scene
  // prompt's clip with ffmpeg on this machine's cores, work the real one does on its own GPUs. With a
  // prompt per run, 300 renders took 78 CPU-s of the 2 cores in the minute the worker created and
  // heartbeated its 300 generations (70 of them then missed their heartbeat timeout).
  const colours = ['red', 'green', 'blue', 'golden', 'silver', 'violet', 'amber', 'teal'];
  const prompt = `load bench: a ${colours[n % colours.length]} balloon over hills`;
  const workflowId = `bench-load-${t0.toString(36)}-${label}-${n}`;
  const started = Date.now();
  try {
    const input = inputFromFlags(prompt, { 'auto-approve': true });
    const { handle } = await startRun(client, cfg, input, workflowId);
    await handle.result();
    return { workflowId, ok: true, ms: Date.now() - started };
  } catch (err) {
    return { workflowId, ok: false, ms: Date.now() - started, error: rootMessage(err) };
  }
}

function rootMessage(e: unknown): string {
  let cur: unknown = e;
  while (cur instanceof Error && cur.cause instanceof Error) cur = cur.cause;
  return cur instanceof Error ? cur.message : String(cur);
}
