/**
 * The real `openai` and `replicate` clients pointed at the emulators, for the emulator tests
 * (test/emulators-*.test.ts): the keys, a plan request, and how to read the clients' errors.
 */
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import Replicate from 'replicate';
import type { ApiError, Prediction } from 'replicate';
import { z } from 'zod';
import type { EmulatorConfigPatch } from '../../src/emulators';
import { useEmulators } from './activity-env';
import type { TestEmulators } from './activity-env';

export const OPENAI_KEY = 'sk-test-emulator-key-0123456789-wxyz';
export const REPLICATE_TOKEN = 'r8_test-emulator-token-0123456789-qrst';
export const KLING = 'kwaivgi/kling-v2.5-turbo-pro';
const PlanSchema = z.object({ scenes: z.array(z.object({ prompt: z.string() })).length(3) });
export const FAST: EmulatorConfigPatch = {
  replicate: { startingMs: 50, processingMs: 200, clipWidth: 160, clipHeight: 90 },
};

export interface EmulatorClients {
  emu: TestEmulators;
  openai: (apiKey?: string) => OpenAI;
  replicate: (auth?: string) => Replicate;
  /** Every line the emulators logged in this file: the last test checks it holds no secret. */
  logLines: string[];
}

/** Emulators for one test file, reset to FAST before each test, and clients for them. */
export function useEmulatorClients(): EmulatorClients {
  const logLines: string[] = [];
  const emu = useEmulators({ log: (line) => logLines.push(line), eachTest: FAST });
  return {
    emu,
    logLines,
    openai: (apiKey = OPENAI_KEY) => new OpenAI({ apiKey, baseURL: emu.openaiBaseUrl, maxRetries: 0 }),
    replicate: (auth = REPLICATE_TOKEN) => new Replicate({ auth, baseUrl: emu.replicateBaseUrl }),
  };
}

/** Runs last in a file: nothing the emulators logged or hold names a key or token. */
export function assertNoSecretsLogged({ emu, logLines }: EmulatorClients, atLeastLines: number): void {
  assert.ok(logLines.length >= atLeastLines, `only ${logLines.length} log lines`);
  const everything = logLines.join('\n') + JSON.stringify(emu.state);
  assert.ok(!everything.includes(OPENAI_KEY));
  assert.ok(!everything.includes(REPLICATE_TOKEN));
}

export const planRequest = (prompt = 'a beautiful sunset over the sea') => ({
  model: 'gpt-4o-mini',
  messages: [
    {
      role: 'system' as const,
      content: 'Split the video idea into exactly 3 scene prompts for a text-to-video model.',
    },
    { role: 'user' as const, content: prompt },
  ],
  response_format: zodResponseFormat(PlanSchema, 'plan'),
});

/** replicate exports ApiError only as a type, so check the name it sets. */
export function apiError(err: unknown): ApiError {
  assert.ok(err instanceof Error && err.name === 'ApiError', `expected ApiError, got ${String(err)}`);
  return err as ApiError;
}

/** The JSON body of a replicate ApiError (the client has already read the response into the message). */
export function problemBody(e: unknown): Record<string, unknown> {
  const err = apiError(e);
  const json = err.message.slice(err.message.indexOf('{'), err.message.lastIndexOf('}') + 1);
  return JSON.parse(json) as Record<string, unknown>;
}

export async function pollUntil(
  client: Replicate,
  id: string,
  done: (p: Prediction) => boolean,
  seen: Prediction[] = [],
): Promise<Prediction> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const p = await client.predictions.get(id);
    seen.push(p);
    if (done(p)) return p;
    if (Date.now() > deadline) throw new Error(`prediction ${id} stuck in ${p.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
export const terminal = (p: Prediction) => ['succeeded', 'failed', 'canceled', 'aborted'].includes(p.status);
