/**
 * File names derived from workflow ids cannot leave their folder. The ids are chosen by whoever
 * starts a run (`--id`, the Temporal CLI, the Web UI), so: traversal, absolute paths, NUL bytes,
 * very long names, look-alike unicode, bidi overrides and names starting with `-` go through
 * outputVideoPath, runWorkDir and sceneClipPath; the CLI refuses ids a person could be misled by
 * (control and invisible characters, over 200 chars) with exit 2, and a traversal id that is
 * printable runs end to end with its video inside the output folder.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { inside, outputVideoPath, runWorkDir, safeStem, sceneClipPath } from '../src/support/paths';
import { startCase } from './helpers/crash';
import type { CrashCase } from './helpers/crash';
import { ROOT, vidflow } from './helpers/processes';
import { useTemporalServer } from './helpers/temporal-server';

const OUT = '/srv/vidflow/out';
const WORK = '/srv/vidflow/work';

const HOSTILE_IDS = [
  '../../etc/x',
  '../../../../../../etc/passwd',
  '/etc/passwd',
  'a/../../b',
  '..\\..\\windows\\system32',
  '..',
  '.',
  '',
  ' ',
  '.hidden',
  'a\0b',
  'x\0../../etc/passwd',
  'x'.repeat(5000),
  '../'.repeat(300),
  // Fullwidth dots and solidus: NFKC turns them into `../`, which must then be cleaned too.
  '．．／．．／etc／x',
  // Right-to-left override: would display `vidflow-exe.mp4` as something else.
  'vidflow-\u202Egpm.exe',
  'e\u0301\u200B\uFEFF',
  '-rf',
  '--help',
  '-i http:evil',
  'a\'b"c $(touch pwned) `id` ; rm -rf /',
  'line\nbreak\r\n',
  'CON',
];

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

test('outputVideoPath: every hostile id becomes one safe file directly inside the output folder', () => {
  const names = new Set<string>();
  for (const id of HOSTILE_IDS) {
    const p = outputVideoPath(OUT, id);
    const what = JSON.stringify(id.slice(0, 40));
    assert.equal(dirname(p), OUT, `${what} stays in ${OUT}: ${p}`);
    const name = basename(p);
    assert.match(name, SAFE_NAME, `${what} gives a plain name: ${name}`);
    assert.ok(name.endsWith('.mp4'));
    assert.ok(!name.startsWith('-') && !name.startsWith('.'), `${what}: no option-like or hidden name`);
    assert.ok(name.length <= 100, `${what}: bounded length (${name.length})`);
    assert.ok(!name.includes('..'), `${what}: no ".." at all`);
    names.add(name);
  }
  assert.equal(names.size, HOSTILE_IDS.length, 'different ids never share a file');
});

test('runWorkDir and sceneClipPath: inside the work folder, one level per run', () => {
  for (const id of HOSTILE_IDS) {
    const dir = runWorkDir(WORK, id);
    assert.equal(dirname(dir), WORK, `${JSON.stringify(id.slice(0, 40))}: ${dir}`);
    assert.match(basename(dir), SAFE_NAME);
    const clip = sceneClipPath(WORK, id, 3, 'p1x2y3');
    assert.equal(clip, join(dir, 'scene-3-p1x2y3.mp4'));
    // The clip's key comes from a provider's answer: it is held to the same rules as an id.
    const hostileKey = sceneClipPath(WORK, id, 3, id || 'x');
    assert.equal(dirname(hostileKey), dir, `key ${JSON.stringify(id.slice(0, 40))}: ${hostileKey}`);
    assert.match(basename(hostileKey), /^scene-3-[A-Za-z0-9._-]+\.mp4$/);
  }
  // An ordinary id is kept as it is, so a person finds the files by the id they know.
  assert.equal(safeStem('vidflow-20250101-120000-ab12'), 'vidflow-20250101-120000-ab12');
  assert.equal(outputVideoPath(OUT, 'my-run.v2'), `${OUT}/my-run.v2.mp4`);
});

test('sceneClipPath refuses a scene index that is not a whole number', () => {
  for (const bad of [Number.NaN, -1, 1.5, Infinity, '../x' as unknown as number]) {
    assert.throws(() => sceneClipPath(WORK, 'run', bad, 'p1'), /not a whole number/, String(bad));
  }
  assert.throws(() => sceneClipPath(WORK, 'run', 1, ''), /without a key/);
});

test('inside: the last line of defence refuses escapes and NUL bytes', () => {
  assert.throws(() => inside(WORK, '..', 'etc'), /outside/);
  assert.throws(() => inside(WORK, 'a', '..', '..', 'b'), /outside/);
  assert.throws(() => inside(WORK, `${'../'.repeat(10)}etc/passwd`), /outside/);
  // A sibling that shares the prefix (`/srv/vidflow/work-evil`) is outside too.
  assert.throws(() => inside(WORK, '../work-evil/x'), /outside/);
  assert.throws(() => inside(WORK, 'a\0b'), /NUL/);
  // join semantics: an absolute part is appended, not obeyed.
  assert.equal(inside(WORK, '/etc/passwd'), `${WORK}/etc/passwd`);
  assert.equal(inside(WORK), WORK);
});

// ---- through the CLI --------------------------------------------------------------------------

/** Nothing listens on port 1: a command that gets as far as connecting fails with exit 1, not 2. */
const OFFLINE_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  TEMPORAL_ADDRESS: '127.0.0.1:1',
};

