/**
 * `vidflow run` as a person uses it, in a real terminal (util-linux `script` gives it a pty):
 * offline mode, the start-up steps with their seconds, the plan; a wrong choice and a wrong scene
 * number are explained before anything else is asked; the current text is shown before an edit;
 * a rejection names the edit it discards and the new plan keeps the prompt; approval makes the
 * video. Ctrl-C at the prompt says how to pick the run up and exits, and the run then answers
 * `status` and `approve` with no worker. Log lines arriving at an open question print above it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, vidflow } from './helpers/processes';
import { useTemporalServer } from './helpers/temporal-server';
import { durationOf } from './helpers/video';

const temporal = useTemporalServer('run-interactive');
let dir: string;
let address: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-run-'));
  address = await temporal.address();
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TERM: 'dumb',
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `run-${process.pid}`,
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
    VIDFLOW_WORK_DIR: join(dir, 'work'),
    // The workflow bundle cache of the checkout (src/client/workflow-bundle-cache.ts).
    VIDFLOW_STATE_DIR: join(ROOT, '.vidflow'),
  };
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Terminal {
  child: ChildProcessWithoutNullStreams;
  seen: { text: string };
  /** Waits until the screen shows `pattern` after what was already matched; returns the text up to the match. */
  expect(pattern: RegExp, ms?: number): Promise<string>;
  type(text: string): void;
  exit(): Promise<number | null>;
}

/** `cmd` in a pseudo-terminal; the screen is read as the raw bytes written to it. */
function terminal(cmd: string, cwd = dir, environment = env): Terminal {
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd, env: environment, stdio: 'pipe' });
  const seen = { text: '' };
  let from = 0;
  child.stdout.on('data', (d: Buffer) => (seen.text += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  return {
    child,
    seen,
    expect(pattern, ms = 120_000) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${pattern}; screen:\n${seen.text.slice(-3000)}`)),
          ms,
        );
        const check = () => {
          const m = pattern.exec(seen.text.slice(from));
          if (!m) return;
          clearTimeout(timer);
          child.stdout.off('data', check);
          const end = from + m.index + m[0].length;
          from = end;
          resolve(seen.text.slice(0, end));
        };
        child.stdout.on('data', check);
        check();
      });
    },
    type: (text) => void child.stdin.write(text),
    exit: () => exited,
  };
}

const vidflowCmd = (args: string) => `node ${join(ROOT, 'bin', 'vidflow.js')} ${args}`;
/** The escape character, for patterns of what a terminal receives. */
const ESC = String.fromCharCode(27);
const MENU = /\[a\]pprove, \[e\]dit a scene, \[r\]eject with feedback, \[c\]ancel\? /;

test('vidflow run: steps, plan, a wrong choice and scene explained, edit, reject keeps the prompt, approve, video', async () => {
  const started = Date.now();
  const t = terminal(vidflowCmd('run "a kite festival on a windy beach" --scenes 2'));
  try {
    await t.expect(/OFFLINE MODE/);
    await t.expect(/\[ *\d+\.\d s\] starting the worker …/);
    await t.expect(/\[ *\d+\.\d s\] run started: vidflow-/);
    await t.expect(/plan: emulated \(offline mode: no OpenAI was asked\)/);
    await t.expect(MENU);
    process.stderr.write(`# vidflow run: plan shown ${((Date.now() - started) / 1000).toFixed(1)} s after launch\n`);

    t.type('x\n');
    await t.expect(
      /"x" is not a choice: type one of a \(approve\), e \(edit a scene\), r \(reject with feedback\), c \(cancel\)/,
    );
    await t.expect(MENU);
    t.type('e\n');
    await t.expect(/scene number \(1-2, empty to go back\): /);
    t.type('7\n');
    const wrong = await t.expect(/"7" is not a scene of this plan: type a number from 1 to 2/);
    assert.doesNotMatch(
      wrong.slice(wrong.lastIndexOf('scene number')),
      /new prompt/,
      'no text asked for a wrong scene',
    );
    await t.expect(/scene number \(1-2, empty to go back\): /);
    t.type('2\n');
    await t.expect(/scene 2 now: Closing wide shot of a kite festival on a windy beach/);
    await t.expect(/new prompt for scene 2 \(empty keeps it\): /);
    t.type('kites shaped like dragons, close up\n');
    await t.expect(/scene 2: kites shaped like dragons, close up/);
    await t.expect(MENU);

    t.type('r\n');
    await t.expect(/rejecting discards this: your edit to scene 2 does not carry over/);
    await t.expect(/what should the new plan do differently \(empty to go back\)\? /);
    t.type('more colour\n');
    await t.expect(/making plan 2 from the prompt and your feedback/);
    await t.expect(
      /scene 1\/2 +pending +Opening wide establishing shot of a kite festival on a windy beach, reworked as asked: more colour/,
    );
    await t.expect(MENU);
    t.type('a\n');
    const screen = await t.expect(/video: .*\.mp4/);
    const path = /video: (\S+\.mp4)/.exec(screen.slice(screen.lastIndexOf('video: ')))?.[1];
    assert.ok(path && existsSync(path), `the video exists: ${path}`);
    assert.ok(Math.abs(durationOf(path) - 9.5) <= 0.1, 'two 5 s scenes with one 0.5 s fade');
    assert.equal(await t.exit(), 0);
    assert.doesNotMatch(t.seen.text, /plan: openai|asking gpt-/, 'offline plans are labelled as emulated');
  } finally {
    t.child.kill('SIGKILL');
  }
});

