/**
 * The generation phase of the load bench's runs (approval -> last clip on the worker's disk), split
 * where the time goes: the pace (the account's create limit), the prediction's life (L), the
 * settle, the workflow's turn and the download.
 */
import { percentile } from './history';
import type { RunHistory } from './history';
import { s } from './report';

const sorted = (xs: number[]) => xs.sort((a, b) => a - b);

export function generationPhase(histories: RunHistory[], L: number): string[] {
  const genPhase = sorted(
    histories
      .filter((h) => h.generateScheduledMs !== undefined && h.lastClipReadyMs !== undefined)
      .map((h) => h.lastClipReadyMs! - h.generateScheduledMs!),
  );
  // Waiting for the pace (scheduled -> the run's last create), and the run's last create -> its last
  // clip downloaded (L plus what webhooks/polls and the download add: the part the design owns; the
  // pace is the account's limit, and no order of the creates makes the 95th run's last one earlier).
  const paceWait = sorted(
    histories
      .filter((h) => h.generateScheduledMs !== undefined && h.lastGenerateStartedMs !== undefined)
      .map((h) => h.lastGenerateStartedMs! - h.generateScheduledMs!),
  );
  const afterCreate = sorted(
    histories
      .filter((h) => h.lastGenerateStartedMs !== undefined && h.lastClipReadyMs !== undefined)
      .map((h) => h.lastClipReadyMs! - h.lastGenerateStartedMs!),
  );
  // Per clip: the prediction's life (L) plus the settle (webhook or poll -> the activity
  // completed), the workflow's turn, then its download waiting for the worker and running.
  const perClip = (pick: (h: RunHistory) => number[], minus = 0) =>
    sorted(histories.flatMap(pick).map((ms) => ms - minus));
  const p5095 = (xs: number[]) => `${s(percentile(xs, 50))} / ${s(percentile(xs, 95))}`;
  return [
    `  generation phase p50/p95   ${p5095(genPhase)} (first generate scheduled -> last clip downloaded; L = ${s(L)})`,
    `    of which paced p50/p95   ${p5095(paceWait)} (scheduled -> the run's last create, at the account's create limit; L + its p95 = ${s(L + percentile(paceWait, 95))})`,
    `    last create -> ready     ${p5095(afterCreate)} p50/p95 (the run's last create -> its last clip downloaded; goal L + 10 s = ${s(L + 10_000)})`,
    `      per clip: L -> settled  ${p5095(perClip((h) => h.generateMs, L))} p50/p95 (generateClip started -> completed, less L)`,
    `      settled -> download     ${p5095(perClip((h) => h.decideMs))} p50/p95 (generateClip completed -> downloadClip scheduled: the workflow's turn)`,
    `      workflow tasks wait / run ${p5095(perClip((h) => h.wftWaitMs))} / ${p5095(perClip((h) => h.wftRunMs))} p50/p95 (scheduled -> started / started -> completed)`,
    `      download waits / runs ${p5095(perClip((h) => h.downloadWaitMs))} / ${p5095(perClip((h) => h.downloadRunMs))} p50/p95 (scheduled -> started / started -> completed)`,
  ];
}
