/** The seed's stitch, for comparison: moviepy from PyPI, run with the seed's exact recipe. */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec, root, rssFile, TIME_FORMAT, treeFile } from './common';

export const MOVIEPY_SPEC = 'moviepy==2.2.1';

/** The seed's recipe, moviepy 2.x names; everything else at moviepy's defaults. */
const MOVIEPY_SCRIPT = `
import sys
from moviepy import VideoFileClip, concatenate_videoclips, vfx
out, *paths = sys.argv[1:]
clips = [VideoFileClip(p) for p in paths]
clips = [clips[0]] + [c.with_effects([vfx.CrossFadeIn(0.5)]) for c in clips[1:]]
final = concatenate_videoclips(clips, padding=-0.5, method="compose")
final.write_videofile(out, fps=30, codec="libx264")
`;

/** Installs the pinned moviepy into .vidflow/moviepy once; returns its folder, or why it can't. */
export async function ensureMoviepy(): Promise<{ path: string } | { skipped: string }> {
  const target = join(root, '.vidflow', 'moviepy');
  const stamp = join(target, '.installed');
  if ((await readFile(stamp, 'utf8').catch(() => '')).trim() === MOVIEPY_SPEC) return { path: target };
  const python = ['python3', 'python'].find((p) =>
    (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, p))),
  );
  if (!python) return { skipped: 'no python3 on PATH' };
  console.log(`installing ${MOVIEPY_SPEC} from PyPI into .vidflow/moviepy (once)`);
  try {
    await rm(target, { recursive: true, force: true });
    await exec(python, [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--target',
      target,
      MOVIEPY_SPEC,
    ]);
    await writeFile(stamp, MOVIEPY_SPEC);
    return { path: target };
  } catch (err) {
    return {
      skipped: `pip could not install ${MOVIEPY_SPEC}: ${(err as Error).message.split('\n').slice(-3).join(' ')}`,
    };
  }
}

/** Its process tree's CPU seconds and largest RSS go to treeFile; ffmpeg is its own (imageio-ffmpeg's). */
export async function runMoviepy(moviepy: string, inputs: string[], output: string): Promise<void> {
  await rm(output, { force: true });
  await exec('/usr/bin/time', ['-o', treeFile, '-f', TIME_FORMAT, 'python3', '-c', MOVIEPY_SCRIPT, output, ...inputs], {
    ...process.env,
    PYTHONPATH: moviepy,
  });
  await writeFile(rssFile, await readFile(treeFile, 'utf8'), { flag: 'a' });
}
