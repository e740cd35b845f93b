/**
 * `vidflow bot` end to end, with real parts only (test/helpers/bot-stack.ts): result review with
 * a redo, the bot SIGKILLed mid-generation and restarted, webhook mode, a scene stopped by the
 * content filter, and the token kept out of every log, history and error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { startTelegramEmulator } from '../src/emulators/telegram';
import { statusQuery } from '../src/shared/messages';
import { chatOf, startBotProcess } from './helpers/bot';
import type { BotProcess } from './helpers/bot';
import { freePort } from './helpers/crash';
import { eventually } from './helpers/temporal';
import { durationOf } from './helpers/video';
import {
  assertTokenNowhere,
  buttons,
  planOf,
  predictionsFor as predictionsOf,
  startBotStack,
  textOf,
  TOKEN,
  TOKEN_SECRET,
} from './helpers/bot-stack';
import type { BotStack } from './helpers/bot-stack';

let stack: BotStack;
let dir: string;
let tg: BotStack['tg'];
let emu: BotStack['emu'];
let bot: BotProcess;
let bots: BotProcess[];
let botEnv: NodeJS.ProcessEnv;
let client: Client;
let runIds: string[];

before(async () => {
  stack = await startBotStack();
  ({ dir, tg, emu, bot, bots, botEnv, client, runIds } = stack);
});
after(async () => {
  await stack?.stop();
});

const predictionsFor = (marker: string) => predictionsOf(emu, marker);

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

  assertTokenNowhere(stack, 3);
});
