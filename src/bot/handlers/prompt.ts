/**
 * A text message is a prompt: validated (length first) and checked against the user's limits
 * before anything starts, then started as the run `tg-<chat>-<message>`. The record is written
 * before the start and the start is idempotent, so a message Telegram delivers again (the bot died
 * before confirming it) finds its run instead of paying for a second one.
 */
import type { Context } from 'grammy';
import { DEFAULT_MODEL, estimateCostUsd, IMAGE_MODELS, keyframeModelFor } from '../../shared/models';
import { describeZodError, MAX_PROMPT_CHARS, PipelineInputSchema } from '../../shared/schemas';
import { workflowIdFor } from '../keyboards';
import { checkLimits } from '../limits';
import { describeError } from '../redact';
import { newRunRecord } from '../state';
import type { RunRecord } from '../state';
import { answerTo, wordsFor } from './deps';
import type { HandlerDeps } from './deps';

/** One prompt per user at a time through the limit check (webhooks deliver updates concurrently). */
const userLocks = new Map<number, Promise<unknown>>();

function perUser<T>(userId: number, fn: () => Promise<T>): Promise<T> {
  const prev = userLocks.get(userId) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  userLocks.set(userId, tail);
  void tail.then(() => {
    if (userLocks.get(userId) === tail) userLocks.delete(userId);
  });
  return run;
}

export async function onPrompt(ctx: Context, d: HandlerDeps, text: string): Promise<void> {
  const chatId = ctx.chat!.id;
  const userId = ctx.from!.id;
  const messageId = ctx.message!.message_id;
  const { lang, t } = wordsFor(ctx);
  const workflowId = workflowIdFor(d.bot.botId, chatId, messageId);

  const rec = await perUser(userId, async (): Promise<RunRecord | undefined> => {
    const known = await d.state.run(workflowId);
    if (known) return known;
    if (text.length > MAX_PROMPT_CHARS) {
      await ctx.reply(t.promptTooLong(text.length, MAX_PROMPT_CHARS), answerTo(ctx));
      return undefined;
    }
    const settings = await d.state.settings(userId);
    // A storyboard adds N+1 keyframes (no reference from the bot: the cheap image model).
    const keyframes = settings.storyboard
      ? (settings.scenes + 1) * IMAGE_MODELS[keyframeModelFor(false)].pricePerImage
      : 0;
    const estimate =
      Math.round((estimateCostUsd(DEFAULT_MODEL, settings.scenes, settings.seconds) + keyframes) * 1000) / 1000;
    const limits = checkLimits(d.bot, await d.state.runs(), userId, estimate);
    if (!limits.ok) {
      const why =
        limits.kind === 'runs'
          ? t.limitRuns(limits.running, limits.max)
          : t.limitBudget({ spent: limits.spent, limit: limits.limit, estimate: limits.estimate });
      d.log.info(`user ${userId}: refused a prompt (${limits.kind} limit)`);
      await ctx.reply(why, answerTo(ctx));
      return undefined;
    }
    const input = PipelineInputSchema.safeParse({
      prompt: text,
      scenes: settings.scenes,
      sceneSeconds: settings.seconds,
      aspectRatio: settings.aspect,
      reviewResult: settings.review,
      ...(settings.storyboard ? { storyboard: true } : {}),
      // The rest of today's budget: the workflow refuses a redo that would go past it.
      maxCostUsd: limits.remainingUsd,
    });
    if (!input.success) {
      await ctx.reply(t.invalidPrompt(describeZodError(input.error)), answerTo(ctx));
      return undefined;
    }
    const fresh = newRunRecord({
      workflowId,
      chatId,
      userId,
      promptMessageId: messageId,
      lang,
      input: input.data,
      costUsd: estimate,
      review: settings.review,
    });
    await d.state.putRun(fresh);
    return fresh;
  });
  if (!rec) return;

  try {
    const { existed } = await d.runs.start(workflowId, chatId, rec.input);
    d.log.info(
      `${workflowId}: ${existed ? 'already started (message delivered again)' : 'started'} for user ${userId}`,
    );
  } catch (err) {
    d.log.error(`${workflowId}: could not start: ${describeError(err, d.redact)}`);
    await d.state.deleteRun(workflowId);
    await ctx.reply(t.unavailable, answerTo(ctx));
    return;
  }
  if (!rec.sent.planning) {
    const msg = await ctx.reply(
      t.planning({ scenes: rec.input.scenes, seconds: rec.input.sceneSeconds, aspect: rec.input.aspectRatio }),
      answerTo(ctx),
    );
    await d.state.updateRun(workflowId, (r) => {
      r.sent.planning = msg.message_id;
    });
  }
  d.followers.follow(workflowId);
}
