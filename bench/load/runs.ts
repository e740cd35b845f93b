/** One bench run: an auto-approved prompt of its own, started the way `vidflow run --yes` starts it. */
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
/** Starts one auto-approved run with a prompt of its own and waits for its result. */
export async function oneRun(client: Client, cfg: Config, t0: number, label: string): Promise<RunOutcome> {
  const n = ++runCounter;
  const colours = ['red', 'green', 'blue', 'golden', 'silver', 'violet', 'amber', 'teal'];
  const prompt = `load bench ${label} run ${n} (${t0.toString(36)}): a ${colours[n % colours.length]} balloon over hills number ${n}`;
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
