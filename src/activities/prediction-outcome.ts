/**
 * What a finished prediction means for the scene: its clip, or a catalogue failure that says
 * whether another prediction is worth paying for.
 */
import type { Prediction } from 'replicate';
import { failure } from '../shared/failures';
import type { GenerateClipResult } from '../shared/schemas';

/**
 * The model's own failures a scene may have: the one that reaches this count fails the scene
 * instead of paying for another prediction. Counted in the heartbeat, not by attempt number, so
 * worker crashes and SIGTERM handovers (which also use attempts) never spend it.
 */
export const MAX_MODEL_ATTEMPTS = 3;

const MODERATION = /\bE005\b|flagged as sensitive/i;

/** `ctx`: anything with a logger (an activity's context, or the tracker's entry after the activity handed over). */
export function outcome(
  ctx: { log: { info(msg: string): void } },
  tag: string,
  prediction: Prediction,
  modelFailures: number,
): GenerateClipResult {
  const id = prediction.id;
  switch (prediction.status) {
    case 'succeeded': {
      const out: unknown = prediction.output;
      const url = Array.isArray(out) ? (out[0] as unknown) : out;
      if (typeof url !== 'string') {
        throw failure('PredictionFailed', `${tag}: prediction ${id} succeeded without an output URL`);
      }
      const secs = prediction.metrics?.predict_time;
      ctx.log.info(
        `${tag}: ${tag.startsWith('keyframe') ? 'image' : 'clip'} generated${secs ? ` in ${secs.toFixed(0)} s` : ''}`,
      );
      return { predictionId: id, outputUrl: url };
    }
    case 'failed': {
      const reason = typeof prediction.error === 'string' ? prediction.error : JSON.stringify(prediction.error);
      if (MODERATION.test(reason)) {
        throw failure(
          'ContentFlagged',
          `${tag}: Replicate flagged the prompt or output as sensitive (E005); edit the scene: ${reason}`,
          { details: [{ predictionId: id }] },
        );
      }
      // The model's own failures are bounded here, by their count, and not by the retry
      // policy's maximumAttempts: that one must stay high, because worker crashes, heartbeat
      // timeouts and handovers also use attempts and must never be what fails a run.
      const failures = modelFailures + 1;
      const final = failures >= MAX_MODEL_ATTEMPTS;
      throw failure(
        'PredictionFailed',
        `${tag}: prediction ${id} failed: ${reason}${final ? ` (failure ${failures} of ${MAX_MODEL_ATTEMPTS}: giving up)` : ''}`,
        { details: [{ predictionId: id }], ...(final ? { nonRetryable: true } : {}) },
      );
    }
    default:
      throw failure('PredictionCanceled', `${tag}: prediction ${id} was ${prediction.status} at Replicate`, {
        details: [{ predictionId: id }],
      });
  }
}
