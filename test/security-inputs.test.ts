/**
 * Every CLI argument is validated with zod before anything starts: an oversize prompt or feedback
 * is refused with the reason (never truncated and sent), and so is every out-of-range flag. Each
 * command must exit 2, print nothing on stdout (no run id: nothing started) and name the reason
 * on stderr. `start` runs against an address where nothing listens, so exit 2 (not "cannot reach
 * Temporal", exit 1) also shows the refusal came before any connection. The steering commands
 * run against a real server with a run id that does not exist: their refusal must come from the
 * client-side schema, before any update is sent. (The workflow's own update validators are
 * tested in test/workflow-review.test.ts; `approve` is a signal without a payload.)
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_FEEDBACK_CHARS, MAX_PROMPT_CHARS } from '../src/shared/schemas';
import { vidflow } from './helpers/processes';
import type { CliResult } from './helpers/processes';
import { useTemporalServer } from './helpers/temporal-server';

const OFFLINE_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  TEMPORAL_ADDRESS: '127.0.0.1:1',
};

interface Case {
  name: string;
  args: string[];
  reason: RegExp;
  /** Steering commands need a reachable server (they connect before validating). */
  online?: boolean;
}

const longPrompt = 'a'.repeat(MAX_PROMPT_CHARS + 1);
const CASES: Case[] = [
  { name: `a ${MAX_PROMPT_CHARS + 1}-char prompt`, args: ['start', longPrompt], reason: /prompt is longer than 4000/ },
  { name: 'a blank prompt', args: ['start', '   '], reason: /prompt must not be blank/ },
  {
    name: '--scenes 0',
    args: ['start', 'x', '--scenes', '0'],
    reason: /--scenes must be a whole number from 1 to 6, got "0"/,
  },
  {
    name: '--scenes 2.5',
    args: ['start', 'x', '--scenes', '2.5'],
    reason: /--scenes must be a whole number from 1 to 6, got "2\.5"/,
  },
  { name: '--scenes NaN', args: ['start', 'x', '--scenes', 'many'], reason: /--scenes must be a number/ },
  {
    name: '--seconds 7',
    args: ['start', 'x', '--seconds', '7'],
    reason: /--seconds: kling-v2.5-turbo-pro takes 5 or 10 seconds per scene, got "7"/,
  },
  {
    name: '--aspect 4:3',
    args: ['start', 'x', '--aspect', '4:3'],
    reason: /--aspect must be one of 16:9, 9:16, 1:1, got "4:3"/,
  },
  { name: '--model evil', args: ['start', 'x', '--model', 'evil'], reason: /unknown model "evil"/ },
  {
    name: '--approval-timeout 0s',
    args: ['start', 'x', '--approval-timeout', '0s'],
    reason: /--approval-timeout must be a duration of at least 1s.*got "0s"/,
  },
  {
    name: '--approval-timeout forever',
    args: ['start', 'x', '--approval-timeout', 'forever'],
    reason: /--approval-timeout must be a duration.*got "forever"/,
  },
  {
    name: '--max-cost=-1',
    args: ['start', 'x', '--max-cost=-1'],
    reason: /--max-cost must be a positive amount in US dollars, got "-1"/,
  },
  // parseArgs reads `-1` as an option, not a value: still refused, with the parser's reason.
  { name: '--max-cost -1', args: ['start', 'x', '--max-cost', '-1'], reason: /max-cost/ },
  {
    name: '--transition 9',
    args: ['start', 'x', '--transition', '9'],
    reason: /--transition must be a number of seconds from 0 to 2/,
  },
  { name: 'an unknown flag', args: ['start', 'x', '--evil', 'y'], reason: /unknown option --evil/ },
  {
    name: `${MAX_FEEDBACK_CHARS + 1}-char feedback`,
    args: ['reject', 'no-such-run', '--feedback', 'f'.repeat(MAX_FEEDBACK_CHARS + 1)],
    reason: /reject refused: feedback: feedback is longer than 2000 characters/,
    online: true,
  },
  {
    name: 'blank feedback',
    args: ['reject', 'no-such-run', '--feedback', ' '],
    reason: /reject refused: feedback: feedback must not be blank/,
    online: true,
  },
  {
    name: 'a 2501-char scene prompt',
    args: ['edit', 'no-such-run', '--scene', '1', '--prompt', 'p'.repeat(2501)],
    reason: /edit refused: prompt: prompt is longer than 2500 characters/,
    online: true,
  },
  {
    name: '--scene 0',
    args: ['edit', 'no-such-run', '--scene', '0', '--prompt', 'p'],
    reason: /edit refused: index: scenes are numbered from 1/,
    online: true,
  },
  {
    name: '--scene x',
    args: ['redo', 'no-such-run', '--scene', 'x'],
    reason: /--scene must be a scene number/,
    online: true,
  },
];

const temporal = useTemporalServer('sec-inputs');
const results = new Map<string, CliResult>();

before(async () => {
  const address = CASES.some((c) => c.online) ? await temporal.address() : undefined;
  const onlineEnv: NodeJS.ProcessEnv = { ...OFFLINE_ENV, TEMPORAL_ADDRESS: address };
  // Four at a time: each is a node process start, slow on a small machine, and they are independent.
  const queue = [...CASES];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        results.set(c.name, await vidflow(c.args, c.online ? onlineEnv : OFFLINE_ENV, 60_000));
      }
    }),
  );
});

for (const c of CASES) {
  test(`vidflow ${c.args[0]} with ${c.name}: exit 2, the reason, nothing started`, () => {
    const r = results.get(c.name);
    assert.ok(r, 'the command ran');
    assert.equal(r.code, 2, `exit code; stderr: ${r.stderr.slice(0, 500)}`);
    assert.equal(r.stdout, '', 'nothing on stdout: no run was started or changed');
    assert.match(r.stderr, c.reason);
    assert.doesNotMatch(r.stderr, /cannot reach Temporal/);
    // Refused, not truncated: the long text is not echoed back either (the reason is enough).
    assert.ok(r.stderr.length < 2000, `a short reason (${r.stderr.length} chars)`);
  });
}
