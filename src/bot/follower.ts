/**
 * Following runs: one loop per open run reads its status and brings the chat up to date — the
 * plan of each round, one progress message edited in place, the video, how it ended. What has
 * been sent is written to the run's record right after Telegram accepts it, and checked before
 * sending, so a restarted bot picks up where the last one stopped instead of sending again.
 * (A crash in the few milliseconds between Telegram's answer and the write would send that one
 * message twice: the bot prefers a duplicate to a video that never arrives.)
 */
import { join } from 'node:path';
import type { Api } from 'grammy';
import type { Config } from '../config';
import { FINAL_STAGES } from '../shared/schemas';
import type { PipelineStatus } from '../shared/schemas';
import type { BotConfig } from './config';
import { failureMessage } from './failures';
import { messages } from './i18n';
import { planKeyboard, storyboardKeyboard, videoKeyboard } from './keyboards';
import { liveScenes } from '../client/scene-progress';
import type { SceneLive } from '../client/scene-progress';
import type { BotLog } from './log';
import type { ChatPacer } from './pacing';
import { describeError } from './redact';
import type { Redact } from './redact';
import { planText, progressText, videoVersion } from './render';
import type { Runs } from './runs';
import { orphanRecord } from './state';
import type { BotState, RunRecord } from './state';
import { sendVideo } from './video';

export interface FollowerDeps {
  api: Api;
  runs: Runs;
  state: BotState;
  pacer: ChatPacer;
  log: BotLog;
  redact: Redact;
  cfg: Config;
  bot: BotConfig;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Telegram's answer to an edit that changes nothing: the message already says it. */
function notModified(err: unknown): boolean {
  return err instanceof Error && /message is not modified/.test(err.message);
}

export class Followers {
  private readonly active = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly d: FollowerDeps) {}

  /** Starts following a run unless it is followed already. */
  follow(workflowId: string): void {
    if (this.stopped || this.active.has(workflowId)) return;
    const loop = this.loop(workflowId)
      .catch((err: unknown) => this.d.log.error(`following ${workflowId}: ${describeError(err, this.d.redact)}`))
      .finally(() => this.active.delete(workflowId));
    this.active.set(workflowId, loop);
  }

