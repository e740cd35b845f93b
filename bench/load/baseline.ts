/**
 * The load bench's baseline: one run alone on the idle worker. Its tail (last clip on disk -> done)
 * against its stitch's own duration is what the loaded runs' tails are compared with.
 */
import type { Client } from '@temporalio/client';
import type { loadConfig } from '../../src/config';
import { historyOf } from './history';
import { oneRun } from './runs';
import { mb, s, say } from './report';

const gap = (from: number | undefined, to: number | undefined) =>
  from !== undefined && to !== undefined ? to - from : NaN;

export async function baselineRun(
  client: Client,
  cfg: ReturnType<typeof loadConfig>,
  t0: number,
  peaks: () => { workerKb: number; childrenKb: number },
): Promise<{ tailMs: number; stitchMs: number }> {
  const base = await oneRun(client, cfg, t0, 'baseline');
  if (!base.ok) throw new Error(`baseline run ${base.workflowId} failed: ${base.error ?? '?'}`);
  const bh = await historyOf(client, base.workflowId);
  const tailMs = gap(bh.lastClipReadyMs, bh.doneMs);
  const stitchMs = gap(bh.stitchStartedMs, bh.stitchCompletedMs);
  const { workerKb, childrenKb } = peaks();
  say('');
  say('baseline (1 run alone on the idle worker)');
  say(`  end-to-end                 ${s(base.ms)}`);
  say(`  last clip ready -> done    ${s(tailMs)}`);
  say(`  stitch activity duration   ${s(stitchMs)} (started -> completed)`);
  say(
    `  tail breakdown             last clip -> stitch scheduled ${s(gap(bh.lastClipReadyMs, bh.stitchScheduledMs))}, scheduled -> started ${s(gap(bh.stitchScheduledMs, bh.stitchStartedMs))}, stitch ${s(stitchMs)}, stitch completed -> done ${s(gap(bh.stitchCompletedMs, bh.doneMs))}`,
  );
  say(`  worker peak RSS            ${mb(workerKb)} (children ${mb(childrenKb)})`);
  return { tailMs, stitchMs };
}
