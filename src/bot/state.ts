/**
 * What the bot remembers, all of it in the durable store (nothing a restart loses): each user's
 * settings, each chat member's pending input (the next message is a scene's text or feedback),
 * and one record per run saying what has already reached the chat — which is how the plan,
 * the progress message and the video are delivered once across restarts.
 */
import type { AspectRatio } from '../shared/models';
import { PipelineInputSchema } from '../shared/schemas';
import type { PipelineInput } from '../shared/schemas';
import type { Lang } from './i18n';
import type { JsonStore } from './store';

export interface UserSettings {
  scenes: number;
  seconds: 5 | 10;
  aspect: AspectRatio;
  /** Start runs with result review: the video comes with Redo scene N buttons. */
  review: boolean;
  /** Start runs with a storyboard: N+1 keyframes to approve before any video (settings saved before it lack it: off). */
  storyboard?: boolean;
}

export const DEFAULT_SETTINGS: UserSettings = { scenes: 3, seconds: 5, aspect: '16:9', review: false };

export type PendingInput =
  | { kind: 'edit'; workflowId: string; scene: number; round: number }
  | { kind: 'reject'; workflowId: string; round: number }
  | { kind: 'redo'; workflowId: string; scene: number; version: number };

/** Per chat and user: what their next text means, and the last message already acted on. */
export interface Session {
  pending?: PendingInput;
  /** Message ids only grow within a chat: a re-delivered message at or below this was handled. */
  lastHandled?: number;
}

export interface RunRecord {
  workflowId: string;
  chatId: number;
  userId: number;
  /** The prompt message, which the bot's messages answer. */
  promptMessageId: number;
  lang: Lang;
  /** The run's validated input, kept so a re-delivered prompt starts (or finds) exactly this run. */
  input: PipelineInput;
  createdAt: string;
  /** UTC day the run counts against, YYYY-MM-DD. */
  day: string;
  /** The estimate committed against the daily limit; 0 once a run ended having generated nothing. */
  costUsd: number;
  review: boolean;
  finished?: boolean;
  sent: {
    planning?: number;
    /** Plan round → message id. */
    plans: Record<string, number>;
    /** The progress message of the current production round (key: the round's video version). */
    progress?: { key: string; messageId: number; text: string };
    /** Video version → message id. */
    videos: Record<string, number>;
    /** One-off messages already sent: `final`, `flagged-<version>`. */
    notices: Record<string, number>;
  };
}

const SETTINGS = 'settings';
const SESSIONS = 'sessions';
const RUNS = 'runs';

export function utcDay(at: Date = new Date()): string {
  return at.toISOString().slice(0, 10);
}

export class BotState {
  constructor(private readonly store: JsonStore) {}

  async settings(userId: number): Promise<UserSettings> {
    return { ...DEFAULT_SETTINGS, ...(await this.store.get<Partial<UserSettings>>(SETTINGS, String(userId))) };
  }

  async changeSettings(userId: number, patch: Partial<UserSettings>): Promise<UserSettings> {
    const next = await this.store.update<UserSettings>(SETTINGS, String(userId), (old) => ({
      ...DEFAULT_SETTINGS,
      ...old,
      ...patch,
    }));
    return next!;
  }

  session(chatId: number, userId: number): Promise<Session | undefined> {
    return this.store.get<Session>(SESSIONS, `${chatId}_${userId}`);
  }

  updateSession(chatId: number, userId: number, fn: (s: Session) => Session): Promise<Session | undefined> {
    return this.store.update<Session>(SESSIONS, `${chatId}_${userId}`, (old) => fn(old ?? {}));
  }

  run(workflowId: string): Promise<RunRecord | undefined> {
    return this.store.get<RunRecord>(RUNS, workflowId);
  }

  putRun(rec: RunRecord): Promise<void> {
    return this.store.put(RUNS, rec.workflowId, rec);
  }

  async updateRun(workflowId: string, fn: (r: RunRecord) => RunRecord | void): Promise<RunRecord | undefined> {
    return this.store.update<RunRecord>(RUNS, workflowId, (old) => (old ? (fn(old) ?? old) : undefined));
  }

  deleteRun(workflowId: string): Promise<void> {
    return this.store.delete(RUNS, workflowId);
  }

  async runs(): Promise<RunRecord[]> {
    return (await this.store.list<RunRecord>(RUNS)).map((r) => r.value);
  }

  /** Records of finished runs older than `keepDays`: they count for no limit any more. */
  async prune(keepDays = 2, now = new Date()): Promise<number> {
    const cutoff = utcDay(new Date(now.getTime() - keepDays * 86_400_000));
    let removed = 0;
    for (const r of await this.runs()) {
      if (r.finished && r.day < cutoff) {
        await this.deleteRun(r.workflowId);
        removed++;
      }
    }
    return removed;
  }
}

export function newRunRecord(r: Omit<RunRecord, 'sent' | 'createdAt' | 'day'>, now = new Date()): RunRecord {
  return { ...r, createdAt: now.toISOString(), day: utcDay(now), sent: { plans: {}, videos: {}, notices: {} } };
}

/** A record for a run found in Temporal but not in the store: its chat is all that is known. */
export function orphanRecord(workflowId: string, chatId: number): RunRecord {
  const promptMessageId = Number(/-(\d+)$/.exec(workflowId)?.[1] ?? 0);
  return newRunRecord({
    workflowId,
    chatId,
    userId: chatId,
    promptMessageId,
    lang: 'en',
    input: PipelineInputSchema.parse({ prompt: '(started before this bot had a record of it)' }),
    costUsd: 0,
    review: false,
  });
}