for (const [what, id, reason] of [
  ['a newline', 'evil\nINFO approved by admin', /--id must be printable/],
  ['an escape sequence', '\x1b[2Jcleared', /--id must be printable/],
  ['a bidi override', 'run-\u202Egpm.exe', /--id must be printable/],
  ['a zero-width space', 'run\u200B1', /--id must be printable/],
  ['201 characters', 'x'.repeat(201), /--id is longer than 200 characters/],
  ['an empty id', '', /--id must not be empty/],
  ['surrounding spaces', ' run ', /--id must not start or end with whitespace/],
] as const) {
  test(`vidflow start --id with ${what}: exit 2 with the reason, before connecting`, async () => {
    const r = await vidflow(['start', 'a sunset', `--id=${id}`, '--json'], OFFLINE_ENV, 30_000);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /invalid --id/);
    assert.match(r.stderr, reason);
    assert.doesNotMatch(r.stderr, /cannot reach Temporal/);
  });
}

const temporal = useTemporalServer('sec-paths');
let c: CrashCase | undefined;

before(async () => {
  c = await startCase({
    address: await temporal.address(),
    name: 'sec-paths',
    emulator: { replicate: { startingMs: 50, processingMs: 200, clipWidth: 160, clipHeight: 90 } },
  });
  await c.startWorker();
});

after(async () => {
  await c?.close();
});

test('printable traversal and shell-looking ids run end to end; the video lands inside the output folder', async () => {
  const k = c!;
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const ids = [`../../etc/x-${tag}`, `-$(touch pwned)'; "${tag}`];
  const results = await Promise.all(
    ids.map(async (id) => {
      const s = await vidflow(
        ['start', 'a red ball', `--id=${id}`, '--scenes', '1', '--auto-approve', '--json'],
        k.env,
      );
      assert.equal(s.code, 0, s.stderr);
      assert.equal((JSON.parse(s.stdout) as { workflowId: string }).workflowId, id, 'the id itself is kept');
      // `--`: an id starting with `-` would otherwise be read as an option.
      const r = await vidflow(['result', '--json', '--', id], k.env, 90_000);
      assert.equal(r.code, 0, `${r.stderr}\n${k.logs()}`);
      return JSON.parse(r.stdout) as { path: string; sizeBytes: number };
    }),
  );
  const out = resolve(k.env.VIDFLOW_OUTPUT_DIR!);
  for (const r of results) {
    assert.equal(dirname(r.path), out, `inside the output folder: ${r.path}`);
    assert.equal((await stat(r.path)).size, r.sizeBytes);
  }
  assert.equal(existsSync(resolve(out, `../../etc/x-${tag}.mp4`)), false, 'nothing where the traversal pointed');
  const listed = await readdir(out);
  assert.equal(listed.length, 2, `only the two videos: ${listed.join(', ')}`);
  assert.ok(!listed.some((f) => f.startsWith('-') || f.startsWith('.')));
  for (const where of [ROOT, out, k.dir]) assert.equal(existsSync(join(where, 'pwned')), false, `no pwned in ${where}`);
});
