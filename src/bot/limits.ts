/**
 * Per-user limits, checked before a run starts: runs going at once, and estimated spend per UTC
 * day. Both are counted from the bot's run records (durable), so a restart does not reset them.
 * The day's remaining budget also becomes the run's `maxCostUsd`, so the workflow itself refuses
 * a redo that would go over it.
 */
import type { BotConfig } from './config';
import type { RunRecord } from './state';
import { utcDay } from './state';

export type LimitCheck =
  | { ok: true; remainingUsd: number }
  | { ok: false; kind: 'runs'; running: number; max: number }
  | { ok: false; kind: 'budget'; spent: number; limit: number; estimate: number };

const cents = (n: number) => Math.round(n * 100) / 100;

export function checkLimits(
  cfg: Pick<BotConfig, 'maxRuns' | 'dailyUsd'>,
  records: readonly RunRecord[],
  userId: number,
  estimateUsd: number,
  now = new Date(),
): LimitCheck {
  const mine = records.filter((r) => r.userId === userId);
  const running = mine.filter((r) => !r.finished).length;
  if (running >= cfg.maxRuns) return { ok: false, kind: 'runs', running, max: cfg.maxRuns };
  const today = utcDay(now);
  const spent = cents(mine.filter((r) => r.day === today).reduce((sum, r) => sum + r.costUsd, 0));
  if (cents(spent + estimateUsd) > cfg.dailyUsd) {
    return { ok: false, kind: 'budget', spent, limit: cfg.dailyUsd, estimate: estimateUsd };
  }
  return { ok: true, remainingUsd: cents(cfg.dailyUsd - spent) };
}
