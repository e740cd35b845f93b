/**
 * `vidflow run` as a person uses it, in a real terminal (util-linux `script` gives it a pty):
 * offline mode, the plan is shown, the person edits a scene, then approves, and the video is made.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/processes';
import { useTemporalServer } from './helpers/temporal-server';
import { durationOf } from './helpers/video';

const temporal = useTemporalServer('run-interactive');
let dir: string;
let address: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vidflow-run-'));
  address = await temporal.address();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Waits until the terminal shows `pattern`, returning everything shown so far. */
function expectOutput(child: ChildProcessWithoutNullStreams, seen: { text: string }, pattern: RegExp, ms = 120_000) {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; screen:\n${seen.text.slice(-3000)}`)),
      ms,
    );
    const check = () => {
      if (pattern.test(seen.text)) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve(seen.text);
      }
    };
    child.stdout.on('data', check);
    check();
  });
}

test('vidflow run: offline mode, edit a scene at the plan, approve, get the video', async () => {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TERM: 'dumb',
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `run-${process.pid}`,
    VIDFLOW_OUTPUT_DIR: join(dir, 'out'),
    VIDFLOW_WORK_DIR: join(dir, 'work'),
  };
  const cmd = `node ${join(ROOT, 'bin', 'vidflow.js')} run "a kite festival on a windy beach" --scenes 2`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: dir, env, stdio: 'pipe' });
  const seen = { text: '' };
  child.stdout.on('data', (d: Buffer) => (seen.text += d.toString()));
  try {
    await expectOutput(child, seen, /OFFLINE MODE/);
    await expectOutput(child, seen, /\[a\]pprove, \[e\]dit a scene, \[r\]eject with feedback, \[c\]ancel\?/);
    child.stdin.write('e\n');
    await expectOutput(child, seen, /scene number:/);
    child.stdin.write('2\n');
    await expectOutput(child, seen, /new prompt:/);
    child.stdin.write('kites shaped like dragons, close up\n');
    await expectOutput(child, seen, /scene 2: kites shaped like dragons, close up/);
    await expectOutput(child, seen, /\[a\]pprove.*\?[^?]*$/s);
    child.stdin.write('a\n');
    const screen = await expectOutput(child, seen, /video: .*\.mp4/);
    const path = /video: (\S+\.mp4)/.exec(screen)?.[1];
    assert.ok(path && existsSync(path), `the video exists: ${path}`);
    assert.ok(Math.abs(durationOf(path) - 9.5) <= 0.1, 'two 5 s scenes with one 0.5 s fade');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0);
  } finally {
    child.kill('SIGKILL');
  }
});
