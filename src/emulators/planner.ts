/**
 * The emulated planner: turns a user prompt into N scene prompts, deterministically, and fills
 * whatever JSON schema the caller asked for. Deterministic so tests can compare plans; distinct
 * and descriptive so the rest of the pipeline (one clip per distinct prompt) behaves as with GPT.
 */
import { isRecord } from './http';

const DEFAULT_SCENES = 3;

const SHOTS = [
  { label: 'Opening wide establishing shot', camera: 'slow dolly-in', light: 'soft golden-hour light' },
  { label: 'Medium tracking shot', camera: 'smooth lateral tracking move', light: 'warm natural light' },
  { label: 'Close-up detail shot', camera: 'gentle handheld drift', light: 'shallow depth of field, bokeh highlights' },
  { label: 'Low-angle hero shot', camera: 'slow upward tilt', light: 'dramatic rim lighting' },
  { label: 'Aerial overhead shot', camera: 'steady drone glide', light: 'crisp high-contrast light' },
  { label: 'Over-the-shoulder shot', camera: 'subtle push-in', light: 'cool ambient light' },
  { label: 'Silhouette shot', camera: 'locked-off frame', light: 'strong backlight and long shadows' },
  { label: 'Slow-motion shot', camera: '120 fps slow motion', light: 'glittering specular highlights' },
] as const;

const FINAL_SHOT = { label: 'Closing wide shot', camera: 'slow pull-back to reveal', light: 'fading evening light' };

const NUMBER_WORDS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
};

/** "exactly 3 scenes", "four shots", "5 scene prompts" -> the number, if the text says one. */
function sceneCountFromText(text: string): number | undefined {
  const re =
    /\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:[a-z-]+\s+){0,2}?(?:scenes?|shots?|clips?)\b/i;
  // Also "Number of scenes: 4" / "scenes=4", as a templated prompt would put it.
  const m = re.exec(text) ?? /\bscenes?\s*[:=]\s*(\d{1,2})\b/i.exec(text);
  if (!m?.[1]) return undefined;
  const word = m[1].toLowerCase();
  const n = NUMBER_WORDS[word] ?? Number(word);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * The subject to illustrate. Planner prompts usually wrap the user's text in instructions, so a
 * delimited part (tags, triple quotes, a `Prompt:` line, a long quotation) wins over the whole text.
 */