  /**
   * After a start: every run the store says is unfinished, and every open run Temporal holds for a
   * chat (found through VidflowChat), in case the store lost one. Returns how many are followed.
   */
  async resume(): Promise<number> {
    for (const r of await this.d.state.runs()) if (!r.finished) this.follow(r.workflowId);
    try {
      for (const row of await this.d.runs.open()) {
        if (this.active.has(row.workflowId) || (await this.d.state.run(row.workflowId))) continue;
        this.d.log.warn(`run ${row.workflowId} of chat ${row.chatId} has no record here: following it anew`);
        // Unknown to this store (a lost volume): follow it; the plan may be shown again.
        await this.d.state.putRun(orphanRecord(row.workflowId, row.chatId));
        this.follow(row.workflowId);
      }
    } catch (err) {
      this.d.log.warn(`could not list open runs in Temporal: ${describeError(err, this.d.redact)}`);
    }
    return this.active.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.active.values()]);
  }

  private async loop(workflowId: string): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const rec = await this.d.state.run(workflowId);
      if (!rec || rec.finished) return;
      try {
        if (await this.tick(rec)) return;
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 10 === 0) {
          this.d.log.warn(`following ${workflowId} (try ${failures}): ${describeError(err, this.d.redact)}`);
        }
      }
      await sleep(failures ? Math.min(30_000, this.d.bot.pollMs * 2 ** Math.min(failures, 5)) : this.d.bot.pollMs);
    }
  }

  /** Brings the chat up to date with the run; true once the run is over and that was told. */
  private async tick(rec: RunRecord): Promise<boolean> {
    let status: PipelineStatus | undefined;
    try {
      status = await this.d.runs.status(rec.workflowId);
    } catch {
      // No worker answers queries right now (restarting), or the run is closed and gone from
      // the worker's cache: describe() needs no worker and tells which.
      const closed = await this.d.runs.isClosed(rec.workflowId);
      if (closed === 'missing') {
        this.d.log.warn(`run ${rec.workflowId} does not exist: forgetting it`);
        await this.d.state.updateRun(rec.workflowId, (r) => ({ ...r, finished: true, costUsd: 0 }));
        return true;
      }
      if (!closed) return false;
    }
    if (status && !FINAL_STAGES.includes(status.stage)) {
      await this.deliver(rec, status);
      return false;
    }
    await this.finish(rec, status);
    return true;
  }

  private async deliver(rec: RunRecord, s: PipelineStatus): Promise<void> {
    if (s.estimatedCostUsd !== rec.costUsd) {
      await this.d.state.updateRun(rec.workflowId, (r) => ({ ...r, costUsd: s.estimatedCostUsd }));
    }
    if (s.stage === 'awaiting_approval') return this.sendPlan(rec, s);
    if (s.stage === 'reviewing_storyboard') return this.sendStoryboard(rec, s);
    if (s.stage === 'generating' || s.stage === 'stitching') return this.progress(rec, s, false);
    if (s.stage === 'reviewing_result') {
      await this.progress(rec, s, true);
      return this.reviewVideo(rec, s);
    }
  }

  private reply(rec: RunRecord) {
    return { reply_parameters: { message_id: rec.promptMessageId, allow_sending_without_reply: true } };
  }

  private async sendPlan(rec: RunRecord, s: PipelineStatus): Promise<void> {
    const round = String(s.planRound);
    if (rec.sent.plans[round]) return;
    const t = messages(rec.lang);
    const text = planText(t, s, { seconds: rec.input.sceneSeconds, aspect: rec.input.aspectRatio });
    const msg = await this.d.api.sendMessage(rec.chatId, text, {
      reply_markup: planKeyboard(t, rec.workflowId, s.planRound, s.scenes.length),
      ...this.reply(rec),
    });
    await this.d.state.updateRun(rec.workflowId, (r) => {
      r.sent.plans[round] = msg.message_id;
    });
    this.d.log.info(`${rec.workflowId}: plan ${round} sent to chat ${rec.chatId}`);
  }

  /** The storyboard of each round of keyframes (a redo makes a new round): its images' links and an Approve button. */
  private async sendStoryboard(rec: RunRecord, s: PipelineStatus): Promise<void> {
    const keyframes = s.keyframes ?? [];
    const key = `storyboard-${keyframes.reduce((n, k) => n + k.attempts, 0)}`;
    if (rec.sent.notices[key]) return;
    const t = messages(rec.lang);
    const msg = await this.d.api.sendMessage(rec.chatId, t.storyboardReady(keyframes), {
      reply_markup: storyboardKeyboard(t, rec.workflowId),
      ...this.reply(rec),
    });
    await this.d.state.updateRun(rec.workflowId, (r) => {
      r.sent.notices[key] = msg.message_id;
    });
  }

  /**
   * The progress message of this production round (a redo starts a new one): sent once, then
   * edited when its text changes, at most once per 3 s per chat. `final` waits for the chat's
   * turn so the last state is shown before the video; otherwise a busy chat skips to the next tick.
   */
  private async progress(rec: RunRecord, s: PipelineStatus, final: boolean): Promise<void> {
    const t = messages(rec.lang);
    const key = String(videoVersion(s));
    const live = await liveScenes(this.d.runs.handle(rec.workflowId)).catch(() => new Map<number, SceneLive>());
    const text = progressText(t, s, live);
    const cur = rec.sent.progress;
    if (!cur || cur.key !== key) {
      if (final) return; // a round that ended before it was ever shown needs no progress message
      await this.d.pacer.turn(rec.chatId);
      const msg = await this.d.api.sendMessage(rec.chatId, text, this.reply(rec));
      await this.d.state.updateRun(rec.workflowId, (r) => {
        r.sent.progress = { key, messageId: msg.message_id, text };
      });
      return;
    }
    if (cur.text === text) return;
    if (!final && !this.d.pacer.ready(rec.chatId)) return;
    await this.d.pacer.turn(rec.chatId);
    try {
      await this.d.api.editMessageText(rec.chatId, cur.messageId, text);
    } catch (err) {
      if (!notModified(err)) throw err;
    }
    await this.d.state.updateRun(rec.workflowId, (r) => {
      if (r.sent.progress) r.sent.progress.text = text;
    });
  }

  private async reviewVideo(rec: RunRecord, s: PipelineStatus): Promise<void> {
    const t = messages(rec.lang);
    const version = videoVersion(s);
    const flagged = s.scenes.filter((sc) => sc.status === 'flagged');
    if (flagged.length) {
      const key = `flagged-${version}`;
      if (rec.sent.notices[key]) return;
      const text = flagged.map((sc) => t.flagged(sc.index, (sc.error ?? '').split(': ').pop() || '?')).join('\n');
      const msg = await this.d.api.sendMessage(rec.chatId, text, {
        reply_markup: videoKeyboard(t, rec.workflowId, version, s.scenes.length, false),
        ...this.reply(rec),
      });
      await this.d.state.updateRun(rec.workflowId, (r) => {
        r.sent.notices[key] = msg.message_id;
      });
      return;
    }
    if (!s.output || rec.sent.videos[String(version)]) return;
    // The buttons under older videos of this run would now only say "out of date": take them off.
    for (const old of Object.values(rec.sent.videos)) {
      await this.d.api.editMessageReplyMarkup(rec.chatId, old).catch(() => undefined);
    }
    const id = await sendVideo(
      { workflowId: rec.workflowId, version, path: s.output.path, artifactUri: s.artifactUri },
      {
        ...this.videoOptions(rec),
        keyboard: videoKeyboard(t, rec.workflowId, version, s.scenes.length, true),
        note: t.reviewHint,
      },
    );
    await this.d.state.updateRun(rec.workflowId, (r) => {
      r.sent.videos[String(version)] = id;
    });
    this.d.log.info(`${rec.workflowId}: video ${version} sent to chat ${rec.chatId} for review`);
  }

  private videoOptions(rec: RunRecord) {
    return {
      api: this.d.api,
      cfg: this.d.cfg,
      tmpDir: join(this.d.bot.dataDir, 'tmp'),
      maxUploadBytes: this.d.bot.maxUploadBytes,
      chatId: rec.chatId,
      replyTo: rec.promptMessageId,
      t: messages(rec.lang),
    };
  }

  /** The run is over: the last progress, then the video or what went wrong, once. */
  private async finish(rec: RunRecord, s: PipelineStatus | undefined): Promise<void> {
    const t = messages(rec.lang);
    const outcome = await this.d.runs.outcome(rec.workflowId);
    if (s) await this.progress(rec, s, true).catch(() => undefined);
    const fresh = (await this.d.state.run(rec.workflowId)) ?? rec;
    if (outcome.kind === 'completed') {
      if (Object.keys(fresh.sent.videos).length === 0) {
        const r = outcome.result;
        const id = await sendVideo(
          { workflowId: rec.workflowId, version: 0, path: r.path, artifactUri: r.artifactUri },
          this.videoOptions(rec),
        );
        await this.d.state.updateRun(rec.workflowId, (x) => {
          x.sent.videos.final = id;
        });
        this.d.log.info(`${rec.workflowId}: video sent to chat ${rec.chatId}`);
      }
    } else if (!fresh.sent.notices.final) {
      const text =
        outcome.kind === 'failed'
          ? failureMessage(t, outcome, s, rec.workflowId)
          : outcome.kind === 'timed_out'
            ? t.timedOut
            : t.cancelled;
      const msg = await this.d.api.sendMessage(rec.chatId, text, this.reply(rec));
      await this.d.state.updateRun(rec.workflowId, (x) => {
        x.sent.notices.final = msg.message_id;
      });
      this.d.log.info(`${rec.workflowId}: ${outcome.kind}${outcome.kind === 'failed' ? ` (${outcome.type})` : ''}`);
    }
    // A run that generated nothing (cancelled or refused before approval) spent nothing.
    const generated = s ? s.scenes.some((sc) => sc.attempts > 0) : fresh.sent.progress !== undefined;
    await this.d.state.updateRun(rec.workflowId, (x) => ({
      ...x,
      finished: true,
      ...(generated || outcome.kind === 'completed' ? {} : { costUsd: 0 }),
    }));
  }
}
