/**
 * The plain split fits the video model: a prompt up to the input limit (4,000 characters) gives
 * scenes within the model's prompt limit (Kling: 2,500), cut at a word boundary, with the shot
 * phrasing that tells repeated scenes apart kept whole. Before, such a plan was offered for
 * approval and failed at generate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fallbackScenes, shortenPrompt } from '../src/shared/fallback-plan';
import { MIN_PROMPT_CHARS, MODELS } from '../src/shared/models';
import { MAX_PROMPT_CHARS } from '../src/shared/schemas';

const KLING_LIMIT = MODELS['kling-v2.5-turbo-pro'].maxPromptChars;

/** One long sentence: fewer sentences than scenes, so each scene repeats the prompt with its beat. */
const ONE_SENTENCE = `A lighthouse keeper ${'climbs the winding iron stairs past salt-stained windows '.repeat(80)}`
  .slice(0, MAX_PROMPT_CHARS)
  .trim();

test('a 4,000-character prompt of one sentence: every scene within the model limit, beat kept', () => {
  assert.equal(KLING_LIMIT, 2500);
  assert.ok(ONE_SENTENCE.length >= MAX_PROMPT_CHARS - 1, `prompt of ${ONE_SENTENCE.length}`);
  const scenes = fallbackScenes(ONE_SENTENCE, 3, KLING_LIMIT);
  assert.equal(scenes.length, 3);
  const beats = ['(opening shot, scene 1 of 3)', '(middle shot, scene 2 of 3)', '(closing shot, scene 3 of 3)'];
  scenes.forEach((s, i) => {
    assert.ok(s.length <= KLING_LIMIT, `scene ${i + 1} has ${s.length} characters`);
    assert.ok(s.length > KLING_LIMIT - 80, `scene ${i + 1} keeps most of the prompt (${s.length})`);
    assert.ok(s.endsWith(`… ${beats[i]}`), `scene ${i + 1} ends with its shot phrasing: …${s.slice(-60)}`);
    assert.ok(s.startsWith('A lighthouse keeper climbs'));
    // Cut after a whole word: the text before the ellipsis is a prefix of the prompt ending at a word end.
    const body = s.slice(0, s.indexOf('…'));
    assert.ok(ONE_SENTENCE.startsWith(body));
    assert.match(ONE_SENTENCE.slice(body.length, body.length + 1), /[\s,]/, 'the next character is a word break');
  });
  assert.equal(new Set(scenes).size, 3, 'scenes stay distinct');
});

test('a 4,000-character prompt of many sentences: grouped scenes within the limit, short ones untouched', () => {
  const sentence = (i: number) => `Shot ${i}: the keeper ${'trims the wick and polishes the brass '.repeat(9)}.`;
  let prompt = '';
  for (let i = 1; prompt.length < MAX_PROMPT_CHARS - 400; i++) prompt += `${sentence(i)} `;
  prompt = prompt.trim();
  assert.ok(prompt.length > KLING_LIMIT);
  for (const n of [1, 2]) {
    const scenes = fallbackScenes(prompt, n, KLING_LIMIT);
    assert.equal(scenes.length, n);
    for (const s of scenes) assert.ok(s.length <= KLING_LIMIT, `n=${n}: scene of ${s.length} characters`);
    assert.ok(scenes[0]?.startsWith('Shot 1: the keeper trims'));
  }
  // Under the limit nothing changes: the same split as always (so replayed fallback plans are unchanged).
  const short = 'A dog surfs a wave. The sun sets. Stars come out.';
  assert.deepEqual(fallbackScenes(short, 3), ['A dog surfs a wave.', 'The sun sets.', 'Stars come out.']);
  assert.deepEqual(fallbackScenes('A dog surfs a wave', 2), [
    'A dog surfs a wave (opening shot, scene 1 of 2)',
    'A dog surfs a wave (closing shot, scene 2 of 2)',
  ]);
});

test('without a limit (the workflow fallback) the smallest limit of the model table applies', () => {
  assert.ok(MIN_PROMPT_CHARS <= KLING_LIMIT);
  for (const n of [1, 3, 6]) {
    for (const s of fallbackScenes(ONE_SENTENCE, n)) assert.ok(s.length <= MIN_PROMPT_CHARS, `n=${n}: ${s.length}`);
  }
});

test('shortenPrompt: word boundary, ellipsis, no broken surrogate pair, nothing done under the limit', () => {
  assert.equal(shortenPrompt('a calm sea', 10), 'a calm sea');
  assert.equal(shortenPrompt('a calm sea at dawn', 12), 'a calm sea…');
  assert.equal(shortenPrompt('a calm, quiet sea', 10), 'a calm…', 'no dangling comma before the ellipsis');
  assert.equal(shortenPrompt('supercalifragilistic', 8), 'superca…', 'one long word is cut inside');
  const emoji = shortenPrompt(`${'🌊'.repeat(10)}`, 6);
  assert.ok(emoji.length <= 6);
  assert.ok(!/[\uD800-\uDBFF]…$/.test(emoji), 'no lone high surrogate before the ellipsis');
});
