/**
 * The CLI's answers to help, typos and missing flags, in the words a person typed: every
 * command's `--help` is its own usage (exit 0); an unknown option is named, with the nearest one
 * the command knows and its usage (exit 2); start's invalid values name the flag, not the
 * workflow's field. In-process (the same main() bin/vidflow.js calls) to stay fast; one real
 * process checks what a terminal receives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main, reportError } from '../src/client/cli';
import { vidflow } from './helpers/processes';

const COMMANDS = [
  'run',
  'worker',
  'start',
  'status',
  'watch',
  'list',
  'approve',
  'edit',
  'reject',
  'redo',
  'cancel',
  'result',
  'stitch',
  'server',
];

/** Runs `vidflow <argv>` in this process; what it printed and its exit code, as bin/vidflow.js gives it. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = (s: string | Uint8Array) => ((stdout += String(s)), true);
  process.stderr.write = (s: string | Uint8Array) => ((stderr += String(s)), true);
  try {
    let code: number;
    try {
      code = await main(argv);
    } catch (e) {
      code = reportError(e);
    }
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

test('every command answers --help (and -h) with its own usage, exit 0', async () => {
  for (const name of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      const r = await cli([name, flag]);
      assert.equal(r.code, 0, `${name} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: vidflow ${name}\\b`), `${name} ${flag} prints its usage`);
      assert.equal(r.stderr, '', `${name} ${flag}: nothing on standard error`);
    }
  }
  // After `--`, --help is a prompt's word, not a request for help.
  const r = await cli(['start', '--seconds', '7', '--', '--help']);
  assert.equal(r.code, 2);
  assert.doesNotMatch(r.stdout, /usage/);
});

test('an unknown option is named, with the nearest known one and the command usage (exit 2)', async () => {
  const r = await cli(['start', 'x', '--scene', '2']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^vidflow: unknown option --scene \(did you mean --scenes\?\)\n\nusage: vidflow start /);
  assert.doesNotMatch(r.stderr, /positional argument|To specify/, "not node's advice about '--'");
  assert.ok(r.stderr.endsWith('\n'), 'ends with a newline');

  const s = await cli(['status', 'some-id', '--jsn']);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /unknown option --jsn \(did you mean --json\?\)\n\nusage: vidflow status/);

  const w = await cli(['worker', '--ofline']);
  assert.equal(w.code, 2);
  assert.match(w.stderr, /unknown option --ofline \(did you mean --offline\?\)\n\nusage: vidflow worker/);

  const srv = await cli(['server', 'stopp']);
  assert.equal(srv.code, 2);
  assert.match(srv.stderr, /unexpected argument "stopp"\n\nusage: vidflow server \[stop\]/);

  const v = await cli(['edit', 'some-id', '--scene']);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /--scene needs a value\n\nusage: vidflow edit/);
});

test("invalid values and missing flags are told in the command line's words", async () => {
  const seconds = await cli(['start', 'a sunset', '--seconds', '7']);
  assert.equal(seconds.code, 2);
  assert.match(seconds.stderr, /--seconds: kling-v2\.5-turbo-pro takes 5 or 10 seconds per scene, got "7"/);
  assert.doesNotMatch(seconds.stderr, /sceneSeconds|Invalid input/);

  const many = await cli(['start', 'a sunset', '--scenes', '9', '--aspect', '4:3', '--approval-timeout', 'soon']);
  assert.equal(many.code, 2);
  assert.match(many.stderr, /--scenes must be a whole number from 1 to 6, got "9"/);
  assert.match(many.stderr, /--aspect must be one of 16:9, 9:16, 1:1, got "4:3"/);
  assert.match(many.stderr, /--approval-timeout must be a duration/);
  assert.doesNotMatch(many.stderr, /aspectRatio|approvalTimeout/);

  const blank = await cli(['start', '   ']);
  assert.equal(blank.code, 2);
  assert.match(blank.stderr, /the prompt must not be blank/);

  const reject = await cli(['reject', 'some-id']);
  assert.equal(reject.code, 2);
  assert.match(reject.stderr, /--feedback "\.\.\." is required/);
  assert.doesNotMatch(reject.stderr, /feedback must be a string/);

  const edit = await cli(['edit', 'some-id', '--scene', '2']);
  assert.equal(edit.code, 2);
  assert.match(edit.stderr, /--prompt "\.\.\." is required/);

  const redo = await cli(['redo', 'some-id']);
  assert.equal(redo.code, 2);
  assert.match(redo.stderr, /--scene N is required/);
});

test('storyboard flags: bad --keyframe, --reference and a --max-cost below clips + keyframes are refused before anything connects (exit 2)', async () => {
  const zero = await cli(['redo', 'some-id', '--keyframe', '0']);
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /keyframes are numbered from 1/);
  const word = await cli(['redo', 'some-id', '--keyframe', 'two']);
  assert.equal(word.code, 2);
  assert.match(word.stderr, /--keyframe must be a keyframe number/);
  const both = await cli(['redo', 'some-id', '--keyframe', '2', '--scene', '1']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give --scene N or --keyframe K, not both/);
  const blank = await cli(['redo', 'some-id', '--keyframe', '2', '--prompt', '  ']);
  assert.equal(blank.code, 2);
  assert.match(blank.stderr, /prompt must not be blank/);

  const missing = await cli(['start', 'a dog', '--storyboard', '--reference', 'no-such-dir/face.png']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--reference: no such image file "no-such-dir\/face.png"/);
  const scheme = await cli(['start', 'a dog', '--storyboard', '--reference', 'ftp://host/face.png']);
  assert.equal(scheme.code, 2);
  assert.match(scheme.stderr, /--reference must be an http\(s\) URL or a local image file/);
  const notImage = await cli(['start', 'a dog', '--storyboard', '--reference', 'package.json']);
  assert.equal(notImage.code, 2);
  assert.match(notImage.stderr, /must be a PNG, JPEG or WebP image/);
  const noStoryboard = await cli(['start', 'a dog', '--reference', 'https://example.com/face.png']);
  assert.equal(noStoryboard.code, 2);
  assert.match(noStoryboard.stderr, /reference steers storyboard keyframes: use it with storyboard/);
  // 3 × 5 s × $0.07 = $1.05 of clips, plus 4 keyframes × $0.003: above a $1.05 limit.
  const cost = await cli(['start', 'a dog', '--storyboard', '--max-cost', '1.05']);
  assert.equal(cost.code, 2);
  assert.match(cost.stderr, /estimated cost \$1\.06 \(3 × 5 s \+ 4 keyframes\) is above --max-cost \$1\.05/);
});

test('a real process: `vidflow start --help` prints the usage with a final newline, exit 0', async () => {
  const r = await vidflow(['start', '--help'], { PATH: process.env.PATH, HOME: process.env.HOME }, 60_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^usage: vidflow start "<prompt>"[\s\S]*--worker-timeout 1m\n$/);
  const bad = await vidflow(['status', 'x', '--wat'], { PATH: process.env.PATH, HOME: process.env.HOME }, 60_000);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^vidflow: unknown option --wat\n\nusage: vidflow status/);
});
