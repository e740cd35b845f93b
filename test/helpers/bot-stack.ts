/**
 * The parts `vidflow bot` runs with in the bot tests (test/bot-*.test.ts), all real: the Telegram
 * Bot API emulator, the OpenAI/Replicate emulators in their own process, a `vidflow worker`
 * process, the bot as its own process, and a Temporal dev server (the test server when
 * TEMPORAL_TEST_ADDRESS is set). Plus ways to read a chat and what the run paid for.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer } from '../../src/client/dev-server';
import type { DevServer } from '../../src/client/dev-server';
import { EMULATOR_BOT_TOKEN } from '../../src/emulators';
import { startTelegramEmulator } from '../../src/emulators/telegram';
import type { ChatEntry, RunningTelegramEmulator } from '../../src/emulators/telegram';
import { VIDFLOW_CHAT } from '../../src/shared/names';
import { startBotProcess } from './bot';
import type { BotProcess, Chat } from './bot';
import { historyOf } from './crash';
import { startEmulatorProcess, startWorkerProcess } from './processes';
import type { EmulatorProcess, WorkerProcess } from './processes';

export const TOKEN = EMULATOR_BOT_TOKEN;
export const TOKEN_SECRET = TOKEN.split(':')[1]!;

export interface BotStack {
  dir: string;
  address: string;
  tg: RunningTelegramEmulator;
  emu: EmulatorProcess;
  worker: WorkerProcess;
  /** The first bot; a test that starts another pushes it to `bots`, so stop() ends it too. */
  bot: BotProcess;
  bots: BotProcess[];
  botEnv: NodeJS.ProcessEnv;
  client: Client;
  /** Runs the tests started: the last test checks that none of their histories holds the token. */
  runIds: string[];
  stop(): Promise<void>;
}

export async function startBotStack(): Promise<BotStack> {
  let server: DevServer | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'vidflow-bot-'));
  let address = process.env.TEMPORAL_TEST_ADDRESS ?? '';
  if (!address) {
    const port = 20000 + ((process.pid + 7) % 20000);
    server = await startDevServer({ port, uiPort: port + 1, detached: false, dbFile: join(dir, 'temporal.db') });
    address = server.address;
  }
  const tg = await startTelegramEmulator({ token: TOKEN });
  const emu = await startEmulatorProcess({
    replicate: { startingMs: 200, processingMs: 1500, clipWidth: 320, clipHeight: 180 },
  });
  const common = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `bot-${process.pid}`,
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
  };
  const worker = startWorkerProcess({
    ...common,
    OPENAI_API_KEY: 'sk-test-bot',
    OPENAI_BASE_URL: emu.openaiBaseUrl,
    REPLICATE_API_TOKEN: 'r8_test_bot',
    REPLICATE_BASE_URL: emu.replicateBaseUrl,
    VIDFLOW_WORK_DIR: join(dir, 'work'),
    VIDFLOW_POLL_INTERVAL_MS: '200',
  });
  // The bot holds no provider key: it only talks to Telegram and Temporal.
  const botEnv: NodeJS.ProcessEnv = {
    ...common,
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: tg.apiRoot,
    VIDFLOW_TELEGRAM_USERS: '101,102,103,104,105',
    VIDFLOW_TELEGRAM_DATA_DIR: join(dir, 'bot'),
    VIDFLOW_TELEGRAM_POLL_MS: '300',
    VIDFLOW_TELEGRAM_MAX_RUNS: '2',
    VIDFLOW_TELEGRAM_DAILY_USD: '5',
  };
  const bot = startBotProcess(botEnv);
  const bots = [bot];
  await Promise.all([worker.ready, bot.ready]);
  const client = new Client({ connection: await Connection.connect({ address }) });
  return {
    dir,
    address,
    tg,
    emu,
    worker,
    bot,
    bots,
    botEnv,
    client,
    runIds: [],
    async stop() {
      for (const b of bots) await b.kill('SIGKILL');
      await worker.kill('SIGTERM');
      await emu.stop();
      await tg.close();
      await client.connection.close();
      await server?.stop?.();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const textOf = (e: ChatEntry) => e.text ?? e.caption ?? '';
export const buttons = (e: ChatEntry) => (e.sent_markup?.inline_keyboard ?? []).flat().map((b) => b.text);

/** Predictions the Replicate emulator made for scenes whose prompt mentions `marker`, per scene prompt. */
export async function predictionsFor(emu: EmulatorProcess, marker: string): Promise<number[]> {
  const state = await emu.state();
  const counts = new Map<string, number>();
  for (const p of state.replicate.predictions) {
    if (p.input.prompt.includes(marker)) counts.set(p.input.prompt, (counts.get(p.input.prompt) ?? 0) + 1);
  }
  return [...counts.values()];
}

/** The runs of a chat that this stack's bot started (its task queue), by the VidflowChat search attribute. */
export async function runsOfChat(stack: BotStack, chatId: number): Promise<string[]> {
  const ids: string[] = [];
  const query = `${VIDFLOW_CHAT.name} = '${chatId}' AND TaskQueue = '${stack.botEnv.TEMPORAL_TASK_QUEUE!}'`;
  for await (const wf of stack.client.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

export async function planOf(chat: Chat, promptId: number, pattern: RegExp): Promise<ChatEntry> {
  return chat.waitFor(
    (e) => pattern.test(textOf(e)) && (e.sent_markup?.inline_keyboard.length ?? 0) > 0,
    'a plan',
    30_000,
    promptId,
  );
}

/** No bot log, worker log or history of the stack's runs holds the token's secret half. */
export function assertTokenNowhere(stack: BotStack, atLeastRuns: number): void {
  for (const b of stack.bots) assert.ok(!b.logs().includes(TOKEN_SECRET), `a bot log holds the token:\n${b.logs()}`);
  assert.ok(!stack.worker.logs().includes(TOKEN_SECRET));
  assert.ok(stack.runIds.length >= atLeastRuns, `${stack.runIds.length} runs`);
  for (const id of stack.runIds) {
    assert.ok(!JSON.stringify(historyOf(stack.address, id)).includes(TOKEN_SECRET), `history of ${id}`);
  }
}
