/**
 * What ffprobe said about a file, kept while the file is the same one: same device and inode,
 * size, modification and change times. A worker probes each clip as it downloads it, and its
 * stitch probed the same files again moments later. Every probe is a child process, and starting
 * one blocks the worker's event loop for a time that grows with the worker's memory (fork copies
 * its page tables: ~5 ms at 300 MB on a quiet machine; up to 140 ms each, 7.6 s in all over two
 * minutes, in a profile of `npm run bench:load` with 100 runs). A file replaced under the same name
 * (a redo's new clip is renamed into place) has a new inode, so it is probed again.
 */
import type { Stats } from 'node:fs';
import type { MediaInfo } from './ffmpeg-types';

/** Enough for every clip of a busy worker's runs in flight; the oldest entry goes first. */
const MAX_ENTRIES = 1024;

export class ProbeCache {
  private readonly entries = new Map<string, { identity: string; info: MediaInfo }>();

  constructor(private readonly max = MAX_ENTRIES) {}

  static identity(st: Stats): string {
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  }

  get(path: string, st: Stats): MediaInfo | undefined {
    const hit = this.entries.get(path);
    if (!hit) return undefined;
    if (hit.identity !== ProbeCache.identity(st)) {
      this.entries.delete(path);
      return undefined;
    }
    return hit.info;
  }

  set(path: string, st: Stats, info: MediaInfo): void {
    this.entries.delete(path);
    this.entries.set(path, { identity: ProbeCache.identity(st), info });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}
