/**
 * The only module that drives fluent-ffmpeg (./probe-thread.ts only loads it in a thread for the
 * probes). fluent-ffmpeg is archived upstream (2025-05) but
 * required by the customer, so everything it does for us goes through these few functions; swapping
 * it for a plain `child_process.spawn` later means rewriting this file and nothing else.
 *
 * fluent-ffmpeg pitfalls handled here (see docs/provider-facts.md, "fluent-ffmpeg 2.1.3"):
 * - its `progress.percent` is relative to the FIRST input's duration: we compute our own from the
 *   output time (`time=` in ffmpeg's stats line) divided by the expected output duration;
 * - it has no AbortSignal: we SIGKILL the child ourselves, also when the abort comes before spawn;
 * - `outputOptions([...])` splits any array item containing exactly one space into two arguments,
 *   so options are always passed as separate arguments (which disables that splitting);
 * - a path such as `http:x.mp4` or `-x.mp4` would be read as a protocol or an option, so every
 *   file is passed as an absolute `file:` URL-less path (`file:/abs/path`).
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, rm, stat } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import type { FfprobeData } from 'fluent-ffmpeg';
import {
  FfmpegMissingError,
  FfmpegStartError,
  isSpawnFailure,
  ProbeError,
  FfmpegRunError,
  FfmpegAbortError,
} from './ffmpeg-types';
import type { FfmpegInstall, MediaInfo, RunFfmpegOptions, RunFfmpegResult } from './ffmpeg-types';
import { mediaInfoFrom } from './probe-info';
import { ProbeCache } from './probe-cache';
import { ffprobeInThread } from './probe-thread';

// Callers take the types and errors from here, with the functions that produce them.
export * from './ffmpeg-types';

/** ffmpeg reads `file:` as the file protocol and takes the rest literally, so no name is misread. */
export function fileArg(path: string): string {
  return `file:${resolve(path)}`;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new FfmpegAbortError('ffmpeg run aborted');
}

const INSTALL_HINT = 'install it with `apt-get install -y ffmpeg` (or set FFMPEG_PATH and FFPROBE_PATH)';

async function findOnPath(name: string, envVar: string): Promise<string | undefined> {
  const explicit = process.env[envVar];
  const candidates = explicit ? [explicit] : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here: try the next PATH entry
    }
  }
  return undefined;
}

function versionOf(binary: string): Promise<string> {
  return new Promise((resolveVersion, reject) => {
    execFile(binary, ['-hide_banner', '-version'], { timeout: 10_000 }, (err, stdout) => {
      if (err) return reject(new Error(err.message));
      const match = /version\s+(\S+)/.exec(stdout);
      resolveVersion(match?.[1] ?? 'unknown');
    });
  });
}

let located: Promise<{ ffmpeg: string; ffprobe: string }> | undefined;
let install: Promise<FfmpegInstall> | undefined;

/** Finds ffmpeg and ffprobe on PATH (file checks only, no process) and points fluent-ffmpeg at them. */
function locateFfmpeg(): Promise<{ ffmpeg: string; ffprobe: string }> {
  located ??= (async () => {
    const ffmpegPath = await findOnPath('ffmpeg', 'FFMPEG_PATH');
    const ffprobePath = await findOnPath('ffprobe', 'FFPROBE_PATH');
    if (!ffmpegPath || !ffprobePath) {
      throw new FfmpegMissingError(`${!ffmpegPath ? 'ffmpeg' : 'ffprobe'} was not found on PATH; ${INSTALL_HINT}`);
    }
    ffmpeg.setFfmpegPath(ffmpegPath);
    ffmpeg.setFfprobePath(ffprobePath);
    return { ffmpeg: ffmpegPath, ffprobe: ffprobePath };
  })();
  // A failed lookup is not cached, so installing ffmpeg fixes a running worker without a restart.
  located.catch(() => (located = undefined));
  return located;
}

