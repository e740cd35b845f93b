/**
 * What an offline card says: the scene it stands for and the first words of its prompt, so an
 * edit or a redo with a new prompt can be seen in the stitched video. The Replicate API carries
 * only the model's input, not the run's scene, so the scene number comes from the offline worker
 * (which sees each generation's scene: rememberScene) or, failing that, from a planner prompt's
 * own "(scene 2 of 3)"; without either the card shows the words alone.
 */

/** Prompt → "scene i/n", filled by offline mode's worker as it starts each generation. */
const scenesByPrompt = new Map<string, string>();
/** Enough for any offline session; oldest entries go first. */
const MAX_REMEMBERED = 500;

export function rememberScene(prompt: string, index: number, count: number): void {
  scenesByPrompt.delete(prompt);
  scenesByPrompt.set(prompt, `scene ${index}/${count}`);
  if (scenesByPrompt.size > MAX_REMEMBERED) scenesByPrompt.delete(scenesByPrompt.keys().next().value!);
}

function sceneLabel(prompt: string): string | undefined {
  const known = scenesByPrompt.get(prompt);
  if (known) return known;
  const m = /\(scene (\d+) of (\d+)\)/i.exec(prompt);
  return m ? `scene ${m[1]}/${m[2]}` : undefined;
}

/** At most `lines` lines of at most `width` characters from the prompt's first words, … when cut. */
function wrap(text: string, width: number, lines: number): string[] {
  const words = text
    .replace(/\(scene \d+ of \d+\)/i, '')
    .replace(/[\p{Cc}\p{Cf}]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
  const out: string[] = [];
  let line = '';
  let used = 0;
  for (const word of words) {
    const next = line ? `${line} ${word}` : word;
    if (next.length <= width) {
      line = next;
      used++;
      continue;
    }
    if (line) out.push(line);
    if (out.length === lines) break;
    line = word.slice(0, width);
    used++;
  }
  if (line && out.length < lines) out.push(line);
  if (used < words.length && out.length > 0) out[out.length - 1] = `${out[out.length - 1]!.slice(0, width - 1)}…`;
  return out;
}

/** The card's text: "scene 2/3" over up to three lines of the prompt's first words. */
export function cardCaption(prompt: string): string {
  const label = sceneLabel(prompt);
  const words = wrap(prompt, 34, 3);
  return [...(label ? [label] : []), ...words].join('\n');
}
