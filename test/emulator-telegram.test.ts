/**
 * The Telegram Bot API emulator against the real grammY client: the protocol the bot relies on
 * (getUpdates offsets and long polling, 401, 429 with retry_after, "not modified", multipart
 * uploads, webhooks with their secret header, answerCallbackQuery), so the bot's own tests rest
 * on an emulator that behaves like api.telegram.org.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Api, GrammyError, InlineKeyboard, InputFile } from 'grammy';
import { startEmulators, EMULATOR_BOT_TOKEN } from '../src/emulators';
import { startTelegramEmulator } from '../src/emulators/telegram';
import type { RunningTelegramEmulator } from '../src/emulators/telegram';
import { eventually } from './helpers/temporal';

const TOKEN = '424242:emulator-test-token';
let tg: RunningTelegramEmulator;
let api: Api;

before(async () => {
  tg = await startTelegramEmulator({ token: TOKEN });
  api = new Api(TOKEN, { apiRoot: tg.apiRoot });
});
after(async () => {
  await tg?.close();
});

async function refusal(p: Promise<unknown>): Promise<GrammyError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GrammyError) return err;
    throw err;
  }
  assert.fail('expected a Bot API error');
}

test('getMe answers for the right token; any other token gets 401 Unauthorized', async () => {
  const me = await api.getMe();
  assert.equal(me.id, 424242);
  assert.equal(me.is_bot, true);
  const wrong = await refusal(new Api('424242:wrong', { apiRoot: tg.apiRoot }).getMe());
  assert.equal(wrong.error_code, 401);
  assert.equal(wrong.description, 'Unauthorized');
  assert.ok(tg.emulator.state.unauthorized >= 1);
});

test('getUpdates: long polling wakes on a new message; updates stay until an offset confirms them', async () => {
  const started = Date.now();
  const polling = api.getUpdates({ timeout: 10 });
  setTimeout(() => tg.emulator.injectMessage({ userId: 7, text: '/start', languageCode: 'ru' }), 300);
  const [first] = await polling;
  assert.ok(first?.message, 'a message update');
  assert.ok(Date.now() - started < 5000, 'answered when the message came, not after the timeout');
  assert.equal(first.message.text, '/start');
  assert.deepEqual(first.message.entities, [{ type: 'bot_command', offset: 0, length: 6 }]);
  assert.equal(first.message.from?.language_code, 'ru');

  // Not confirmed: fetched again (this is what makes a crashed bot see the update again).
  const again = await api.getUpdates({ timeout: 0 });
  assert.equal(again[0]?.update_id, first.update_id);
  // Confirmed by offset: gone.
  const after = await api.getUpdates({ offset: first.update_id + 1, timeout: 0 });
  assert.deepEqual(after, []);
  assert.equal(tg.emulator.state.pendingUpdates, 0);

  // An empty long poll waits for its timeout.
  const t0 = Date.now();
  assert.deepEqual(await api.getUpdates({ timeout: 1 }), []);
  assert.ok(Date.now() - t0 >= 900, `waited ${Date.now() - t0} ms`);
});

test('sendMessage with an inline keyboard, edits, "not modified", and 429 with retry_after', async () => {
  tg.emulator.injectMessage({ userId: 8, text: 'hello' });
  const kb = new InlineKeyboard().text('Approve', 'ap:1:x').text('Cancel', 'cx:x');
  const sent = await api.sendMessage(8, 'a plan', { reply_markup: kb });
  assert.equal(sent.chat.id, 8);
  assert.deepEqual(sent.reply_markup?.inline_keyboard[0]?.[0], { text: 'Approve', callback_data: 'ap:1:x' });

  await api.editMessageText(8, sent.message_id, 'a plan, edited');
  const same = await refusal(api.editMessageText(8, sent.message_id, 'a plan, edited'));
  assert.equal(same.error_code, 400);
  assert.match(same.description, /message is not modified/);

  tg.emulator.failNext('editMessageText', 1, 3);
  const limited = await refusal(api.editMessageText(8, sent.message_id, 'third'));
  assert.equal(limited.error_code, 429);
  assert.equal(limited.parameters.retry_after, 3);
  assert.match(limited.description, /Too Many Requests: retry after 3/);

  const chat = tg.emulator.chatEntries(8);
  const msg = chat.find((e) => e.message_id === sent.message_id)!;
  assert.equal(msg.text, 'a plan, edited');
  assert.equal(msg.edits.length, 1);
  assert.equal(msg.reply_markup, undefined, 'an edit without reply_markup removes the keyboard, as in Telegram');

  const long = await refusal(api.sendMessage(8, 'x'.repeat(4097)));
  assert.match(long.description, /message is too long/);
  const badData = await refusal(
    api.sendMessage(8, 'x', { reply_markup: new InlineKeyboard().text('b', 'd'.repeat(65)) }),
  );
  assert.match(badData.description, /BUTTON_DATA_INVALID/);
  const unknownChat = await refusal(api.sendMessage(999, 'x'));
  assert.match(unknownChat.description, /chat not found/);
});

test('sendVideo uploads as multipart/form-data and the file is kept byte for byte', async () => {
  tg.emulator.injectMessage({ userId: 9, text: 'video please' });
  const bytes = Buffer.concat([Buffer.from('\x00\x00\x00\x18ftypmp42'), Buffer.alloc(5000, 7), Buffer.from('\r\n--x')]);
  const kb = new InlineKeyboard().text('Done', 'dn:1:x');
  const msg = await api.sendVideo(9, new InputFile(bytes, 'clip.mp4'), {
    caption: '14.0 s',
    duration: 14,
    width: 320,
    height: 180,
    reply_markup: kb,
  });
  assert.equal(msg.video?.duration, 14);
  assert.equal(msg.video?.file_size, bytes.length);
  const entry = tg.emulator.chatEntries(9).find((e) => e.message_id === msg.message_id)!;
  assert.equal(entry.caption, '14.0 s');
  assert.deepEqual(entry.reply_markup?.inline_keyboard[0]?.[0], { text: 'Done', callback_data: 'dn:1:x' });
  assert.deepEqual(await readFile(entry.file!.path), bytes);
});

test('a button press arrives as a callback_query and can be answered once', async () => {
  tg.emulator.injectMessage({ userId: 10, text: 'hi' });
  const sent = await api.sendMessage(10, 'press', { reply_markup: new InlineKeyboard().text('Go', 'go') });
  const pending = (await api.getUpdates({ timeout: 0 })).at(-1)!;
  const { callback_query_id } = tg.emulator.injectCallback({ userId: 10, messageId: sent.message_id, data: 'go' });
  const updates = await api.getUpdates({ offset: pending.update_id + 1, timeout: 0 });
  const cb = updates[0]?.callback_query;
  assert.equal(cb?.data, 'go');
  assert.equal(cb?.message?.message_id, sent.message_id);
  assert.equal(await api.answerCallbackQuery(callback_query_id, { text: 'ok' }), true);
  const twice = await refusal(api.answerCallbackQuery(callback_query_id));
  assert.match(twice.description, /query is too old/);
  await api.getUpdates({ offset: updates[0]!.update_id + 1, timeout: 0 });
});

test('webhook: updates are POSTed with the secret header until the bot answers 2xx; getUpdates is refused', async () => {
  const seen: { secret: string | undefined; body: unknown }[] = [];
  let failFirst = true;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({
        secret: req.headers['x-telegram-bot-api-secret-token'] as string | undefined,
        body: JSON.parse(body),
      });
      res.writeHead(failFirst ? 500 : 200).end();
      failFirst = false;
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    assert.equal(await api.setWebhook(url, { secret_token: 's3cret_token' }), true);
    const busy = await refusal(api.getUpdates({ timeout: 0 }));
    assert.equal(busy.error_code, 409);
    const { update_id } = tg.emulator.injectMessage({ userId: 11, text: 'via webhook' });
    await eventually(async () => seen.length >= 2, 5000, 'a retried webhook delivery');
    assert.ok(seen.every((s) => s.secret === 's3cret_token'));
    assert.deepEqual(
      seen.map((s) => (s.body as { update_id: number }).update_id),
      [update_id, update_id],
      'the refused delivery is retried',
    );
    await eventually(async () => tg.emulator.state.pendingUpdates === 0, 5000, 'the update confirmed');
    assert.equal(await api.deleteWebhook(), true);
  } finally {
    server.close();
  }
});

test('mounted on the shared emulator server under /telegram with the default token', async () => {
  const emu = await startEmulators();
  try {
    const shared = new Api(EMULATOR_BOT_TOKEN, { apiRoot: emu.telegramApiRoot });
    assert.equal((await shared.getMe()).id, Number(EMULATOR_BOT_TOKEN.split(':')[0]));
    const res = await fetch(`${emu.telegramApiRoot}/_emulator/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 5, text: 'over HTTP' }),
    });
    assert.equal(res.status, 200);
    const [u] = await shared.getUpdates({ timeout: 0 });
    assert.equal(u?.message?.text, 'over HTTP');
  } finally {
    await emu.close();
  }
});
