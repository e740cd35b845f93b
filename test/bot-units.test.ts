/**
 * The bot's parts that need no Temporal: button data (what a forged press can and cannot say),
 * limits and their figures, redaction, the durable store, settings validation, pacing and
 * retry_after, rendering, and the video path over Telegram's upload limit (real ffmpeg, real
 * grammY against the emulator).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api, HttpError } from 'grammy';
import type { ApiCallFn, RawApi } from 'grammy';
import { EnvSchema } from '../src/config';
import type { Config } from '../src/config';
import { startTelegramEmulator } from '../src/emulators/telegram';
import { derivedSecret, loadBotConfig } from '../src/bot/config';
import { en } from '../src/bot/i18n/en';
import { ru } from '../src/bot/i18n/ru';
import { decodeAction, encodeAction, workflowIdFor } from '../src/bot/keyboards';
import type { Action } from '../src/bot/keyboards';
import { checkLimits } from '../src/bot/limits';
import { botLogger } from '../src/bot/log';
import { ChatPacer, honourRetryAfter } from '../src/bot/pacing';
import { describeError, redactor } from '../src/bot/redact';
import { planText, progressText } from '../src/bot/render';
import { newRunRecord } from '../src/bot/state';
import type { RunRecord } from '../src/bot/state';
import { JsonStore } from '../src/bot/store';
import { sendVideo } from '../src/bot/video';
import { PipelineInputSchema } from '../src/shared/schemas';
import type { PipelineStatus } from '../src/shared/schemas';
import { durationOf } from './helpers/video';

const TOKEN = '123456789:AAH-botfather-gave-this-35-chars-x';

test('button data: every action round-trips within 64 bytes, even for the longest ids', () => {
  const wf = workflowIdFor(9_999_999_999, -1_009_999_999_999, 9_999_999_999);
  const actions: Action[] = [
    { a: 'approve', round: 5, wf },
    { a: 'edit', round: 5, scene: 6, wf },
    { a: 'reject', round: 5, wf },
    { a: 'cancel', wf },
    { a: 'storyboard', wf },
    { a: 'redo', version: 123456, scene: 6, wf },
    { a: 'same', version: 123456, scene: 6, wf },
    { a: 'done', version: 123456, wf },
    { a: 'set', key: 'aspect', value: '9:16' },
    { a: 'set', key: 'scenes', value: '6' },
  ];
  for (const a of actions) {
    const data = encodeAction(a);
    assert.ok(Buffer.byteLength(data) <= 64, `${data} is ${Buffer.byteLength(data)} bytes`);
    assert.deepEqual(decodeAction(data), a);
  }
});

test('button data: anything the bot did not make is refused, so a forged press cannot name another kind of run', () => {
  for (const data of [
    'ap:1:vidflow-20261201-120000-abcd',
    "ap:1:tg-1-2-3' OR 1=1",
    'ap:1:tg-1-2-3:extra',
    'ap:x:tg-1-2-3',
    'ap:0:tg-1-2-3',
    'ed:1:0:tg-1-2-3',
    'sb:vidflow-20261201-120000-abcd',
    'sb:1:tg-1-2-3',
    'st:scenes:7',
    'st:seconds:7',
    'st:aspect:4:3',
    'st:review:maybe',
    'zz:1:tg-1-2-3',
    '',
  ]) {
    assert.equal(decodeAction(data), undefined, data);
  }
});

function record(userId: number, costUsd: number, finished: boolean, day = new Date()): RunRecord {
  return {
    ...newRunRecord(
      {
        workflowId: `tg-1-${userId}-${Math.random()}`,
        chatId: userId,
        userId,
        promptMessageId: 1,
        lang: 'en',
        input: PipelineInputSchema.parse({ prompt: 'p' }),
        costUsd,
        review: false,
      },
      day,
    ),
    ...(finished ? { finished } : {}),
  };
}

test('limits: runs at once, then the day budget, with the figures; other users and other days do not count', () => {
  const cfg = { maxRuns: 2, dailyUsd: 5 };
  const yesterday = new Date(Date.now() - 86_400_000);
  const base = [record(1, 4.2, true, yesterday), record(2, 4.2, false)];
  assert.deepEqual(checkLimits(cfg, base, 1, 4.2), { ok: true, remainingUsd: 5 });
  const spent = [...base, record(1, 1.05, true), record(1, 2.1, false)];
  assert.deepEqual(checkLimits(cfg, spent, 1, 2.1), {
    ok: false,
    kind: 'budget',
    spent: 3.15,
    limit: 5,
    estimate: 2.1,
  });
  assert.deepEqual(checkLimits(cfg, spent, 1, 1.05), { ok: true, remainingUsd: 1.85 });
  const busy = [...spent, record(1, 0, false)];
  assert.deepEqual(checkLimits(cfg, busy, 1, 0.35), { ok: false, kind: 'runs', running: 2, max: 2 });
});

test('redaction: the token, its URL-encoded form and its secret half; errors through their causes', () => {
  const redact = redactor([TOKEN]);
  const secret = TOKEN.split(':')[1]!;
  assert.equal(redact(`GET /bot${TOKEN}/getMe`), 'GET /bot<redacted>/getMe');
  assert.equal(redact(`x=${encodeURIComponent(TOKEN)}`), 'x=<redacted>');
  assert.equal(redact(`half ${secret}`), 'half <redacted>');
  const inner = new Error(`request to https://api.telegram.org/bot${TOKEN}/getUpdates failed, reason: ETIMEDOUT`);
  const text = describeError(new HttpError("Network request for 'getUpdates' failed!", inner), redact);
  assert.equal(
    text,
    "Network request for 'getUpdates' failed!: request to https://api.telegram.org/bot<redacted>/getUpdates failed, reason: ETIMEDOUT",
  );
  const lines: string[] = [];
  botLogger({ redact, write: (l) => lines.push(l) }).error(`oops ${TOKEN}`);
  assert.ok(!lines.join('').includes(secret));
});

test('store: concurrent read-modify-writes of one key all land; odd keys are safe file names; a torn temp file is ignored', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vidflow-store-'));
  try {
    const store = new JsonStore(dir);
    await Promise.all(Array.from({ length: 50 }, () => store.update<number>('counts', 'k', (n) => (n ?? 0) + 1)));
    assert.equal(await store.get('counts', 'k'), 50);
    await store.put('odd', '../../etc/passwd', { a: 1 });
    await store.put('odd', '-100123_456', { b: 2 });
    assert.deepEqual((await readdir(join(dir, 'odd'))).sort(), ['-100123_456.json', '..%2f..%2fetc%2fpasswd.json']);
    await writeFile(join(dir, 'odd', 'x.json.123.ab.tmp'), '{"half');
    assert.deepEqual((await store.list('odd')).map((e) => e.key).sort(), ['-100123_456', '../../etc/passwd']);
    await store.update('odd', '-100123_456', () => undefined);
    assert.equal(await store.get('odd', '-100123_456'), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('settings: validated with clear messages that never repeat the token; users, webhook secret', () => {
  assert.throws(() => loadBotConfig({}), /TELEGRAM_BOT_TOKEN: is required: the token @BotFather gave you/);
  const bad = 'nope:short';
  assert.throws(
    () => loadBotConfig({ TELEGRAM_BOT_TOKEN: bad }),
    (err: Error) => /does not look like a bot token/.test(err.message) && !err.message.includes(bad),
  );
  assert.throws(
    () => loadBotConfig({ TELEGRAM_BOT_TOKEN: TOKEN, VIDFLOW_TELEGRAM_USERS: '12, @bob' }),
    /"@bob" is not a Telegram user id/,
  );
  const nobody = loadBotConfig({ TELEGRAM_BOT_TOKEN: TOKEN });
  assert.deepEqual([...(nobody.users as Set<number>)], [], 'unset: nobody');
  assert.equal(nobody.apiRoot, 'https://api.telegram.org');
  assert.deepEqual([nobody.maxRuns, nobody.dailyUsd, nobody.botId], [2, 10, 123456789]);
  assert.equal(loadBotConfig({ TELEGRAM_BOT_TOKEN: TOKEN, VIDFLOW_TELEGRAM_USERS: '*' }).users, 'everyone');
  const hooked = loadBotConfig({
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: 'http://127.0.0.1:8081/',
    VIDFLOW_TELEGRAM_USERS: '5, 7',
    VIDFLOW_TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/tg',
  });
  assert.equal(hooked.apiRoot, 'http://127.0.0.1:8081');
  assert.deepEqual([...(hooked.users as Set<number>)], [5, 7]);
  assert.equal(hooked.webhook?.secret, derivedSecret(TOKEN));
  assert.match(hooked.webhook.secret, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(!hooked.webhook.secret.includes(TOKEN.split(':')[1]!));
});

test('pacing: one turn per interval per chat, other chats unaffected; a 429 blocks the chat and is retried after retry_after', async () => {
  const pacer = new ChatPacer(300);
  const t0 = Date.now();
  await pacer.turn(1);
  await pacer.turn(2);
  assert.ok(Date.now() - t0 < 100, 'two chats, no wait');
  await pacer.turn(1);
  assert.ok(Date.now() - t0 >= 290, 'the same chat waits its interval');

  const calls: number[] = [];
  const prev = (async () => {
    calls.push(Date.now());
    return calls.length === 1
      ? { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } }
      : { ok: true, result: true };
  }) as unknown as ApiCallFn<RawApi>;
  const warnings: string[] = [];
  const log = { ...botLogger({ redact: (s) => s, write: () => undefined }), warn: (m: string) => warnings.push(m) };
  const res = await honourRetryAfter(new ChatPacer(300), log)(prev, 'sendMessage', { chat_id: 9, text: 'x' });
  assert.equal(res.ok, true);
  assert.equal(calls.length, 2);
  assert.ok(calls[1]! - calls[0]! >= 990, `retried after ${calls[1]! - calls[0]!} ms`);
  assert.match(warnings[0]!, /429 on sendMessage in chat 9: waiting 1 s/);
});

test('rendering: the plan (planner, fallback reason, cost), progress bars and percent, Russian plurals', () => {
  const s: PipelineStatus = {
    stage: 'generating',
    planner: 'fallback',
    plannerNote: 'LLM planning failed: 503',
    planRound: 2,
    estimatedCostUsd: 1.4,
    scenes: [
      { index: 1, prompt: 'one', status: 'ready', attempts: 1 },
      { index: 2, prompt: 'two', status: 'downloading', attempts: 1 },
      { index: 3, prompt: 'three', status: 'generating', attempts: 1 },
      { index: 4, prompt: 'four', status: 'pending', attempts: 0 },
    ],
  };
  assert.equal(
    planText(en, s, { seconds: 5, aspect: '9:16' }),
    '📝 Plan (version 2): 4 scenes × 5 s, 9:16\nPlanned by: fallback, a plain split of your prompt (LLM planning failed: 503)\n\n1. one\n2. two\n3. three\n4. four\n\nEstimated cost: $1.40\nApprove to generate, edit a scene, reject with feedback, or cancel.',
  );
  const live = new Map([
    [2, { percent: 50 }],
    [3, { predictionStatus: 'starting', attempt: 2, retryReason: 'ProviderUnavailable' }],
  ]);
  assert.equal(
    progressText(en, s, live),
    '🎬 Generating 4 scenes…\n1 ▓▓▓▓▓▓▓▓▓▓ 100% ready\n2 ▓▓▓▓▓▓▓▓▓░ 85% downloading\n3 ▓░░░░░░░░░ 10% queued at the provider\n   retrying (attempt 2): the provider had trouble, no action needed\n4 ░░░░░░░░░░ 0% waiting',
  );
  assert.match(ru.planning({ scenes: 1, seconds: 5, aspect: '1:1' }), /1 сцена ×/);
  assert.match(ru.planning({ scenes: 3, seconds: 5, aspect: '1:1' }), /3 сцены ×/);
  assert.match(ru.planning({ scenes: 5, seconds: 5, aspect: '1:1' }), /5 сцен ×/);
});

test('a video over the upload limit is re-encoded to fit and says so; one that cannot fit is named instead', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vidflow-shrink-'));
  const tg = await startTelegramEmulator({ token: TOKEN });
  try {
    const big = join(dir, 'big.mp4');
    execFileSync('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=24:d=4'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '0', '-pix_fmt', 'yuv420p', big],
    ]);
    tg.emulator.injectMessage({ userId: 7, text: 'hi' });
    const api = new Api(TOKEN, { apiRoot: tg.apiRoot });
    const cfg = EnvSchema.parse({ VIDFLOW_OUTPUT_DIR: dir }) as Config;
    const common = { api, cfg, tmpDir: join(dir, 'tmp'), chatId: 7, replyTo: 1, t: en };
    const id = await sendVideo(
      { workflowId: 'tg-1-7-1', version: 1, path: big },
      { ...common, maxUploadBytes: 1_000_000 },
    );
    const sent = tg.emulator.chatEntries(7).find((e) => e.message_id === id)!;
    assert.ok(sent.file && sent.file.sizeBytes <= 1_000_000, `sent ${sent.file?.sizeBytes} bytes`);
    assert.match(
      sent.caption ?? '',
      /^🎬 Your video: 4\.0 s · 640×360 · \d+(\.\d)? (KB|MB)\n\(re-encoded from \d+\.\d MB to fit Telegram's upload limit\)$/,
    );
    assert.ok(Math.abs(durationOf(sent.file.path) - 4) < 0.1);

    const id2 = await sendVideo(
      { workflowId: 'tg-1-7-1', version: 2, path: big },
      { ...common, maxUploadBytes: 10_000 },
    );
    const named = tg.emulator.chatEntries(7).find((e) => e.message_id === id2)!;
    assert.equal(named.file, undefined);
    assert.match(
      named.text ?? '',
      /too large to send here \(\d+ KB even re-encoded\)\. The operator can fetch it: file:\/\/localhost\//,
    );
    assert.deepEqual(await readdir(join(dir, 'tmp')), [], 'temporary files removed');
  } finally {
    await tg.close();
    await rm(dir, { recursive: true, force: true });
  }
});