test('Ctrl-C at the prompt: says how to pick the run up, exits 130; status and approve then work with no worker', async () => {
  const t = terminal(vidflowCmd('run "a paper boat on a puddle" --scenes 1'));
  let id: string;
  try {
    id = /run started: (\S+)/.exec(await t.expect(/run started: \S+/))?.[1] ?? '';
    await t.expect(MENU);
    t.type('\x03');
    await t.expect(
      new RegExp(`interrupted: run ${id} keeps waiting in Temporal \\(stage awaiting_approval\\); nothing is lost`),
      20_000,
    );
    await t.expect(/start a worker with `vidflow worker --offline` \(this run was offline\)/);
    await t.expect(new RegExp(`\`vidflow approve ${id}\` approves the plan`));
    assert.equal(await t.exit(), 130);
  } finally {
    t.child.kill('SIGKILL');
  }
  const cliEnv = { ...env, TERM: undefined };
  const started = Date.now();
  const status = await vidflow(['status', id], cliEnv, 30_000);
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(`# status with no worker after Ctrl-C: ${seconds.toFixed(1)} s (process start included)\n`);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`^${id}: awaiting_approval`));
  assert.match(status.stdout, /scene 1\/1 +pending +Opening wide establishing shot of a paper boat on a puddle/);
  assert.match(status.stderr, /no worker (is running|answered within 3 s)/);
  assert.ok(seconds < 15, `answered in ${seconds} s`);
  const approve = await vidflow(['approve', id], cliEnv, 30_000);
  assert.equal(approve.code, 0, approve.stderr);
  assert.match(approve.stdout, new RegExp(`^approved: ${id} \\(the plan`));
  assert.match(approve.stderr, /takes effect then/);
});

for (const term of ['xterm', 'dumb']) {
  test(`TERM=${term}: a log line that arrives at an open question prints above it, then the question and the typed text again`, async () => {
    const driver = [
      "const { PromptConsole } = require('./src/client/prompt-console.ts');",
      'const io = new PromptConsole(() => process.exit(130), new AbortController().signal);',
      "setTimeout(() => io.line('[12:00:00] run-1 | scene 1/3: clip ready'), 1500);",
      "io.ask('your choice? ').then((a) => { io.line('answer: ' + a); process.exit(0); });",
    ].join(' ');
    const t = terminal(`node --import tsx -e "${driver}"`, ROOT, { ...env, TERM: term });
    try {
      await t.expect(/your choice\? /);
      t.type('ap');
      // On a line of its own: the question's line is cleared first (or, without escapes, left).
      await t.expect(
        term === 'dumb'
          ? /ap\r?\n\[12:00:00\] run-1 \| scene 1\/3: clip ready\r?\n/
          : new RegExp(`\r${ESC}\\[2K\\[12:00:00\\] run-1 \\| scene 1/3: clip ready\r?\n`),
      );
      // Drawn again below it: the question, then what was typed so far.
      await t.expect(new RegExp(`your choice\\? (${ESC}\\[\\d+G)?ap`));
      t.type('prove\n');
      await t.expect(/answer: approve/);
      assert.equal(await t.exit(), 0);
    } finally {
      t.child.kill('SIGKILL');
    }
  });
}