function extractSubject(text: string): string {
  const patterns = [
    /<prompt>([\s\S]+?)<\/prompt>/i,
    /"""([\s\S]+?)"""/,
    /```(?:text)?\n?([\s\S]+?)```/,
    /^\s*(?:user(?:'s)?\s+)?(?:prompt|idea|video idea|description)\s*:\s*(.+)$/im,
    // "Split this idea into 3 scenes: a dog surfing"
    /\b(?:scenes?|shots?|clips?)\b[^:\n]{0,40}:\s*(.+)$/im,
  ];
  for (const re of patterns) {
    const m = re.exec(text)?.[1]?.trim();
    if (m && /\p{L}/u.test(m)) return clean(m);
  }
  const quoted = [...text.matchAll(/["“]([^"”]{8,})["”]/g)].map((m) => m[1] ?? '').sort((a, b) => b.length - a.length);
  if (quoted[0]) return clean(quoted[0]);
  return clean(text);
}

function clean(s: string): string {
  const oneLine = s
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^["'“”]+|["'“”]+$/g, '')
    .replace(/[.!?]+$/, '');
  // Keeps scene prompts far below Kling's 2500-character limit however long the idea is.
  return oneLine.length > 600 ? `${oneLine.slice(0, 600).trimEnd()}…` : oneLine || 'an abstract scene';
}

/** N distinct, deterministic scene prompts for a subject. */
function scenePrompts(subject: string, n: number, maxLength?: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const shot = n > 1 && i === n - 1 ? FINAL_SHOT : SHOTS[i % SHOTS.length]!;
    const tail = `, ${shot.camera}, ${shot.light}, cinematic 35mm look (scene ${i + 1} of ${n})`;
    let prompt = `${shot.label} of ${subject}${tail}`;
    if (maxLength !== undefined && prompt.length > maxLength) {
      // Cut the subject, not the tail, so prompts stay distinct.
      const room = Math.max(0, maxLength - tail.length - shot.label.length - 4);
      prompt = `${shot.label} of ${subject.slice(0, room)}${tail}`.slice(0, maxLength);
    }
    out.push(prompt);
  }
  return out;
}

type Schema = Record<string, unknown>;

interface FillContext {
  root: Schema;
  subject: string;
  defaultCount: number;
  /** Added to every scene array's length (the `wrongCount` mode). */
  countDelta: number;
  /** Length of the innermost array being filled: scene i of this many. */
  arrayLength: number;
}

function resolveRef(schema: Schema, root: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return schema;
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) node = isRecord(node) ? node[part] : undefined;
  return isRecord(node) ? resolveRef(node, root) : {};
}

function schemaTypes(schema: Schema): string[] {
  const t = schema.type;
  return Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string') : typeof t === 'string' ? [t] : [];
}

/** Picks the non-null branch of a `nullable` union, so optional fields still get a value. */
function pickBranch(schema: Schema, root: Schema): Schema {
  const s = resolveRef(schema, root);
  const union = s.anyOf ?? s.oneOf;
  if (Array.isArray(union)) {
    const branches = union.filter(isRecord).map((b) => resolveRef(b, root));
    return branches.find((b) => !schemaTypes(b).every((t) => t === 'null') || b.const !== undefined) ?? {};
  }
  return s;
}

/** A storyboard's shared look (vidflow asks for `look: {character, setting, light, lens}`), from the subject. */
const LOOK: Partial<Record<string, (subject: string) => string>> = {
  character: (subject) => `the one protagonist of ${subject}, same face and clothes in every shot`,
  setting: (subject) => `the world of ${subject}`,
  light: () => 'golden-hour light, warm palette',
  lens: () => '35mm lens, eye level, shallow depth of field',
};

function fill(schemaIn: Schema, ctx: FillContext, key: string, index: number | undefined): unknown {
  const schema = pickBranch(schemaIn, ctx.root);
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0] as unknown;
  const types = schemaTypes(schema).filter((t) => t !== 'null');
  const type = types[0] ?? (isRecord(schema.properties) ? 'object' : isRecord(schema.items) ? 'array' : 'string');
  switch (type) {
    case 'object': {
      const props = isRecord(schema.properties) ? schema.properties : {};
      const obj: Record<string, unknown> = {};
      for (const [k, sub] of Object.entries(props)) if (isRecord(sub)) obj[k] = fill(sub, ctx, k, index);
      return obj;
    }
    case 'array': {
      const items = isRecord(schema.items) ? schema.items : { type: 'string' };
      const min = typeof schema.minItems === 'number' ? schema.minItems : undefined;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : undefined;
      // The schema's bounds win (that is how callers ask for N); the text's "N scenes" fills a range.
      const fits = (min ?? 0) <= ctx.defaultCount && ctx.defaultCount <= (max ?? Infinity);
      const n = Math.max(0, (fits ? ctx.defaultCount : (min ?? max ?? ctx.defaultCount)) + ctx.countDelta);
      return Array.from({ length: n }, (_, i) => fill(items, { ...ctx, arrayLength: n }, key, i));
    }
    case 'integer':
    case 'number': {
      if (/second|duration/i.test(key)) return 5;
      if (/index|number|scene/i.test(key)) return (index ?? 0) + 1;
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    }
    case 'boolean':
      return false;
    default: {
      const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : undefined;
      let text: string;
      if (index !== undefined && /prompt|description|text|scene|visual|^$/i.test(key)) {
        text = scenePrompts(ctx.subject, ctx.arrayLength, maxLength)[index] ?? ctx.subject;
      } else if (index !== undefined) {
        text = `Scene ${index + 1}`;
      } else if (LOOK[key]) {
        text = LOOK[key](ctx.subject);
      } else if (/title|name/i.test(key)) {
        text = ctx.subject.slice(0, 80);
      } else {
        text = `A short film about ${ctx.subject}`;
      }
      return maxLength !== undefined ? text.slice(0, maxLength) : text;
    }
  }
}

export interface PlanOptions {
  /** The caller's JSON schema (response_format / text.format), if any. */
  schema?: Record<string, unknown> | undefined;
  /** All instruction text (system and user), searched for "N scenes" when there is no schema. */
  instructions: string;
  /** The last user message. */
  userText: string;
  countDelta?: number;
}

export interface Replan {
  /** The idea of the first request, as the person wrote it. */
  original: string;
  feedback: string;
}

/**
 * A re-plan after a rejection, as vidflow's plan activity asks for one: the first user message
 * holds the idea, the model's previous plan follows as JSON, and the last user message carries
 * the reviewer's feedback. A model keeps the idea and applies the feedback; so does this one,
 * instead of illustrating the feedback message itself.
 */
export function replanOf(userText: string, allText: string): Replan | undefined {
  const m = /\b(?:rejected|feedback)\b[\s\S]*?\bfeedback\s*:\s*([\s\S]+?)\s*(?:\n\s*make a new plan\b[\s\S]*)?$/i.exec(
    userText,
  );
  const feedback = m?.[1]?.trim();
  if (!feedback) return undefined;
  const at = allText.lastIndexOf(userText);
  if (at <= 0) return undefined;
  const lines = allText.slice(0, at).split('\n');
  // The rejected plan (the assistant's JSON answer) sits between the idea and the feedback.
  while (lines.length > 0 && (lines.at(-1)!.trim() === '' || /^\s*[{[]/.test(lines.at(-1)!))) lines.pop();
  // Leading instruction lines (the system prompt) are not the idea.
  const isInstruction = (l: string) => /\bJSON\b|scene prompts|\byou are\b|text-to-video/i.test(l);
  while (lines.length > 1 && isInstruction(lines[0]!)) lines.shift();
  const original = lines.join('\n').trim();
  return original ? { original, feedback } : undefined;
}

/** The plan object the emulated model "writes". */
export function makePlan(opts: PlanOptions): unknown {
  const replan = replanOf(opts.userText, opts.instructions);
  const subject = replan
    ? `${extractSubject(replan.original)}, reworked as asked: ${clean(replan.feedback)}`
    : extractSubject(opts.userText);
  const defaultCount = sceneCountFromText(opts.userText) ?? sceneCountFromText(opts.instructions) ?? DEFAULT_SCENES;
  const countDelta = opts.countDelta ?? 0;
  if (!opts.schema) {
    const n = Math.max(0, defaultCount + countDelta);
    return { scenes: scenePrompts(subject, n).map((prompt) => ({ prompt })) };
  }
  return fill(opts.schema, { root: opts.schema, subject, defaultCount, countDelta, arrayLength: 0 }, '', undefined);
}
