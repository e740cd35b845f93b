/**
 * Plan activity: asks the LLM to split the prompt into N scene prompts, with zod-validated
 * structured output. We call `create` (not the SDK's `parse`, which throws on fenced or prose-
 * wrapped JSON and loses the text), keep the raw answer, extract the JSON and validate it with zod
 * ourselves. An unusable answer gives a plain split marked `fallback` with the reason; API errors
 * are thrown as catalogue failures so Temporal retries the transient ones and the workflow falls
 * back once they are exhausted. Reasoning models (the default) get a low reasoning effort and no
 * sampling parameters, which they refuse with a 400.
 */
import { Context } from '@temporalio/activity';
import type OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { failure } from '../shared/failures';
import { fallbackScenes, NEUTRAL_LOOK, shortenPrompt } from '../shared/fallback-plan';
import { isReasoningModel } from '../shared/models';
import type { Plan, PlanInput } from '../shared/schemas';
import { fromOpenAIError } from '../providers/errors';

export interface PlanDeps {
  /** Absent when OPENAI_API_KEY is not set: planning then fails over to the plain split. */
  openai?: OpenAI | undefined;
  openaiModel: string;
}

const lookShape = <T extends z.ZodType>(field: T) =>
  z.object({ character: field, setting: field, light: field, lens: field });

/** The answer's shape, as validated here (prompts trimmed and non-empty; a look is a bonus, not a must). */
function scenePlanSchema(n: number) {
  return z.object({
    scenes: z.array(z.object({ prompt: z.string().trim().min(1) })).length(n, `expected exactly ${n} scenes`),
    look: lookShape(z.string().trim().min(1)).optional().catch(undefined),
  });
}

/**
 * The shape asked of the model. No string-length keywords: strict structured output documents
 * `pattern` and `format` for strings, not `minLength`/`maxLength`, and a schema keyword it does not
 * take would turn every plan into a 400 and so into the fallback. The prompt limit is in the
 * instructions instead, and enforced here after the answer (over-long scenes are shortened).
 */
function requestSchema(n: number, look: boolean) {
  const scenes = z.array(z.object({ prompt: z.string() })).length(n);
  return look ? z.object({ look: lookShape(z.string()), scenes }) : z.object({ scenes });
}

/**
 * What the request says about sampling and reasoning. A plan of a few short prompts is a small
 * task: low effort answers in seconds and spends few reasoning tokens (OpenAI's reasoning models
 * have defaulted to medium). Reasoning models refuse `temperature` and `top_p` (400 `unsupported_parameter`), and the
 * others refuse `reasoning_effort`; 0.7 keeps some variety between shots while the characters and
 * style stay consistent across scenes.
 */
export function samplingFor(model: string): { reasoning_effort: 'low' } | { temperature: number } {
  return isReasoningModel(model) ? { reasoning_effort: 'low' } : { temperature: 0.7 };
}

/** Finds the JSON object in an answer that may wrap it in ```json fences or in prose. */
function extractJson(text: string): unknown {
  const attempts: string[] = [text.trim()];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  if (fenced?.[1]) attempts.push(fenced[1].trim());
  const first = text.indexOf('{');
  const last = text.lastIndexOf('}');
  if (first >= 0 && last > first) attempts.push(text.slice(first, last + 1));
  for (const candidate of attempts) {
    try {
      return JSON.parse(candidate) as unknown;
    } catch {
      // try the next way of finding it
    }
  }
  throw new Error('no JSON object found in the answer');
}

/** Storyboard runs: one look for every keyframe, so the stills (and the scenes made from them) match. */
const LOOK_INSTRUCTION =
  'Also write one shared "look" that every shot keeps: "character" (who, with what they wear and how they look),' +
  ' "setting" (where), "light" (time of day, light quality, palette) and "lens" (focal length, framing, film stock),' +
  ' a short phrase each. Answer with JSON only: {"look":{"character":"...","setting":"...","light":"...","lens":"..."},"scenes":[{"prompt":"..."}]}.';

function systemPrompt(n: number, seconds: number, maxChars: number, look: boolean): string {
  return [
    `You are a film director planning a short video made of exactly ${n} consecutive shots of ${seconds} seconds each.`,
    `Split the user's idea into ${n} scene prompts for a text-to-video model, in story order.`,
    'Each prompt describes one continuous shot: subject, action, setting, camera, light and mood, in one or two sentences,',
    `under ${maxChars} characters, with consistent characters and style across scenes. No text overlays.`,
    look ? LOOK_INSTRUCTION : 'Answer with JSON only: {"scenes":[{"prompt":"..."}]}.',
  ].join(' ');
}