/** Finds ffmpeg and ffprobe once per process, checks that both run, and points fluent-ffmpeg at them. */
export function ensureFfmpeg(): Promise<FfmpegInstall> {
  install ??= (async () => {
    const paths = await locateFfmpeg();
    let version: string;
    try {
      [version] = await Promise.all([versionOf(paths.ffmpeg), versionOf(paths.ffprobe)]);
    } catch (err) {
      throw new FfmpegMissingError(`ffmpeg/ffprobe could not be run (${(err as Error).message}); ${INSTALL_HINT}`);
    }
    return { ...paths, version };
  })();
  install.catch(() => (install = undefined));
  return install;
}

/** fluent-ffmpeg's ffprobe, started from its own thread: starting it here blocked the main thread (./probe-thread.ts). */
function ffprobeData(ffprobePath: string, path: string): Promise<FfprobeData> {
  return ffprobeInThread(ffprobePath, fileArg(path));
}

/**
 * Reads a clip's video facts; throws ProbeError for anything that is not a readable video, and
 * FfmpegMissingError / FfmpegStartError when ffprobe itself is missing or could not be started.
 */
export async function probe(path: string): Promise<MediaInfo> {
  // No version check first (two processes, ~45 ms, competing with the probes for the cores): a
  // `vidflow stitch` would pay it on its critical path. It runs only when the probe fails, to
  // tell a broken ffprobe (FfmpegMissingError, with the install hint) from a bad clip: blaming
  // the clip would have it downloaded or even generated again.
  const { ffprobe } = await locateFfmpeg();
  try {
    return await probeFile(ffprobe, path);
  } catch (err) {
    await ensureFfmpeg();
    throw err;
  }
}

/** One per process: a clip probed at download is not probed again by its stitch (./probe-cache.ts). */
const probes = new ProbeCache();

async function probeFile(ffprobePath: string, path: string): Promise<MediaInfo> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
    if (!st.isFile()) throw new ProbeError(`${path} is not a file`, path, 'NOTFILE');
  } catch (err) {
    if (err instanceof ProbeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ProbeError(`cannot read ${path}: ${code ?? (err as Error).message}`, path, code);
  }
  const key = resolve(path);
  const known = probes.get(key, st);
  if (known) return known;
  let data: FfprobeData;
  try {
    data = await ffprobeData(ffprobePath, path);
  } catch (err) {
    if (isSpawnFailure(err)) {
      throw new FfmpegStartError(`ffprobe could not be started: ${err.code ?? err.message}`, err.code);
    }
    const detail = lastMeaningfulLine((err as Error).message);
    throw new ProbeError(`${path} is not a readable video: ${detail}`, path, 'UNREADABLE');
  }
  const info = mediaInfoFrom(path, data, st.size);
  probes.set(key, st, info);
  return info;
}

function lastMeaningfulLine(text: string): string {
  const lines = text
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^(frame|size)=/.test(l));
  return lines.slice(-3).join(' | ') || text;
}

const FRAME_RE = /^frame=\s*(\d+)/;
const TIME_RE = /time=\s*(-?)(\d+):(\d+):(\d+(?:\.\d+)?)/;
const WRITE_ERROR_RE = /Error (writing trailer|closing file)|No space left on device|Disk quota exceeded/i;

/**
 * Runs one ffmpeg command. On failure or abort the (partial) output is removed; on abort ffmpeg is
 * SIGKILLed and the promise rejects with the signal's reason.
 */
