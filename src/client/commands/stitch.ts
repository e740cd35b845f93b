/**
 * `vidflow stitch <clips...> --out FILE [--transition fade] [--fade 0.5] [--fps N] [--size WxH]`:
 * the stitcher (src/media/stitch.ts) on its own, for clips from anywhere. Needs ffmpeg only: no
 * Temporal, no API keys, no configuration. So this module imports nothing that loads the Temporal
 * SDK: bin/vidflow.js runs it without cli.ts, and `vidflow stitch --help` answers in a blink.
 */
import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_FADE_SECONDS, XFADE_TRANSITIONS, stitchClips } from '../../media/stitch';
import { isParseArgsError, UsageError } from '../errors';
import type { ConfigLoader } from './command';

export const usage =
  'usage: vidflow stitch <clips...> --out FILE [--transition fade|dissolve|wipeleft|…] [--fade 0.5] [--fps N] [--size WxH]';

function parseSize(text: string): { width: number; height: number } {
  const m = /^(\d{1,5})x(\d{1,5})$/i.exec(text.trim());
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  const ok = (v: number) => Number.isInteger(v) && v >= 16 && v <= 8192 && v % 2 === 0;
  if (!m || !ok(width) || !ok(height)) {
    throw new UsageError(`--size must be WxH with even numbers between 16 and 8192 (e.g. 1280x720), got "${text}"`);
  }
  return { width, height };
}

function parseNumber(name: string, text: string, min: number, max: number, minInclusive: boolean): number {
  const v = Number(text);
  const aboveMin = minInclusive ? v >= min : v > min;
  if (text.trim() === '' || !Number.isFinite(v) || !aboveMin || v > max) {
    throw new UsageError(`--${name} must be a number ${minInclusive ? '>=' : '>'} ${min} and <= ${max}, got "${text}"`);
  }
  return v;
}

/**
 * Returns the process exit code: 0 done, 2 bad arguments, 1 the stitch failed. It reports its own
 * errors (`vidflow stitch: …` and the usage), as it also runs without cli.ts. No configuration.
 */
export async function run(_config: ConfigLoader, args: string[]): Promise<number> {
  let opts: Parameters<typeof stitchClips>[0];
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string', short: 'o' },
        transition: { type: 'string', default: 'fade' },
        fade: { type: 'string', default: String(DEFAULT_FADE_SECONDS) },
        fps: { type: 'string' },
        size: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('no clips given');
    if (!values.out) throw new UsageError('--out FILE is required');
    const transition = values.transition;
    if (!(XFADE_TRANSITIONS as readonly string[]).includes(transition)) {
      throw new UsageError(`unknown transition "${transition}"; known: ${XFADE_TRANSITIONS.join(', ')}`);
    }
    for (const [i, clip] of positionals.entries()) {
      try {
        await access(clip, constants.R_OK);
      } catch {
        throw new UsageError(`clip ${i + 1} (${clip}) does not exist or is not readable`);
      }
    }
    opts = {
      inputs: positionals,
      output: values.out,
      transition,
      fadeSeconds: parseNumber('fade', values.fade, 0, 60, true),
      ...(values.fps !== undefined ? { fps: parseNumber('fps', values.fps, 0, 240, false) } : {}),
      ...(values.size !== undefined ? { size: parseSize(values.size) } : {}),
    };
  } catch (err) {
    const message = err instanceof UsageError || isParseArgsError(err);
    process.stderr.write(`vidflow stitch: ${message ? err.message : String(err)}\n${usage}\n`);
    return 2;
  }

  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  const started = Date.now();
  let shown = -1;
  // Without a terminal (logs, CI) one line per 10 %, not a carriage-return spinner.
  let logged = 0;
  try {
    const result = await stitchClips({
      ...opts,
      signal: controller.signal,
      onProgress: (fraction) => {
        const percent = Math.floor(fraction * 100);
        if (percent === shown) return;
        shown = percent;
        if (process.stderr.isTTY) process.stderr.write(`\rstitching… ${percent}%`);
        else if (Math.floor(percent / 10) > Math.floor(logged / 10)) {
          logged = percent;
          process.stderr.write(`stitching… ${percent}%\n`);
        }
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    const took = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `${result.path}: ${result.durationSeconds.toFixed(2)} s, ${(result.sizeBytes / 1024 / 1024).toFixed(1)} MB, ` +
        `${opts.inputs.length} clips, stitched in ${took} s\n`,
    );
    return 0;
  } catch (err) {
    if (process.stderr.isTTY) process.stderr.write('\n');
    process.stderr.write(`vidflow stitch: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
