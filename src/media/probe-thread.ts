/**
 * ffprobe, started from a thread of its own instead of the main thread. Starting a child process
 * blocks the thread that starts it until the child has exec'd: libuv forks, copying the page tables
 * of the whole process, then waits for the child to be scheduled and replace itself. On a busy
 * worker that wait is long: in a profile of `npm run bench:load` (100 runs, 2 cores saturated by
 * the stitches and the dev server) starting the downloads' ffprobes took 11.6 s of the main
 * thread's 60 s in the minute the clips came in, while Temporal's activations, the webhooks and the
 * downloads' sockets all wait on that thread. Here the wait is this thread's.
 *
 * The thread runs fluent-ffmpeg's own ffprobe (the code is only a loader: ./ffmpeg.ts stays the one
 * module that drives fluent-ffmpeg), and the answer comes back as data. The thread holds the
 * process open only while a probe is in flight, so a CLI exits as it did.
 */
import { Worker } from 'node:worker_threads';
import type { FfprobeData } from 'fluent-ffmpeg';

/** Plain CommonJS, evaluated: works the same from dist/ and from the sources under tsx. */
const THREAD_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const ffmpeg = require(workerData.fluent);
parentPort.on('message', ({ id, ffprobePath, src }) => {
  ffmpeg.setFfprobePath(ffprobePath);
  ffmpeg.ffprobe(src, (err, data) => {
    if (!err) return parentPort.postMessage({ id, data });
    const e = err instanceof Error ? err : new Error(String(err));
    parentPort.postMessage({ id, error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path } });
  });
});
`;

interface Reply {
  id: number;
  data?: FfprobeData;
  error?: { message: string; code?: string; errno?: number; syscall?: string; path?: string };
}

type Pending = { resolve: (d: FfprobeData) => void; reject: (e: Error) => void };

let thread: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 1;

function failAll(err: Error): void {
  for (const p of pending.values()) p.reject(err);
  pending.clear();
}

function probeThread(): Worker {
  if (thread) return thread;
  const t = new Worker(THREAD_CODE, {
    eval: true,
    workerData: { fluent: require.resolve('fluent-ffmpeg') },
    // It holds one probe's JSON at a time: a small heap keeps the worker's RSS where it was.
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
  });
  t.unref();
  t.on('message', (reply: Reply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (pending.size === 0) t.unref();
    if (reply.data) p.resolve(reply.data);
    else p.reject(Object.assign(new Error(reply.error?.message ?? 'ffprobe failed'), reply.error ?? {}));
  });
  // The thread died (out of memory, a bug): fail what it held, start a new one on the next probe.
  const lost = (err: Error) => {
    if (thread === t) thread = undefined;
    failAll(err);
  };
  t.on('error', lost);
  t.on('exit', (code) => lost(new Error(`the ffprobe thread exited (code ${code})`)));
  thread = t;
  return t;
}

/** fluent-ffmpeg's `ffprobe(src)` with the given ffprobe binary, run from the probe thread. */
export function ffprobeInThread(ffprobePath: string, src: string): Promise<FfprobeData> {
  const t = probeThread();
  const id = nextId++;
  return new Promise<FfprobeData>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    t.ref();
    t.postMessage({ id, ffprobePath, src });
  });
}
