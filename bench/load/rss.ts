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

function descendantsOf(pid: number): number[] {
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
