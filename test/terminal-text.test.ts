/**
 * Text from a run reaches terminals escaped, everywhere: a prompt with an escape sequence (which
 * would recolour or clear the reader's screen) or a bidi override (which shows `gpm.exe` as
 * `exe.mpg`) is printed as `\x1b` and `\u202e` by status, watch, list, run's plan lines and the
 * worker's log lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogEntry } from '@temporalio/worker';
import { renderList } from '../src/client/commands/list';
import { renderWatch } from '../src/client/commands/watch';
import { formatStatus } from '../src/client/status-format';
import type { PipelineStatus } from '../src/shared/schemas';
import { firstWords, printable } from '../src/support/printable';
import { formatEntry } from '../src/worker/logging';

const EVIL = 'a sunset \x1b[2J\x1b[31mred\x1b[0m over \u202egpm.exe\u202c the\u0007 sea\nsecond line';

/** Nothing a terminal would act on: C0/C1 controls (but the layout's own newlines), bidi, zero-width. */
function assertInert(text: string, where: string): void {
  const lines = text.split('\n');
  for (const line of lines) {
    assert.doesNotMatch(line, /[\p{Cc}\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u, `${where}: ${JSON.stringify(line)}`);
  }
}

test('printable() escapes controls, bidi and format characters and keeps everything else', () => {
  assert.equal(printable('\x1b[31mred'), '\\x1b[31mred');
  assert.equal(printable('a\u202eb'), 'a\\u202eb');
  assert.equal(printable('one\ntwo\tthree'), 'one\\ntwo\\tthree');
  assert.equal(printable('zero\u200bwidth'), 'zero\\u200bwidth');
  assert.equal(printable('ünïcødé, emoji 🎬, 日本語'), 'ünïcødé, emoji 🎬, 日本語');
  assert.equal(
    firstWords('one two three four five six seven eight nine ten', 8),
    'one two three four five six seven eight…',
  );
  assertInert(firstWords(EVIL), 'firstWords');
});

const status: PipelineStatus = {
  stage: 'awaiting_approval',
  planner: 'emulated',
  plannerNote: EVIL,
  planRound: 1,
  estimatedCostUsd: 1.05,
  maxCostUsd: 2,
  scenes: [1, 2].map((index) => ({ index, prompt: `${EVIL} ${index}`, status: 'pending', attempts: 0, error: EVIL })),
  output: { path: '/tmp/\x1b[2Jvideo.mp4', durationSeconds: 9.5, sizeBytes: 1e6 },
  error: EVIL,
};

test('status (and run, which shows the plan with it) escapes every text, and shows the estimated cost', () => {
  const text = formatStatus('vidflow-x', status);
  assertInert(text, 'status');
  assert.match(text, /\\x1b\[2J\\x1b\[31mred/);
  assert.match(text, /\\u202egpm\.exe/);
  assert.match(text, /estimated cost: \$1\.05 \(max \$2\.00\)/);
  assert.match(text, /plan: emulated \(offline mode: no OpenAI was asked\)/);
});

test('watch and list escape prompts too', () => {
  assertInert(renderWatch('vidflow-x', status, new Map(), EVIL), 'watch');
  const list = renderList([
    {
      workflowId: 'vidflow-x',
      stage: 'planning',
      status: 'RUNNING',
      startTime: new Date(0).toISOString(),
      summary: EVIL,
    },
  ]);
  assertInert(list, 'list');
  assert.match(list, /^ID\s+STAGE\s+STARTED \(UTC\)\s+PROMPT\n/, 'a header');
  assert.match(list, /a sunset \\x1b\[2J/);
});

test('worker log lines escape what a prompt brings (text format); JSON stays JSON', () => {
  const entry: LogEntry = {
    level: 'INFO',
    message: `plan: scene 1/3: ${EVIL}`,
    timestampNanos: BigInt(Date.now()) * 1_000_000n,
    meta: { workflowId: 'vidflow-\x1b[31mx' },
  };
  const text = formatEntry(entry, 'text');
  assertInert(text.replace(/\n/g, ' '), 'log line');
  assert.match(text, /\\u202egpm\.exe/);
  const json = JSON.parse(formatEntry(entry, 'json')) as { msg: string };
  assert.equal(json.msg, entry.message, 'JSON keeps the text exactly (escaped by JSON itself)');
});
