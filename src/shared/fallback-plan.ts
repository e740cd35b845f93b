/**
 * The plain split used when the LLM cannot plan: deterministic and dependency-free, so the
 * workflow itself can call it when the plan activity has failed for good. Every scene fits the
 * video model's prompt limit: a plan is approved by a person, and one that holds a prompt the model
 * will refuse could never run (nothing would be paid, but the approval would be wasted).
 */
import { MIN_PROMPT_CHARS } from './models';
import type { Look } from './schemas';

/**
 * The look of a storyboard whose planner wrote none (the fallback, an old plan): plain and neutral,
 * so the keyframes at least share light and lens; the scenes' own words carry the rest.
 */
export const NEUTRAL_LOOK: Look = {
  character: 'the same subject throughout',
  setting: 'as the scene describes',
  light: 'soft natural light',
  lens: '35mm lens, eye level, photorealistic',
};

const BEATS = ['opening shot', 'middle shot', 'closing shot'];
const ELLIPSIS = '…';

function beat(i: number, n: number): string {
  if (n === 1) return 'single shot';
  if (i === 0) return BEATS[0]!;
  if (i === n - 1) return BEATS[2]!;
  return n === 3 ? BEATS[1]! : `shot ${i + 1}`;
}

/**
 * Cuts `text` to at most `max` characters (UTF-16 units, as the limits are checked) at a word
 * boundary, marked with an ellipsis. A single word longer than the room is cut inside it.
 */
export function shortenPrompt(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= ELLIPSIS.length) return text.slice(0, Math.max(0, max));
  const room = max - ELLIPSIS.length;
  let cut = text.slice(0, room);
  // A space right after the cut means the last word is whole.
  const space = text[room] === ' ' ? room : cut.lastIndexOf(' ');
  if (space > room / 2) cut = cut.slice(0, space);
  // Never leave half of a surrogate pair (an emoji) at the end.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.replace(/[\s,;:.!?-]+$/, '')}${ELLIPSIS}`;
}

/**
 * Splits on sentence ends; when there are fewer sentences than scenes, repeats the prompt with a
 * beat. Each scene is at most `maxChars` (default: the smallest limit of any video model, for
 * callers that do not pass the chosen model's); a repeated prompt is shortened before its beat, so
 * the shot phrasing that tells the scenes apart survives.
 */
export function fallbackScenes(prompt: string, n: number, maxChars: number = MIN_PROMPT_CHARS): string[] {
  const text = prompt.trim().replace(/\s+/g, ' ');
  const sentences = text
    .split(/(?<=[.!?;])\s+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (sentences.length >= n) {
    // Group consecutive sentences into n nearly equal chunks, keeping their order.
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const from = Math.floor((i * sentences.length) / n);
      const to = Math.floor(((i + 1) * sentences.length) / n);
      out.push(shortenPrompt(sentences.slice(from, to).join(' '), maxChars));
    }
    return out;
  }
  return Array.from({ length: n }, (_, i) => {
    const tail = ` (${beat(i, n)}, scene ${i + 1} of ${n})`;
    return `${shortenPrompt(text, maxChars - tail.length)}${tail}`;
  });
}
