/**
 * Stitch activity: joins the scene clips into `<outputDir>/<safe workflowId>.mp4`. It heartbeats the
 * percentage (which is also how a cancellation reaches it) and hands the activity's cancellation
 * signal to ffmpeg, so a cancelled run kills ffmpeg at once and leaves no partial file behind.
 */
import { access } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { failure } from '../shared/failures';
import type { OutputInfo, StitchClipsInput } from '../shared/schemas';
import { FfmpegMissingError, FfmpegRunError } from '../media/ffmpeg';
import { ClipError, StitchOptionsError, stitchClips } from '../media/stitch';
import { outputVideoPath } from '../support/paths';
import { Slots } from '../support/slots';

export interface StitchDeps {
  outputDir: string;
  /** Stitches this worker runs at once; more wait (heartbeating) for a slot. */
  maxConcurrentStitches?: number;
  /** How often a running stitch heartbeats when ffmpeg reports no progress (default 5 s). */
  quietBeatMs?: number;
}

const MB = 1024 * 1024;

function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  if (err instanceof ClipError) {
    return failure(err.reason === 'unreadable' ? 'InvalidClip' : 'StitchFailed', `stitch: ${err.message}`, {
      cause: err,
      details: [{ clipIndex: err.index, file: err.file }],
    });
  }
  if (err instanceof FfmpegMissingError) return failure('ConfigMissing', `stitch: ${err.message}`, { cause: err });
  if (err instanceof FfmpegRunError) {
    if (err.diskFull) return failure('DiskFull', `stitch: no space left on the device: ${err.message}`, { cause: err });
    return failure('StitchFailed', `stitch: ${err.message}`, { cause: err });
  }
  if (err instanceof StitchOptionsError) return failure('StitchFailed', `stitch: ${err.message}`, { cause: err });
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC') {
    return failure('DiskFull', `stitch: no space left on the device: ${(err as Error).message}`, {
      cause: err as Error,
    });
  }
  // Anything else (EACCES on the output folder, a crash) stays retryable: it may be transient.
  return err;
}

export function createStitchActivities(deps: StitchDeps) {
  // Stitching is CPU-bound: on a 2-core worker, two at once only slow each other and every other
  // activity down. The cap queues the rest instead.
  const slots = new Slots(Math.max(1, Math.floor(deps.maxConcurrentStitches ?? 1)));
  return {
    async stitchClips(input: StitchClipsInput): Promise<OutputInfo> {
      const ctx = Context.current();
      if (!slots.tryAcquire()) {
        ctx.log.info(`stitch: waiting for a stitch slot (${slots.inUse} in use)`);
        ctx.heartbeat({ percent: 0, waiting: true });
        const beat = setInterval(() => ctx.heartbeat({ percent: 0, waiting: true }), 5000);
        try {
          await slots.wait(ctx.cancellationSignal);
        } finally {
          clearInterval(beat);
        }
      }
      try {
        return await stitchOnce(ctx, input);
      } finally {
        slots.release();
      }
    },
  };

  async function stitchOnce(ctx: Context, input: StitchClipsInput): Promise<OutputInfo> {
    const output = outputVideoPath(deps.outputDir, input.workflowId);
    const fade = input.transitionSeconds;
    ctx.log.info(`stitch: joining ${input.clips.length} clips with ${fade} s fades into ${output}`);
    const started = Date.now();
    let lastPercent = -1;
    const heartbeat = (percent: number) => {
      if (percent === lastPercent) return;
      lastPercent = percent;
      ctx.heartbeat({ percent });
    };
    heartbeat(0);
    // Clips that are not on this disk (it was wiped, or this worker id came back on a new one) are
    // not a broken clip: the workflow can fetch them again, so say so with a type of its own.
    const missing: number[] = [];
    await Promise.all(input.clips.map((clip, i) => access(clip).catch(() => missing.push(i + 1))));
    if (missing.length > 0) {
      missing.sort((a, b) => a - b);
      const msg = `stitch: clip(s) of scene ${missing.join(', ')} are no longer on this worker`;
      ctx.log.warn(msg);
      throw failure('ClipsMissing', msg, { details: [{ scenes: missing }] });
    }
    // Progress alone is not enough: ffmpeg runs at nice 10, and on a saturated worker (a hundred
    // runs' downloads and probes at normal priority) it may print no progress line for a long
    // while. The heartbeat says the worker is alive, so beat on a timer too, or a healthy stitch
    // can time out and run again (a stitch was retried after a heartbeat timeout in one of eight
    // 100-run benches).
    const quiet = setInterval(() => ctx.heartbeat({ percent: Math.max(0, lastPercent) }), deps.quietBeatMs ?? 5000);
    try {
      const result = await stitchClips({
        inputs: input.clips,
        output,
        fadeSeconds: fade,
        signal: ctx.cancellationSignal,
        // Whole percents: the SDK throttles heartbeats anyway, this just avoids needless calls.
        onProgress: (fraction) => heartbeat(Math.floor(fraction * 100)),
      });
      heartbeat(100);
      const took = ((Date.now() - started) / 1000).toFixed(1);
      ctx.log.info(
        `stitch: done ${result.durationSeconds.toFixed(1)} s, ${(result.sizeBytes / MB).toFixed(1)} MB in ${took} s`,
      );
      return result;
    } catch (err) {
      if (ctx.cancellationSignal.aborted) {
        ctx.log.info('stitch: cancelled, ffmpeg stopped and the partial file removed');
      } else {
        ctx.log.info(`stitch: failed: ${(err as Error).message}`);
      }
      throw toFailure(err);
    } finally {
      clearInterval(quiet);
    }
  }
}

export type StitchActivities = ReturnType<typeof createStitchActivities>;