export function createPlanActivities(deps: PlanDeps) {
  return {
    async planScenes(input: PlanInput): Promise<Plan> {
      const ctx = Context.current();
      const n = input.scenes;
      if (!deps.openai) {
        throw failure('ConfigMissing', 'OPENAI_API_KEY is not set on the worker');
      }
      const max = input.maxScenePromptChars;
      const wantsLook = input.look === true;
      const schema = requestSchema(n, wantsLook);
      ctx.log.info(
        `plan: asking ${deps.openaiModel} for ${n} scenes${input.feedback !== undefined ? ' again, with the feedback' : ''}`,
      );
      // A heartbeat while the LLM answers lets a dead worker be noticed in seconds, not at the 2-minute timeout.
      ctx.heartbeat();
      const beat = setInterval(() => ctx.heartbeat(), 5000);
      let raw: string | null | undefined;
      let refusal: string | null | undefined;
      let finish: string | undefined;
      try {
        const completion = await deps.openai.chat.completions.create(
          {
            model: deps.openaiModel,
            messages: [
              { role: 'system', content: systemPrompt(n, input.sceneSeconds, input.maxScenePromptChars, wantsLook) },
              { role: 'user', content: input.prompt },
              // A re-plan after a rejection: the model sees its previous plan and what the person wants changed.
              ...(input.feedback !== undefined
                ? [
                    {
                      role: 'assistant' as const,
                      content: JSON.stringify({ scenes: (input.previousScenes ?? []).map((prompt) => ({ prompt })) }),
                    },
                    {
                      role: 'user' as const,
                      content: `The reviewer rejected this plan. Their feedback: ${input.feedback}\nMake a new plan of exactly ${n} scenes that follows the feedback.`,
                    },
                  ]
                : []),
            ],
            response_format: zodResponseFormat(schema, 'scene_plan'),
            ...samplingFor(deps.openaiModel),
          },
          { signal: ctx.cancellationSignal },
        );
        const choice = completion.choices[0];
        raw = choice?.message.content;
        refusal = choice?.message.refusal;
        finish = choice?.finish_reason;
      } catch (err) {
        // The SDK wraps our abort in APIUserAbortError (name 'Error'), which Temporal would report
        // as a retryable failure; the signal's reason is the CancelledFailure that reports a cancellation.
        if (ctx.cancellationSignal.aborted) throw (ctx.cancellationSignal.reason as Error | undefined) ?? err;
        throw fromOpenAIError(err) ?? err;
      } finally {
        clearInterval(beat);
      }
      if (process.env.DEBUG) ctx.log.debug(`plan: raw answer: ${raw ?? '(empty)'}`);

      const unusable = (reason: string): Plan => {
        ctx.log.warn(`plan: the model's answer was not usable (${reason}); using a plain split of the prompt`);
        return {
          planner: 'fallback',
          note: `the model's answer was not usable: ${reason}`,
          scenes: fallbackScenes(input.prompt, n, max),
          ...(wantsLook ? { look: NEUTRAL_LOOK } : {}),
        };
      };
      if (refusal) return unusable(`the model refused: ${refusal}`);
      if (finish === 'length') return unusable('the answer was cut off (finish_reason=length)');
      // Without this the reviewer would read "empty answer" and not know the prompt itself was the problem.
      if (finish === 'content_filter') {
        return unusable('the answer was blocked by the content filter (finish_reason=content_filter)');
      }
      if (!raw) return unusable('empty answer');
      let json: unknown;
      try {
        json = extractJson(raw);
      } catch (err) {
        return unusable((err as Error).message);
      }
      // Validated without the length limit: a scene over it is shortened below, not the whole plan thrown away.
      const result = scenePlanSchema(n).safeParse(json);
      if (!result.success) {
        return unusable(result.error.issues.map((i) => `${i.path.join('.') || 'answer'}: ${i.message}`).join('; '));
      }
      const data = result.data;
      // Asked for and missing (or unusable): a neutral look; the scenes are still the model's.
      const look = wantsLook ? { look: data.look ?? NEUTRAL_LOOK } : {};
      // A scene over the video model's limit would be refused at generate, after the person approved
      // the plan. Shortened at a word boundary (an LLM's scene leads with subject and action, so the
      // cut loses the least), and the note tells the reviewer before approval which scenes were cut.
      const cut: number[] = [];
      const scenes = data.scenes.map((s, i) => {
        if (s.prompt.length <= max) return s.prompt;
        cut.push(i + 1);
        return shortenPrompt(s.prompt, max);
      });
      scenes.forEach((s, i) => {
        ctx.log.info(`plan: scene ${i + 1}/${n}: ${s}`);
      });
      if (cut.length === 0) return { planner: 'openai', ...look, scenes };
      const note = `scene${cut.length > 1 ? 's' : ''} ${cut.join(', ')} shortened to the model's ${max}-character prompt limit`;
      ctx.log.warn(`plan: ${note}`);
      return { planner: 'openai', note, ...look, scenes };
    },
  };
}

export type PlanActivities = ReturnType<typeof createPlanActivities>;
