/**
 * The plain split used when the LLM cannot plan: deterministic and dependency-free, so the
 * workflow itself can call it when the plan activity has failed for good.
 */
const BEATS = ['opening shot', 'middle shot', 'closing shot'];

function beat(i: number, n: number): string {
  if (n === 1) return 'single shot';
  if (i === 0) return BEATS[0]!;
  if (i === n - 1) return BEATS[2]!;
  return n === 3 ? BEATS[1]! : `shot ${i + 1}`;
}

/** Splits on sentence ends; when there are fewer sentences than scenes, repeats the prompt with a beat. */
export function fallbackScenes(prompt: string, n: number): string[] {
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
      out.push(sentences.slice(from, to).join(' '));
    }
    return out;
  }
  return Array.from({ length: n }, (_, i) => `${text} (${beat(i, n)}, scene ${i + 1} of ${n})`);
}
