/**
 * `vidflow bot` end to end, with real parts only: the bot as its own process (grammY against the
 * Telegram Bot API emulator), the Temporal dev server, a `vidflow worker` process, the
 * OpenAI/Replicate emulators in their own process, ffmpeg. A person's messages and taps are
 * injected at the emulator; what the bot sent is read back from it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer } from '../src/client/dev-server';
import type { DevServer } from '../src/client/dev-server';
import { EMULATOR_BOT_TOKEN } from '../src/emulators';
import { startTelegramEmulator } from '../src/emulators/telegram';
import type { ChatEntry, RunningTelegramEmulator } from '../src/emulators/telegram';
import { statusQuery } from '../src/shared/messages';
import { VIDFLOW_CHAT } from '../src/shared/names';
import { chatOf, startBotProcess } from './helpers/bot';
import type { BotProcess, Chat } from './helpers/bot';
import { freePort, historyOf } from './helpers/crash';
import { startEmulatorProcess, startWorkerProcess } from './helpers/processes';
import type { EmulatorProcess, WorkerProcess } from './helpers/processes';
import { eventually } from './helpers/temporal';
import { durationOf } from './helpers/video';

const TOKEN = EMULATOR_BOT_TOKEN;
const TOKEN_SECRET = TOKEN.split(':')[1]!;

let dir: string;
let server: DevServer | undefined;
let address: string;
let tg: RunningTelegramEmulator;
let emu: EmulatorProcess;
let worker: WorkerProcess;
let bot: BotProcess;
const bots: BotProcess[] = [];
let botEnv: NodeJS.ProcessEnv;
let client: Client;
const runIds: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-bot-'));
  address = process.env.TEMPORAL_TEST_ADDRESS ?? '';
  if (!address) {
    const port = 20000 + ((process.pid + 7) % 20000);
    server = await startDevServer({ port, uiPort: port + 1, detached: false, dbFile: join(dir, 'temporal.db') });
    address = server.address;
  }
  tg = await startTelegramEmulator({ token: TOKEN });
  emu = await startEmulatorProcess({
    replicate: { startingMs: 200, processingMs: 1500, clipWidth: 320, clipHeight: 180 },
  });
  const common = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `bot-${process.pid}`,
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
  };
  worker = startWorkerProcess({
    ...common,
    OPENAI_API_KEY: 'sk-test-bot',
    OPENAI_BASE_URL: emu.openaiBaseUrl,
    REPLICATE_API_TOKEN: 'r8_test_bot',
    REPLICATE_BASE_URL: emu.replicateBaseUrl,
    VIDFLOW_WORK_DIR: join(dir, 'work'),
    VIDFLOW_POLL_INTERVAL_MS: '200',
  });
  // The bot holds no provider key: it only talks to Telegram and Temporal.
  botEnv = {
    ...common,
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: tg.apiRoot,
    VIDFLOW_TELEGRAM_USERS: '101,102,103,104,105',
    VIDFLOW_TELEGRAM_DATA_DIR: join(dir, 'bot'),
    VIDFLOW_TELEGRAM_POLL_MS: '300',
    VIDFLOW_TELEGRAM_MAX_RUNS: '2',
    VIDFLOW_TELEGRAM_DAILY_USD: '5',
  };
  bot = startBotProcess(botEnv);
  bots.push(bot);
  await Promise.all([worker.ready, bot.ready]);
  client = new Client({ connection: await Connection.connect({ address }) });
});

after(async () => {
  for (const b of bots) await b.kill('SIGKILL');
  await worker?.kill('SIGTERM');
  await emu?.stop();
  await tg?.close();
  await client?.connection.close();
  await server?.stop?.();
  await rm(dir, { recursive: true, force: true });
});

const textOf = (e: ChatEntry) => e.text ?? e.caption ?? '';
const buttons = (e: ChatEntry) => (e.sent_markup?.inline_keyboard ?? []).flat().map((b) => b.text);

/** Predictions the Replicate emulator made for scenes whose prompt mentions `marker`, per scene prompt. */
async function predictionsFor(marker: string): Promise<number[]> {
  const state = await emu.state();
  const counts = new Map<string, number>();
  for (const p of state.replicate.predictions) {
    if (p.input.prompt.includes(marker)) counts.set(p.input.prompt, (counts.get(p.input.prompt) ?? 0) + 1);
  }
  return [...counts.values()];
}

