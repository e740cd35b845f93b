/**
 * A regeneration's log line names its step once. Activities start their messages with the step's
 * tag ("keyframe 2/4: the keyframe's URL answered 404 …"); the workflow's warning used to add the
 * tag again ("keyframe 2/4: keyframe 2/4: …").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tagged } from '../src/workflows/activity-failures';

test('a message that already starts with its tag keeps one tag', () => {
  const message = "keyframe 2/4: the keyframe's URL answered 404 (the output is 1 h 2 min old)";
  assert.equal(tagged('keyframe 2/4', message), message);
});

test('a message without its tag gets it in front', () => {
  assert.equal(tagged('scene 1/3', 'the clip is 0.20 s long'), 'scene 1/3: the clip is 0.20 s long');
});

test("another step's tag is not taken for this one", () => {
  assert.equal(tagged('scene 1/3', 'scene 10/30: gone'), 'scene 1/3: scene 10/30: gone');
});
