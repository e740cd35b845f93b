/**
 * Text from a run (a prompt, a scene, feedback, an error) on its way to a terminal. Prompts are
 * anyone's text: an escape sequence in one could recolour, move the cursor or clear the screen of
 * whoever reads `vidflow status`, and a bidi override could show `gpm.exe` as `exe.mpg`. Such
 * characters are shown, not obeyed: as `\x1b`, `\u202e`, `\n`, so the reader sees they are there.
 */

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Control characters (C0, DEL, C1), invisible format characters (bidi overrides and isolates,
 * zero-width joiners), private-use and unassigned code points, line and paragraph separators.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

function escapeChar(ch: string): string {
  const known = ESCAPES[ch];
  if (known) return known;
  const code = ch.codePointAt(0) ?? 0;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}

/** One line of text, safe to print: whatever a terminal would act on is escaped. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escapeChar);
}

/** Like printable(), but keeps line breaks (a log line's own multi-line message). */
export function printableLines(text: string): string {
  return text
    .split('\n')
    .map((line) => printable(line))
    .join('\n');
}

/** The first `words` words of a text, printable, with … when cut: for one-line listings. */
export function firstWords(text: string, words = 8, maxChars = 60): string {
  const all = text.trim().split(/\s+/).filter(Boolean);
  let out = all.slice(0, words).join(' ');
  let cut = all.length > words;
  if (out.length > maxChars) {
    out = out.slice(0, maxChars).trimEnd();
    cut = true;
  }
  return printable(cut ? `${out}…` : out);
}