async function runsOfChat(chatId: number): Promise<string[]> {
  const ids: string[] = [];
  const query = `${VIDFLOW_CHAT.name} = '${chatId}' AND TaskQueue = '${botEnv.TEMPORAL_TASK_QUEUE!}'`;
  for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

async function planOf(chat: Chat, promptId: number, pattern: RegExp): Promise<ChatEntry> {
  return chat.waitFor(
    (e) => pattern.test(textOf(e)) && (e.sent_markup?.inline_keyboard.length ?? 0) > 0,
    'a plan',
    30_000,
    promptId,
  );
}

test('a prompt: "planning…" at once, the plan with its buttons, approve, one progress message, the 14.0 s MP4 in the chat; a 429 on an edit is waited out', async () => {
  const ann = chatOf(tg.emulator, 101, 'en');
  const saidAt = Date.now();
  const promptId = ann.say('a lighthouse in a storm at night');
  runIds.push(`tg-1000001-101-${promptId}`);
  const planning = await ann.waitFor((e) => /Planning your video/.test(textOf(e)), '"planning…"', 10_000, promptId);
  assert.ok(planning.at - saidAt < 3000, `"planning…" after ${planning.at - saidAt} ms`);
  assert.equal(planning.reply_to, promptId, 'it answers the prompt');

  const plan = await planOf(ann, promptId, /^📝 Plan: 3 scenes × 5 s, 16:9/);
  assert.match(textOf(plan), /Planned by: OpenAI/);
  assert.match(textOf(plan), /\n1\. .*lighthouse.*\n2\. .*\n3\. /);
  assert.match(textOf(plan), /Estimated cost: \$1\.05/);
  assert.deepEqual(buttons(plan), [
    '✅ Approve',
    '✏️ Edit scene 1',
    '✏️ Edit scene 2',
    '✏️ Edit scene 3',
    '🔁 Reject',
    '✖️ Cancel',
  ]);
  assert.deepEqual(await predictionsFor('lighthouse'), [], 'nothing is paid for before approval');

  // Telegram refuses the first progress edit with 429 retry_after 2: the bot must wait it out.
  tg.emulator.failNext('editMessageText', 1, 2);
  const approvedAt = Date.now();
  assert.equal(await ann.answerOf(ann.press(plan.message_id, '✅ Approve')), 'Approved: generating');

  const video = await ann.waitFor((e) => e.file?.kind === 'video', 'the video', 90_000, plan.message_id);
  assert.match(textOf(video), /^🎬 Your video: 14\.0 s · 320×180 · \d+(\.\d+)? (KB|MB)/);
  const seconds = durationOf(video.file!.path);
  assert.ok(Math.abs(seconds - 14.0) <= 0.1, `the MP4 in the chat lasts ${seconds} s`);
  assert.equal(video.file!.duration, 14);

  const between = ann.bot().filter((e) => e.message_id > plan.message_id && e.message_id < video.message_id);
  assert.equal(between.length, 1, `one progress message, edited in place: ${between.map(textOf).join(' | ')}`);
  const progress = between[0]!;
  assert.match(
    textOf(progress),
    /^✅ 3 scenes generated and stitched\.\n1 ▓{10} 100% ready\n2 ▓{10} 100% ready\n3 ▓{10} 100% ready$/,
  );
  assert.ok(progress.edits.length >= 1, 'the progress message was edited');
  const planNow = ann.entries().find((e) => e.message_id === plan.message_id)!;
  assert.equal(planNow.reply_markup, undefined, 'the plan lost its buttons once approved');

  const edits = tg.emulator.state.log.filter(
    (l) => l.method === 'editMessageText' && l.messageId === progress.message_id,
  );
  const limited = edits.find((l) => l.status === 429);
  assert.ok(limited, 'the 429 hit the progress edit');
  const next = edits.find((l) => l.at > limited.at);
  assert.ok(
    next && next.at - limited.at >= 2000,
    `next edit ${next ? next.at - limited.at : '-'} ms after the 429 (retry_after 2 s)`,
  );
  for (let i = 1; i < edits.length; i++) {
    const gap = edits[i]!.at - edits[i - 1]!.at;
    assert.ok(gap >= 2950, `edits of one chat at least 3 s apart: ${gap} ms`);
  }
  assert.deepEqual(await predictionsFor('lighthouse'), [1, 1, 1], 'one prediction per scene');
  const progressSentAt = progress.at;
  console.log(
    `prompt → plan ${plan.at - saidAt} ms; approve → progress message ${progressSentAt - approvedAt} ms; → video ${video.at - approvedAt} ms`,
  );
  console.log(
    `--- transcript, chat 101 ---\n${tg.emulator.transcript(101)}\n--- ${edits.length} progress edits, gaps ${edits
      .slice(1)
      .map((e, i) => e.at - edits[i]!.at)
      .join(', ')} ms; 429 at +0, next edit at +${next.at - limited.at} ms`,
  );
});

test('edit and reject through the chat, in Russian; a button of another chat and an old plan button are refused; cancel', async () => {
  const boris = chatOf(tg.emulator, 102, 'ru');
  const promptId = boris.say('кот на скейтборде в парке');
  const wf = `tg-1000001-102-${promptId}`;
  runIds.push(wf);
  const plan1 = await planOf(boris, promptId, /^📝 План: 3 сцены × 5 с, 16:9/);
  assert.match(textOf(plan1), /Спланировал: OpenAI/);
  assert.deepEqual(buttons(plan1).slice(0, 2), ['✅ Одобрить', '✏️ Изменить сцену 1']);

  // Edit scene 2: the next message is its text.
  await boris.answerOf(boris.press(plan1.message_id, '✏️ Изменить сцену 2'));
  const ask = await boris.waitFor(
    (e) => /Пришлите новый текст сцены 2/.test(textOf(e)),
    'the question',
    10_000,
    plan1.message_id,
  );
  const editId = boris.say('кот прыгает через лужу');
  await boris.waitFor((e) => /Сцена 2 изменена/.test(textOf(e)), 'the edit confirmed', 15_000, editId);
  const handle = client.workflow.getHandle(wf);
  assert.equal(
    (await handle.query(statusQuery)).scenes[1]?.prompt,
    'кот прыгает через лужу',
    'the run has the new text',
  );
  const refreshed = boris.entries().find((e) => e.message_id === plan1.message_id)!;
  assert.match(textOf(refreshed), /\n2\. кот прыгает через лужу\n/, 'the plan message shows the edit');
  assert.ok(ask.message_id > plan1.message_id);

  // Another chat's user forges this run's Approve on a message of their own chat: refused, nothing moves.
  const ann = chatOf(tg.emulator, 101, 'en');
  const forged = ann.forge(ann.bot()[0]!.message_id, `ap:1:${wf}`);
  assert.match(await ann.answerOf(forged), /belongs to another chat/);
  assert.equal((await handle.query(statusQuery)).stage, 'awaiting_approval');

  // Reject: the next message is the feedback; a new plan (version 2) comes with its own buttons.
  await boris.answerOf(boris.press(plan1.message_id, '🔁 Отклонить'));
  await boris.waitFor((e) => /Что изменить\?/.test(textOf(e)), 'the feedback question', 10_000, plan1.message_id);
  const feedbackId = boris.say('больше драмы, ночь');
  await boris.waitFor((e) => /Планирую заново/.test(textOf(e)), 'replanning', 15_000, feedbackId);
  const plan2 = await planOf(boris, feedbackId, /^📝 План \(версия 2\): 3 сцены/);
  assert.ok(buttons(plan2).includes('✅ Одобрить'));
  assert.equal(
    boris.entries().find((e) => e.message_id === plan1.message_id)!.reply_markup,
    undefined,
    'the old plan lost its buttons',
  );
  const s = await handle.query(statusQuery);
  assert.deepEqual([s.stage, s.planRound], ['awaiting_approval', 2]);

  // The old plan's Approve (round 1), sent anyway: out of date, the new plan stays unapproved.
  const stale = boris.forge(plan1.message_id, `ap:1:${wf}`);
  assert.match(await boris.answerOf(stale), /устарела/);
  assert.equal((await handle.query(statusQuery)).stage, 'awaiting_approval');

  await boris.answerOf(boris.press(plan2.message_id, '✖️ Отменить'));
  await boris.waitFor((e) => /^✖️ Отменено/.test(textOf(e)), 'cancelled', 15_000, plan2.message_id);
  assert.equal((await handle.describe()).status.name, 'CANCELLED');
  assert.deepEqual(await predictionsFor('скейтборде'), [], 'nothing was generated');
  console.log(`--- transcript, chat 102 ---\n${tg.emulator.transcript(102)}`);
});

test('a stranger is told their id and how to be allowed; nothing starts, nothing is stored', async () => {
  const stranger = chatOf(tg.emulator, 999, 'en');
  const openaiBefore = (await emu.state()).openai.requests;
  const id = stranger.say('make me a video of a castle');
  const reply = await stranger.waitFor((e) => /private/.test(textOf(e)), 'the refusal', 10_000, id);
  assert.match(textOf(reply), /Your Telegram user id is 999\./);
  assert.match(textOf(reply), /VIDFLOW_TELEGRAM_USERS/);
  // A forged button press from them is refused the same way.
  const forged = stranger.forge(reply.message_id, `ap:1:${runIds[0]!}`);
  assert.match(await stranger.answerOf(forged), /user id is 999/);
  assert.deepEqual(await runsOfChat(999), []);
  assert.equal((await emu.state()).openai.requests, openaiBefore, 'not even a plan');
  const records = await readdir(join(dir, 'bot', 'runs'));
  assert.ok(!records.some((f) => f.includes('-999-')), 'no run record');
});

test('limits: a prompt too long, then the daily budget and the runs at once, each refused with its figures before anything starts', async () => {
  const cleo = chatOf(tg.emulator, 103, 'en');
  const long = cleo.say('x'.repeat(4001));
  await cleo.waitFor(
    (e) => /Your prompt is 4001 characters; the most is 4000\./.test(textOf(e)),
    'too long',
    10_000,
    long,
  );

  // /settings: 6 scenes × 10 s = $4.20 a video (the test bot allows $5.00 a day).
  const ask = cleo.say('/settings');
  const settings = await cleo.waitFor((e) => /^⚙️ Settings/.test(textOf(e)), 'settings', 10_000, ask);
  await cleo.answerOf(cleo.press(settings.message_id, '6'));
  await cleo.answerOf(cleo.press(settings.message_id, '10 s'));
  await eventually(
    async () =>
      /6 scenes × 10 s, 16:9 \(\$4\.20\)/.test(
        textOf(cleo.entries().find((e) => e.message_id === settings.message_id)!),
      ),
    10_000,
    'settings saved',
  );

  const a = cleo.say('first idea: a quiet harbour');
  await planOf(cleo, a, /^📝 Plan: 6 scenes × 10 s/);
  const b = cleo.say('second idea: a busy market');
  const budget = await cleo.waitFor((e) => /💸/.test(textOf(e)), 'the budget refusal', 10_000, b);
  assert.match(textOf(budget), /estimated at \$4\.20, and you have committed \$4\.20 of your \$5\.00 for today/);

  await cleo.answerOf(cleo.press(settings.message_id, '1'));
  await cleo.answerOf(cleo.press(settings.message_id, '5 s'));
  const c = cleo.say('third idea: a paper boat');
  await planOf(cleo, c, /^📝 Plan: 1 scene × 5 s/);
  const d = cleo.say('fourth idea: a snowy owl');
  const runs = await cleo.waitFor((e) => /in progress/.test(textOf(e)), 'the runs refusal', 10_000, d);
  assert.match(textOf(runs), /You already have 2 videos in progress; the most at once is 2\./);
  assert.equal((await runsOfChat(103)).length, 2, 'only the two allowed runs exist');

  // /cancel stops the newest; again, the other.
  for (const n of [1, 2]) {
    const cancel = cleo.say('/cancel');
    await cleo.waitFor(
      (e) => /^✖️ Cancelled/.test(textOf(e)) && e.message_id > cancel,
      `cancelled #${n}`,
      15_000,
      cancel,
    );
  }
  const nothing = cleo.say('/cancel');
  await cleo.waitFor((e) => /no video in progress/.test(textOf(e)), 'nothing to cancel', 10_000, nothing);
  assert.deepEqual(await predictionsFor('idea'), [], 'no prediction for any of them');
});

test('a prompt delivered twice (same message) starts one run and says "planning…" once', async () => {
  const dan = chatOf(tg.emulator, 104, 'en');
  const id = dan.say('a windmill at dawn');
  const plan = await planOf(dan, id, /^📝 Plan/);
  tg.emulator.injectMessage({ userId: 104, text: 'a windmill at dawn', messageId: id });
  await eventually(async () => tg.emulator.state.pendingUpdates === 0, 10_000, 'the second delivery handled');
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(dan.bot().filter((e) => /Planning your video/.test(textOf(e))).length, 1);
  assert.equal(dan.bot().filter((e) => /^📝 Plan/.test(textOf(e))).length, 1);
  assert.deepEqual(await runsOfChat(104), [`tg-1000001-104-${id}`]);
  await dan.answerOf(dan.press(plan.message_id, '✖️ Cancel'));
  await dan.waitFor((e) => /^✖️ Cancelled/.test(textOf(e)), 'cancelled', 15_000, plan.message_id);
});

test('result review: the video comes with Redo scene N; a redo tapped twice regenerates that scene once; Done keeps the new video', async () => {
  const dan = chatOf(tg.emulator, 104, 'en');
  const on = dan.say('/review');
  await dan.waitFor((e) => /Result review is on/.test(textOf(e)), 'review on', 10_000, on);
  const id = dan.say('a hot air balloon over a canyon');
  const wf = `tg-1000001-104-${id}`;
  runIds.push(wf);
  const plan = await planOf(dan, id, /^📝 Plan/);
  await dan.answerOf(dan.press(plan.message_id, '✅ Approve'));
  const v1 = await dan.waitFor((e) => e.file?.kind === 'video', 'the first video', 60_000, plan.message_id);
  assert.deepEqual(buttons(v1), ['🔄 Redo scene 1', '🔄 Redo scene 2', '🔄 Redo scene 3', '👍 Done']);
  assert.match(textOf(v1), /Redo a scene, or tap Done to keep this video\./);

  await dan.answerOf(dan.press(v1.message_id, '🔄 Redo scene 2'));
  const ask = await dan.waitFor(
    (e) => /Send new words for scene 2/.test(textOf(e)),
    'the redo question',
    10_000,
    v1.message_id,
  );
  // A double tap: both presses reach the bot before it answers the first.
  const data = ask.sent_markup!.inline_keyboard[0]![0]!.callback_data!;
  const first = dan.forge(ask.message_id, data);
  const second = dan.forge(ask.message_id, data);
  await dan.answerOf(first);
  assert.match(await dan.answerOf(second), /out of date|Refused/);
  await dan.waitFor(
    (e) => /Redoing scene 2\. The estimate is now \$1\.40\./.test(textOf(e)),
    'redo queued',
    15_000,
    ask.message_id,
  );
  const v2 = await dan.waitFor((e) => e.file?.kind === 'video', 'the second video', 60_000, ask.message_id);
  assert.equal(
    dan.entries().find((e) => e.message_id === v1.message_id)!.reply_markup,
    undefined,
    'old video buttons gone',
  );
  const seconds = durationOf(v2.file!.path);
  assert.ok(Math.abs(seconds - 14.0) <= 0.1, `${seconds} s`);

  assert.equal(await dan.answerOf(dan.press(v2.message_id, '👍 Done')), '👍 Done. Enjoy your video!');
  const handle = client.workflow.getHandle(wf);
  await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', 15_000, 'completed');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(dan.bot().filter((e) => e.file && e.message_id > plan.message_id).length, 2, 'no third video');
  assert.deepEqual((await predictionsFor('balloon')).sort(), [1, 1, 2], 'scene 2 twice, the others once');
});

test('the bot SIGKILLed mid-generation and restarted: the same progress message goes on, one video, sent once, one prediction per scene', async () => {
  await emu.configure({ replicate: { processingMs: 8000 } });
  try {
    const ann = chatOf(tg.emulator, 101, 'en');
    const id = ann.say('a red kite over green hills');
    runIds.push(`tg-1000001-101-${id}`);
    const plan = await planOf(ann, id, /^📝 Plan/);
    await ann.answerOf(ann.press(plan.message_id, '✅ Approve'));
    const progress = await ann.waitFor(
      (e) => /^🎬 Generating 3 scenes/.test(textOf(e)),
      'progress',
      20_000,
      plan.message_id,
    );
    await bot.kill('SIGKILL');
    const killedAt = Date.now();
    const statusAsk = ann.say('/status'); // while the bot is down: Telegram keeps it
    await new Promise((r) => setTimeout(r, 1000));
    bot = startBotProcess(botEnv);
    bots.push(bot);
    await bot.ready;
    const restartedAt = Date.now();
    const video = await ann.waitFor((e) => e.file?.kind === 'video', 'the video', 90_000, plan.message_id);
    await ann.waitFor((e) => /Your videos in this chat/.test(textOf(e)), '/status answered', 15_000, statusAsk);
    await new Promise((r) => setTimeout(r, 1500)); // anything sent twice would show by now

    const since = ann.bot().filter((e) => e.message_id > id);
    const videos = since.filter((e) => e.file);
    const plans = since.filter((e) => /^📝 Plan/.test(textOf(e)));
    const progressMessages = since.filter((e) => /^(🎬 Generating|🎞|✅ 3 scenes)/.test(textOf(e)));
    const progressNow = since.find((e) => e.message_id === progress.message_id)!;
    const editsAfterRestart = progressNow.edits.filter((e) => e.at > restartedAt).length;
    const perScene = await predictionsFor('red kite');
    assert.equal(videos.length, 1, 'one video');
    assert.equal(plans.length, 1, 'one plan');
    assert.deepEqual(
      progressMessages.map((e) => e.message_id),
      [progress.message_id],
      'one progress message',
    );
    assert.ok(editsAfterRestart >= 1, 'the restarted bot edited the same progress message');
    assert.deepEqual(perScene, [1, 1, 1], 'one prediction per scene');
    assert.ok(Math.abs(durationOf(video.file!.path) - 14.0) <= 0.1);
    console.log(
      `restart: bot down ${restartedAt - killedAt} ms (SIGKILL → ready); predictions per scene ${JSON.stringify(perScene)}; videos sent ${videos.length}; plans ${plans.length}; progress messages ${progressMessages.length} (edited ${progressNow.edits.length}×, ${editsAfterRestart} after the restart)`,
    );
  } finally {
    await emu.configure({ replicate: { processingMs: 1500 } });
  }
});

test('webhook mode: Telegram posts each update with the secret token; a post without it, or with another, is refused', async () => {
  const tg2 = await startTelegramEmulator({ token: TOKEN });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/telegram-webhook`;
  const hooked = startBotProcess({
    ...botEnv,
    TELEGRAM_API_ROOT: tg2.apiRoot,
    VIDFLOW_TELEGRAM_WEBHOOK_URL: url,
    VIDFLOW_TELEGRAM_WEBHOOK_PORT: String(port),
    VIDFLOW_TELEGRAM_WEBHOOK_HOST: '127.0.0.1',
    VIDFLOW_TELEGRAM_DATA_DIR: join(dir, 'bot-hook'),
    TEMPORAL_TASK_QUEUE: `bot-hook-${process.pid}`,
  });
  bots.push(hooked);
  try {
    await hooked.ready;
    const hook = tg2.emulator.state.webhook;
    assert.equal(hook?.url, url);
    assert.ok(hook?.secret_token && hook.secret_token.length >= 32 && !hook.secret_token.includes(TOKEN_SECRET));
    const eve = chatOf(tg2.emulator, 101, 'en');
    const id = eve.say('/help');
    const help = await eve.waitFor((e) => /I turn a text into a short video/.test(textOf(e)), 'help', 15_000, id);
    assert.match(textOf(help), /\$1\.05/);
    const deliveries = tg2.emulator.state.webhookDeliveries;
    assert.ok(deliveries.length >= 1 && deliveries.every((d) => d.secret && d.status === 200));
    const update = JSON.stringify({
      update_id: 1,
      message: {
        message_id: 9,
        date: 0,
        chat: { id: 101, type: 'private' },
        from: { id: 101, is_bot: false, first_name: 'x' },
        text: 'a castle',
      },
    });
    for (const headers of [{}, { 'x-telegram-bot-api-secret-token': 'not-the-secret' }] as Record<string, string>[]) {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: update,
      });
      assert.equal(r.status, 401);
    }
    await hooked.kill('SIGTERM');
    assert.equal(await hooked.exited, 0);
  } finally {
    await hooked.kill();
    await tg2.close();
  }
});

test('a scene stopped by the content filter: the chat is told which scene and to try other words', async () => {
  await emu.configure({ replicate: { nextOutcome: ['flagged'] } });
  const dan = chatOf(tg.emulator, 105, 'en');
  const id = dan.say('a fox crossing a frozen river');
  const wf = `tg-1000001-105-${id}`;
  runIds.push(wf);
  const plan = await planOf(dan, id, /^📝 Plan/);
  await dan.answerOf(dan.press(plan.message_id, '✅ Approve'));
  const told = await dan.waitFor((e) => /content filter/.test(textOf(e)), 'the failure', 60_000, plan.message_id);
  const scene = Number(/^🚫 Scene (\d) was stopped by the content filter/.exec(textOf(told))?.[1]);
  const status = await client.workflow.getHandle(wf).query(statusQuery);
  assert.equal(status.stage, 'failed');
  assert.equal(status.scenes[scene - 1]?.status, 'failed', `scene ${scene} is the one the filter stopped`);
  assert.match(
    textOf(told),
    /Try other words for that scene and send the prompt again\. Scenes in progress were stopped; nothing more is charged\./,
  );
  assert.equal(dan.bot().filter((e) => e.file && e.message_id > plan.message_id).length, 0, 'no video');
});

test('the token is in no log, no run history, no error; an unreachable API or a bad token stops the bot saying why', async () => {
  const elsewhere = {
    VIDFLOW_TELEGRAM_DATA_DIR: join(dir, 'bot-other'),
    TEMPORAL_TASK_QUEUE: `bot-other-${process.pid}`,
  };
  const dead = startBotProcess({ ...botEnv, ...elsewhere, TELEGRAM_API_ROOT: `http://127.0.0.1:${await freePort()}` });
  const wrong = startBotProcess({ ...botEnv, ...elsewhere, TELEGRAM_BOT_TOKEN: '1000001:a-wrong-token-for-this-test' });
  const shapeless = startBotProcess({ ...botEnv, ...elsewhere, TELEGRAM_BOT_TOKEN: 'not a token at all' });
  bots.push(dead, wrong, shapeless);
  assert.equal(await dead.exited, 1, dead.logs());
  // The fetch error quotes the URL, and the URL holds the token: it is there, redacted.
  assert.match(
    dead.logs(),
    /Network request for 'getMe' failed!.*<redacted>\/getMe failed, reason: connect ECONNREFUSED/,
  );
  assert.equal(await wrong.exited, 2, wrong.logs());
  assert.match(
    wrong.logs(),
    /TELEGRAM_BOT_TOKEN was rejected by Telegram \(401 Unauthorized\): check it with @BotFather/,
  );
  assert.ok(!wrong.logs().includes('a-wrong-token-for-this-test'));
  assert.equal(await shapeless.exited, 2);
  assert.match(shapeless.logs(), /TELEGRAM_BOT_TOKEN: does not look like a bot token/);
  assert.ok(!shapeless.logs().includes('not a token at all'));

  for (const b of bots) assert.ok(!b.logs().includes(TOKEN_SECRET), `a bot log holds the token:\n${b.logs()}`);
  assert.ok(!worker.logs().includes(TOKEN_SECRET));
  assert.ok(runIds.length >= 4);
  for (const id of runIds) {
    assert.ok(!JSON.stringify(historyOf(address, id)).includes(TOKEN_SECRET), `history of ${id}`);
  }
});
