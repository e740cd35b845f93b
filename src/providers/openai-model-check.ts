/**
 * The worker's start check of the planner's model. OpenAI gives a `shutdown_date` for the models
 * it retires, and from that day every plan would quietly be the plain split (the plan activity
 * gets a 404 and the workflow falls back): a warning at start gives the operator the date and the
 * setting to change while there is time. One cheap lookup with a short timeout and no retries,
 * run beside the worker's start rather than before it: without a key, or with OpenAI out of reach,
 * it says nothing and fails nothing (the worker must start in an outage, and the plan activity
 * reports the errors that matter when a plan is asked for).
 */
import { APIError } from 'openai';
import type OpenAI from 'openai';
import type { Model } from 'openai/resources/models';
import type { Config } from '../config';
import { DEFAULT_PLANNER_MODEL } from '../shared/models';
import { createOpenAI } from './clients';

/** Long enough for a slow answer from far away, short enough that a hung connection is not noticed. */
export const MODEL_CHECK_TIMEOUT_MS = 5000;

/** openai 6.49.0's `Model` type does not have the field yet; the API sends it (YYYY-MM-DD or null). */
type ModelWithShutdown = Model & { shutdown_date?: string | null };

export interface ModelCheckOptions {
  timeoutMs?: number;
  /** Today, for "leaves" vs "left"; tests pass a fixed day. */
  now?: Date;
}

function replacement(model: string): string {
  return model === DEFAULT_PLANNER_MODEL ? 'a current model' : `a current model such as ${DEFAULT_PLANNER_MODEL}`;
}

/**
 * The warning for `model`, or undefined when there is nothing to say or it could not be found
 * out. Never throws.
 */
export async function plannerModelWarning(
  openai: OpenAI | undefined,
  model: string,
  opts: ModelCheckOptions = {},
): Promise<string | undefined> {
  if (!openai) return undefined;
  let info: ModelWithShutdown;
  try {
    info = await openai.models.retrieve(model, { timeout: opts.timeoutMs ?? MODEL_CHECK_TIMEOUT_MS, maxRetries: 0 });
  } catch (err) {
    // Only OpenAI's own "no such model" (an OpenAI-compatible server may not serve /models at all).
    if (err instanceof APIError && err.status === 404 && err.code === 'model_not_found') {
      return `warning: OpenAI does not know the planner model ${model} (model_not_found): every plan will be a plain split. Set OPENAI_MODEL (e.g. in .env) to ${replacement(model)}.`;
    }
    return undefined;
  }
  const date = info.shutdown_date;
  if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined;
  const today = (opts.now ?? new Date()).toISOString().slice(0, 10);
  const when = date <= today ? 'was shut down' : 'leaves the OpenAI API';
  return `warning: the planner model ${model} ${when} on ${date} (OpenAI's shutdown_date); from then on every plan will be a plain split. Set OPENAI_MODEL (e.g. in .env) to ${replacement(model)}.`;
}

/** For the worker's start: logs the warning, if any, whenever the lookup answers. Never rejects. */
export async function warnAboutPlannerModel(cfg: Config, log: (line: string) => void): Promise<void> {
  try {
    const warning = await plannerModelWarning(createOpenAI(cfg), cfg.OPENAI_MODEL);
    if (warning) log(warning);
  } catch {
    // A warning must never take the worker down (e.g. a log sink that throws).
  }
}
