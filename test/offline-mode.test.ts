/**
 * Offline mode as a rehearsal of the real flow, in its parts: the emulated planner re-plans from
 * the original prompt plus the feedback (through the real plan activity and openai client), and
 * offline cards carry their scene and the first words of their prompt, so an edit or a redo shows
 * in the video; without a font they stay plain colours.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlanActivities } from '../src/activities/plan';
import { offlineLogLine } from '../src/client/offline';
import { cardCaption, rememberScene } from '../src/media/card-caption';
import { captionFont, makeTestClip } from '../src/media/testclip';
import { CAPTION_REGION, PLAIN_REGION, meanAbsDiff, regionGrey } from './helpers/frames';
import { harness, useEmulators } from './helpers/activity-env';

const emu = useEmulators();
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-offline-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a rejected plan is made again from the original prompt plus the feedback', async () => {
  const acts = createPlanActivities({ openai: emu.openai(), openaiModel: 'gpt-4o-mini' });
  const input = {
    prompt: 'a cat astronaut floating past the moon',
    scenes: 3,
    sceneSeconds: 5,
    maxScenePromptChars: 2500,
  };
  const first = await harness().run((i: typeof input) => acts.planScenes(i), input);
  const edited = [...first.scenes];
  edited[1] = 'a cat juggling moon rocks';
  const again = await harness().run(
    (i: typeof input & { previousScenes: string[]; feedback: string }) => acts.planScenes(i),
    {
      ...input,
      previousScenes: edited,
      feedback: 'make it funnier',
    },
  );
  assert.equal(again.scenes.length, 3);
  for (const s of again.scenes) {
    assert.match(s, /a cat astronaut floating past the moon/, 'the subject is kept');
    assert.match(s, /make it funnier/, 'the feedback is applied');
    assert.doesNotMatch(s, /rejected this plan|Their feedback|Make a new plan/i, 'not the feedback message itself');
  }
  assert.notDeepEqual(again.scenes, first.scenes);
});

test('card captions: the scene (from the offline worker, or the prompt) and the first words', () => {
  rememberScene('kites shaped like dragons', 2, 3);
  assert.equal(cardCaption('kites shaped like dragons'), 'scene 2/3\nkites shaped like dragons');
  const planned = cardCaption(
    'Medium tracking shot of a cat astronaut floating past the moon, smooth lateral tracking move, warm natural light (scene 2 of 3)',
  );
  const lines = planned.split('\n');
  assert.equal(lines[0], 'scene 2/3');
  assert.equal(lines.length, 4, 'the label and at most three lines of words');
  assert.ok(lines.slice(1).every((l) => l.length <= 34));
  assert.ok(lines[3]!.endsWith('…'), 'cut with an ellipsis');
  assert.equal(cardCaption('a lone word'), 'a lone word', 'no scene known: the words alone');
});

test('offline cards show the prompt: a different prompt gives a different caption, the colour stays', async (t) => {
  if (!captionFont()) {
    t.skip('no font for drawtext on this machine (scripts/setup.sh installs fonts-dejavu-core)');
    return;
  }
  const clip = (name: string, prompt?: string) =>
    makeTestClip({ path: join(dir, `${name}.mp4`), seconds: 1, scene: 2, ...(prompt ? { prompt } : {}) });
  const [a, b, plain] = await Promise.all([
    clip('a', 'a red kite over the dunes (scene 2 of 3)'),
    clip('b', 'kites shaped like dragons, close up (scene 2 of 3)'),
    clip('plain'),
  ]);
  const caption = (f: string) => regionGrey(f, 0.5, CAPTION_REGION);
  const top = (f: string) => regionGrey(f, 0.5, PLAIN_REGION);
  assert.ok(meanAbsDiff(caption(a), caption(plain)) > 8, 'a caption is drawn');
  assert.ok(meanAbsDiff(caption(a), caption(b)) > 3, 'another prompt, another caption');
  assert.ok(meanAbsDiff(top(a), top(plain)) < 2, 'the colour (upper part) is the same');
});

test('without a font the cards stay plain colours (VIDFLOW_CARD_FONT=none)', async () => {
  const before = process.env.VIDFLOW_CARD_FONT;
  process.env.VIDFLOW_CARD_FONT = 'none';
  try {
    assert.equal(captionFont(), undefined);
    const withPrompt = await makeTestClip({ path: join(dir, 'np.mp4'), seconds: 1, scene: 3, prompt: 'a lighthouse' });
    const without = await makeTestClip({ path: join(dir, 'n.mp4'), seconds: 1, scene: 3 });
    assert.ok(meanAbsDiff(regionGrey(withPrompt, 0.5, CAPTION_REGION), regionGrey(without, 0.5, CAPTION_REGION)) < 1);
  } finally {
    if (before === undefined) delete process.env.VIDFLOW_CARD_FONT;
    else process.env.VIDFLOW_CARD_FONT = before;
  }
});

test('offline logs name no OpenAI model', () => {
  assert.equal(
    offlineLogLine('[12:00:00] vidflow-1 | plan: asking gpt-4o-mini for 3 scenes'),
    '[12:00:00] vidflow-1 | plan: asking the emulated planner (offline mode, no OpenAI) for 3 scenes',
  );
  assert.equal(offlineLogLine('scene 1/3: clip ready'), 'scene 1/3: clip ready');
});
