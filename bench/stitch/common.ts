/** Where the stitch bench works, how it times a process, and how it runs one. */
import { readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(__dirname, '..', '..');
export const dir = join(tmpdir(), 'vidflow-bench-stitch');
/** One line per ffmpeg run (through the wrapper): max RSS in KB, user and system CPU seconds. */
export const rssFile = join(dir, 'rss.txt');
/** The same for a whole process tree (moviepy, the vidflow CLI), when one is measured. */
export const treeFile = join(dir, 'tree.txt');
export const TIME_FORMAT = '%M %U %S';

export function exec(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, env: env ?? process.env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolveRun(stderr) : reject(new Error(`${cmd} exited ${code}: ${stderr.slice(-2000)}`)),
    );
  });
}
/** ffmpeg through the RSS-recording wrapper when there is one. */
export const ffmpeg = (args: string[]) =>
  exec(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-hide_banner', '-nostdin', ...args]);

export interface Run {
  seconds: number;
  /** ffmpeg's max RSS (moviepy: its tree's largest process). */
  peakMb: number;
  /** CPU seconds (user + system): of the whole process tree where one was measured, else of ffmpeg. */
  cpu: number;
}

function parseTimes(text: string): { kb: number; cpu: number }[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isFinite))
    .map(([kb, user, sys]) => ({ kb: kb!, cpu: user! + sys! }));
}

export async function timed(fn: () => Promise<unknown>): Promise<Run> {
  await writeFile(rssFile, '');
  await writeFile(treeFile, '');
  const t = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const runs = parseTimes(await readFile(rssFile, 'utf8'));
  const tree = parseTimes(await readFile(treeFile, 'utf8'));
  const cpu = (tree.length ? tree : runs).reduce((a, r) => a + r.cpu, 0);
  return { seconds, peakMb: Math.max(0, ...runs.map((r) => r.kb)) / 1024, cpu };
}