export async function runFfmpeg(opts: RunFfmpegOptions): Promise<RunFfmpegResult> {
  const { signal, onProgress, expectedDurationSeconds } = opts;
  // As in probe(): ffmpeg's version check runs only if this run fails, to name a broken install.
  await locateFfmpeg();
  if (signal?.aborted) throw abortReason(signal);

  const cmd = ffmpeg({ stdoutLines: 200 });
  // fluent-ffmpeg runs `ffmpeg -formats` and `ffmpeg -encoders` before a process's first command,
  // to check the -f it finds and to add `-strict experimental` after `-vcodec`/`-acodec` (we use
  // neither): 0.2–0.5 s on 2 busy cores, paid by every `vidflow stitch`. Our formats and encoders
  // are fixed and ffmpeg reports a missing one itself, as a failed run: skip both.
  const unchecked = cmd as unknown as {
    _checkCapabilities: (cb: () => void) => void;
    availableEncoders: (cb: (err: null, encoders: object) => void) => void;
  };
  unchecked._checkCapabilities = (cb) => cb();
  unchecked.availableEncoders = (cb) => cb(null, {});
  for (const input of opts.inputs) {
    cmd.input(fileArg(input));
    if (opts.inputOptions?.length) cmd.inputOptions(...opts.inputOptions);
  }
  if (opts.filterComplex) cmd.complexFilter(opts.filterComplex);
  // Spread, never an array: see the header on fluent-ffmpeg's space splitting.
  // `-y` explicitly: fluent-ffmpeg adds it only for outputs it thinks are files, and `file:` fools it.
  cmd.outputOptions('-hide_banner', '-nostdin', '-y', ...opts.outputOptions);
  cmd.output(fileArg(opts.output));

  let lastFraction = 0;
  let frames: number | undefined;
  let started = false;
  let aborted = false;
  const kill = () => {
    aborted = true;
    if (started) cmd.kill('SIGKILL');
  };

  try {
    await new Promise<void>((resolveRun, reject) => {
      signal?.addEventListener('abort', kill, { once: true });
      cmd.on('start', () => {
        started = true;
        lowerPriority(cmd);
        // The abort may have come while fluent-ffmpeg was still checking capabilities.
        if (aborted) cmd.kill('SIGKILL');
      });
      if (onProgress && expectedDurationSeconds && expectedDurationSeconds > 0) {
        // The 'stderr' line event, not 'progress': a 'progress' listener makes fluent-ffmpeg run an
        // extra ffprobe on input 0 just to compute the wrong percentage.
        cmd.on('stderr', (line: string) => {
          const m = TIME_RE.exec(line);
          if (!m || m[1] === '-') return;
          const seconds = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
          const fraction = Math.min(0.99, seconds / expectedDurationSeconds);
          if (fraction > lastFraction) {
            lastFraction = fraction;
            onProgress(fraction);
          }
        });
      }
      cmd.on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
        if (aborted && signal) return reject(abortReason(signal));
        const log = stderr ?? '';
        const diskFull = /No space left on device|ENOSPC/i.test(log + err.message);
        reject(new FfmpegRunError(`ffmpeg failed: ${lastMeaningfulLine(err.message)}`, log.slice(-4000), diskFull));
      });
      // ffmpeg 5.1 exits 0 when the disk fills up while it writes the trailer ("Error writing
      // trailer … No space left on device"): a broken file that looks like success. Read its log.
      const writeErrors: string[] = [];
      cmd.on('stderr', (line: string) => {
        if (WRITE_ERROR_RE.test(line)) writeErrors.push(line.trim());
        const frame = FRAME_RE.exec(line.trim());
        if (frame) frames = Number(frame[1]);
      });
      cmd.on('end', () => {
        if (writeErrors.length === 0) return resolveRun();
        const log = writeErrors.join('\n');
        reject(
          new FfmpegRunError(
            `ffmpeg could not write its output: ${writeErrors[0]}`,
            log,
            /No space left|ENOSPC/i.test(log),
          ),
        );
      });
      cmd.run();
    });
  } catch (err) {
    await rm(opts.output, { force: true });
    if (!aborted) await ensureFfmpeg();
    throw err;
  } finally {
    signal?.removeEventListener('abort', kill);
  }
  onProgress?.(1);
  return frames === undefined ? {} : { frames };
}

/**
 * Encoding is CPU-bound and can take every core; the worker's own event loop (heartbeats, polls of
 * other runs' predictions) must keep running, or busy stitches would time out healthy activities.
 */
function lowerPriority(cmd: unknown): void {
  const pid = (cmd as { ffmpegProc?: { pid?: number } }).ffmpegProc?.pid;
  if (pid === undefined) return;
  try {
    setPriority(pid, 10);
  } catch {
    // Not permitted here (some containers): run at normal priority.
  }
}
