/**
 * Storyboard images: reading a still's size (ffprobe), and the contact sheet a reviewer sees, all
 * keyframes in a grid, each labelled with its number (ffmpeg through ./ffmpeg, the one module that
 * runs fluent-ffmpeg).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ensureFfmpeg, fileArg, isSpawnFailure, FfmpegStartError, ProbeError, runFfmpeg } from './ffmpeg';

export interface ImageInfo {
  width: number;
  height: number;
  codec: string;
  sizeBytes: number;
}

/** Still-image codecs ffprobe reports for what the image models send (PNG, JPEG, WebP). */
const IMAGE_CODECS = new Set(['png', 'mjpeg', 'jpegls', 'webp']);

/**
 * A still's facts; throws ProbeError for anything that is not a single still image (a video, a
 * page of HTML, a truncated file), FfmpegStartError when ffprobe cannot be started.
 */
export async function probeImage(path: string): Promise<ImageInfo> {
  const { ffprobe } = await ensureFfmpeg();
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw new ProbeError(`${path} is not a file`, path, 'NOTFILE');
  const out = await new Promise<string>((resolve, reject) => {
    const args = ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,codec_name'];
    execFile(ffprobe, [...args, '-of', 'json', fileArg(path)], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && isSpawnFailure(err))
        return reject(new FfmpegStartError(`ffprobe could not be started: ${err.message}`));
      if (err) return reject(new ProbeError(`${path} is not a readable image: ${stderr.trim().slice(-300)}`, path));
      resolve(stdout);
    });
  });
  const stream = (JSON.parse(out) as { streams?: { width?: number; height?: number; codec_name?: string }[] })
    .streams?.[0];
  const codec = stream?.codec_name ?? 'none';
  if (!stream?.width || !stream.height || !IMAGE_CODECS.has(codec)) {
    throw new ProbeError(`${path} is not a still image (codec ${codec})`, path, 'NOIMAGE');
  }
  return { width: stream.width, height: stream.height, codec, sizeBytes: st.size };
}

const FONTS = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
];

/** fonts-dejavu (scripts/setup.sh installs it), or VIDFLOW_CARD_FONT; undefined: no labels. */
function labelFont(): string | undefined {
  const chosen = process.env.VIDFLOW_CARD_FONT;
  if (chosen === 'none') return undefined;
  return [chosen, ...FONTS].find((f): f is string => !!f && !/[':\\]/.test(f) && existsSync(f));
}

export interface ContactSheetOptions {
  /** Keyframes in order; the first's aspect ratio sets every cell's. */
  images: string[];
  /** Width of one cell (default 320). */
  cellWidth?: number;
  /** Cells per row (default: all in one row up to 4, then rows of 4). */
  columns?: number;
  output: string;
  signal?: AbortSignal;
}

export interface ContactSheetLayout {
  width: number;
  height: number;
  columns: number;
  rows: number;
}

/**
 * Writes the sheet (JPEG or PNG by the output's extension). Each cell is scaled and padded to one
 * size, so keyframes of another aspect ratio still line up; the number is drawn in the top-left
 * corner on a dark box, readable on any colour.
 */
export async function makeContactSheetImage(o: ContactSheetOptions): Promise<ContactSheetLayout> {
  const n = o.images.length;
  if (n === 0) throw new Error('a contact sheet needs at least one image');
  const first = await probeImage(o.images[0]!);
  const even = (x: number) => 2 * Math.round(x / 2);
  const cw = even(o.cellWidth ?? 320);
  const ch = even((cw * first.height) / first.width);
  const columns = Math.max(1, Math.min(o.columns ?? 4, n));
  const rows = Math.ceil(n / columns);
  const font = labelFont();
  const size = Math.max(12, Math.round(ch / 6));
  const cells = o.images.map((_, i) => {
    const label = font
      ? `,drawtext=fontfile='${font}':text='${i + 1}':fontcolor=white:fontsize=${size}:box=1:boxcolor=black@0.6:boxborderw=${Math.round(size / 4)}:x=${Math.round(size / 3)}:y=${Math.round(size / 3)}`
      : '';
    return `[${i}:v]scale=${cw}:${ch}:force_original_aspect_ratio=decrease,pad=${cw}:${ch}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv444p${label}[c${i}]`;
  });
  const layout = o.images.map((_, i) => `${(i % columns) * cw}_${Math.floor(i / columns) * ch}`).join('|');
  const stack =
    n === 1
      ? '[c0]null[sheet]'
      : `${o.images.map((_, i) => `[c${i}]`).join('')}xstack=inputs=${n}:layout=${layout}:fill=black[sheet]`;
  // A last row with empty cells: xstack's box is the cells' bounding box; pad keeps the grid whole.
  const graph = [...cells, stack, `[sheet]pad=${columns * cw}:${rows * ch}:0:0:color=black[out]`].join(';');
  await runFfmpeg({
    inputs: o.images,
    filterComplex: graph,
    outputOptions: [
      '-map',
      '[out]',
      '-frames:v',
      '1',
      '-update',
      '1',
      ...(/\.jpe?g$/i.test(o.output) ? ['-q:v', '3'] : []),
    ],
    output: o.output,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return { width: columns * cw, height: rows * ch, columns, rows };
}
