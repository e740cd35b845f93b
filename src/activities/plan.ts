/**
 * Plan activity: asks the LLM to split the prompt into N scene prompts, with zod-validated
 * structured output. We call `create` (not the SDK's `parse`, which throws on fenced or prose-
 * wrapped JSON and loses the text), keep the raw answer, extract the JSON and validate it with zod
 * ourselves. An unusable answer gives a plain split marked `fallback` with the reason; API errors
 * are thrown as catalogue failures so Temporal retries the transient ones and the workflow falls
 * back once they are exhausted.
 */
import { Context } from '@temporalio/activity';
import type OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { failure } from '../shared/failures';
import { fallbackScenes } from '../shared/fallback-plan';
import type { Plan, PlanInput } from '../shared/schemas';
import { fromOpenAIError } from '../providers/errors';

export interface PlanDeps {
  /** Absent when OPENAI_API_KEY is not set: planning then fails over to the plain split. */
  openai?: OpenAI | undefined;
  openaiModel: string;
}

function scenePlanSchema(n: number, maxChars: number) {
  return z.object({
    scenes: z
      .array(z.object({ prompt: z.string().trim().min(1).max(maxChars) }))
      .length(n, `expected exactly ${n} scenes`),
  });
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

function systemPrompt(n: number, seconds: number, maxChars: number): string {
  return [
    `You are a film director planning a short video made of exactly ${n} consecutive shots of ${seconds} seconds each.`,
    `Split the user's idea into ${n} scene prompts for a text-to-video model, in story order.`,
    'Each prompt describes one continuous shot: subject, action, setting, camera, light and mood, in one or two sentences,',
    `under ${maxChars} characters, with consistent characters and style across scenes. No text overlays.`,
    'Answer with JSON only: {"scenes":[{"prompt":"..."}]}.',
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
      const schema = scenePlanSchema(n, input.maxScenePromptChars);
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
              { role: 'system', content: systemPrompt(n, input.sceneSeconds, input.maxScenePromptChars) },
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
          scenes: fallbackScenes(input.prompt, n),
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
      const result = schema.safeParse(json);
      if (!result.success) {
        return unusable(result.error.issues.map((i) => `${i.path.join('.') || 'answer'}: ${i.message}`).join('; '));
      }
      const data: { scenes: { prompt: string }[] } = result.data;
      const scenes = data.scenes.map((s) => s.prompt);
      scenes.forEach((s, i) => {
        ctx.log.info(`plan: scene ${i + 1}/${n}: ${s}`);
      });
      return { planner: 'openai', scenes };
    },
  };
}

export type PlanActivities = ReturnType<typeof createPlanActivities>;
