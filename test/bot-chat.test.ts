/**
 * `vidflow bot` end to end, with real parts only (test/helpers/bot-stack.ts): a prompt to the
 * video in the chat, edit/reject/cancel in Russian, strangers, limits and a prompt delivered twice.
 * A person's messages and taps are injected at the Telegram emulator; what the bot sent is read
 * back from it. Restarts, webhooks and secrets: bot-resilience.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { statusQuery } from '../src/shared/messages';
import { chatOf } from './helpers/bot';
import { eventually } from './helpers/temporal';
import { durationOf } from './helpers/video';
import {
  assertTokenNowhere,
  buttons,
  planOf,
  predictionsFor as predictionsOf,
  runsOfChat as runsOfChatIn,
  startBotStack,
  textOf,
} from './helpers/bot-stack';
import type { BotStack } from './helpers/bot-stack';

let stack: BotStack;
let dir: string;
let tg: BotStack['tg'];
let emu: BotStack['emu'];
let client: Client;
let runIds: string[];

before(async () => {
  stack = await startBotStack();
  ({ dir, tg, emu, client, runIds } = stack);
});
after(async () => {
  await stack?.stop();
});

const predictionsFor = (marker: string) => predictionsOf(emu, marker);
const runsOfChat = (chatId: number) => runsOfChatIn(stack, chatId);

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

test('the token is in no bot log, worker log or run history of these tests', () => {
  // Runs last: the runs above are done.
  assertTokenNowhere(stack, 2);
});
