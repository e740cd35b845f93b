/** Peak RSS of the worker process and, apart, of its children (ffmpeg), sampled from /proc. */
import { readFileSync, readdirSync } from 'node:fs';
import { SAMPLE_MS } from './report';

export function vmRssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // gone
  }
}

/** Direct children of `pid`, from /proc/<pid>/task/<tid>/children. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (text) out.push(...text.split(/\s+/).map(Number));
      } catch {
        // thread ended
      }
    }
  } catch {
    // process ended
  }
  return out;
}

export function descendantsOf(pid: number): number[] {
  const all: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const p = queue.shift()!;
    all.push(p);
    queue.push(...childrenOf(p));
  }
  return all;
}

export interface RssPeaks {
  workerKb: number;
  /** Peak of the children's summed RSS at one sample. */
  childrenKb: number;
  /** Most children alive at one sample. */
  childrenMax: number;
}

export function sampleRss(pid: number): { peaks: RssPeaks; reset(): void; stop(): void } {
  const peaks: RssPeaks = { workerKb: 0, childrenKb: 0, childrenMax: 0 };
  const tick = () => {
    peaks.workerKb = Math.max(peaks.workerKb, vmRssKb(pid));
    const kids = descendantsOf(pid);
    const sum = kids.reduce((acc, k) => acc + vmRssKb(k), 0);
    peaks.childrenKb = Math.max(peaks.childrenKb, sum);
    peaks.childrenMax = Math.max(peaks.childrenMax, kids.length);
  };
  tick();
  const timer = setInterval(tick, SAMPLE_MS);
  return {
    peaks,
    reset() {
      peaks.workerKb = 0;
      peaks.childrenKb = 0;
      peaks.childrenMax = 0;
      tick();
    },
    stop: () => clearInterval(timer),
  };
}

/** CPU seconds of `pid` itself and of its children it has waited for (ffmpeg, ffprobe), from /proc. */
export function cpuSeconds(pid: number): { own: number; children: number } {
  try {
    // Fields after the command name (which may hold spaces, so split after its ')').
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // utime, stime, cutime, cstime are fields 14-17 of stat; f starts at field 3.
    const tick = 100; // USER_HZ on Linux
    return { own: (f[11]! + f[12]!) / tick, children: (f[13]! + f[14]!) / tick };
  } catch {
    return { own: 0, children: 0 };
  }
}
