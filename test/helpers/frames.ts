/** Comparing parts of video frames in tests: a region as small grey pixels, and how far two differ. */
import { rawFrame } from './video';

export interface Region {
  /** Fractions of the frame: 0..1. */
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The region of the frame at `t`, scaled to `cols` × `rows` grey pixels (0..255). */
export function regionGrey(file: string, t: number, r: Region, cols = 64, rows = 16): Buffer {
  return rawFrame(file, t, `crop=iw*${r.w}:ih*${r.h}:iw*${r.x}:ih*${r.y},scale=${cols}:${rows},format=gray`);
}

/** Mean absolute difference of two equally sized grey images, 0..255. */
export function meanAbsDiff(a: Buffer, b: Buffer): number {
  if (a.length !== b.length || a.length === 0) throw new Error(`sizes differ: ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** Where offline cards put their caption: the lower part of the frame, below the moving box. */
export const CAPTION_REGION: Region = { x: 0.05, y: 0.6, w: 0.9, h: 0.38 };
/** The upper part, where only the card's colour is. */
export const PLAIN_REGION: Region = { x: 0, y: 0, w: 1, h: 0.3 };
