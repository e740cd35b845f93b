/**
 * Download activity: streams a clip from its output URL to a temporary file (never the whole clip
 * in memory), heartbeating progress, checks with ffprobe that it is a playable video and renames
 * it into place. A retry finds a finished file and returns at once; a half-written one is never
 * read, because only the rename makes it visible.
 */
import { Context } from '@temporalio/activity';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ApplicationFailure } from '@temporalio/common';
import { failure } from '../shared/failures';
import type { ClipFile, DownloadClipInput, DownloadHeartbeat } from '../shared/schemas';
import { probe } from '../media/ffmpeg';
import { sceneClipPath } from './paths';

export interface DownloadDeps {
  workDir: string;
  fetch?: typeof globalThis.fetch;
  /** Refuse larger bodies while streaming. */
  maxBytes?: number;
}

const MB = 1024 * 1024;

async function toClipFile(path: string): Promise<ClipFile> {
  const info = await probe(path);
  return {
    path,
    sizeBytes: info.sizeBytes,
    durationSeconds: info.durationSeconds,
    width: info.width,
    height: info.height,
    fps: info.fps,
    hasAudio: info.hasAudio,
  };
}

/** fetch's TypeError says only "fetch failed"; the reason (ECONNREFUSED, reset, TLS) is in its cause. */
function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

export function createDownloadActivities(deps: DownloadDeps) {
  const doFetch = deps.fetch ?? globalThis.fetch;
  const maxBytes = deps.maxBytes ?? 500 * MB;

  return {
    async downloadClip(input: DownloadClipInput): Promise<ClipFile> {
      const ctx = Context.current();
      const tag = `scene ${input.sceneIndex}/${input.sceneCount}`;
      const dest = sceneClipPath(deps.workDir, input.workflowId, input.sceneIndex);

      // Idempotent retry: a file at `dest` was renamed there only after it passed ffprobe.
      if (await stat(dest).catch(() => undefined)) {
        try {
          const clip = await toClipFile(dest);
          ctx.log.info(`${tag}: clip already downloaded (${(clip.sizeBytes / MB).toFixed(2)} MB)`);
          return clip;
        } catch {
          await rm(dest, { force: true });
        }
      }

      let url: URL;
      try {
        url = new URL(input.url);
      } catch {
        throw failure('DownloadRefused', `${tag}: not a URL: ${input.url.slice(0, 200)}`);
      }
      const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
        throw failure('DownloadRefused', `${tag}: refusing to download over ${url.protocol} (https only)`);
      }

      ctx.log.info(`${tag}: downloading ${redact(input.url)}`);
      let res: Response;
      try {
        res = await doFetch(url, { signal: ctx.cancellationSignal, redirect: 'follow' });
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw err;
        throw failure('DownloadFailed', `${tag}: download failed: ${describeNetworkError(err)}`);
      }
      if (res.status === 403 || res.status === 404 || res.status === 410) {
        await res.body?.cancel().catch(() => undefined);
        throw failure(
          'OutputExpired',
          `${tag}: the clip's URL answered ${res.status}: Replicate deletes API outputs after one hour; the scene will be generated again`,
        );
      }
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => undefined);
        throw failure('DownloadFailed', `${tag}: download answered ${res.status} ${res.statusText}`);
      }
      const total = Number(res.headers.get('content-length')) || undefined;
      if (total !== undefined && total > maxBytes) {
        await res.body.cancel().catch(() => undefined);
        throw failure(
          'DownloadRefused',
          `${tag}: the clip is ${(total / MB).toFixed(0)} MB, over the ${(maxBytes / MB).toFixed(0)} MB cap`,
        );
      }
      if (total) ctx.log.info(`${tag}: size ${(total / MB).toFixed(2)} MB`);

      await mkdir(dirname(dest), { recursive: true });
      const tmp = `${dest}.part-${ctx.info.attempt}`;
      let received = 0;
      let nextLog = 0.25;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          received += chunk.length;
          if (received > maxBytes) {
            cb(failure('DownloadRefused', `${tag}: the clip is over the ${(maxBytes / MB).toFixed(0)} MB cap`));
            return;
          }
          const percent = total ? Math.min(100, Math.round((received / total) * 100)) : undefined;
          ctx.heartbeat({
            receivedBytes: received,
            totalBytes: total,
            percent,
            sceneIndex: input.sceneIndex,
          } satisfies DownloadHeartbeat);
          if (total && received / total >= nextLog) {
            ctx.log.debug(`${tag}: progress ${percent}%`);
            nextLog += 0.25;
          }
          cb(null, chunk);
        },
      });
      try {
        await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), meter, createWriteStream(tmp));
        if (total !== undefined && received !== total) {
          throw failure('DownloadFailed', `${tag}: the download stopped at ${received} of ${total} bytes`);
        }
      } catch (err) {
        await rm(tmp, { force: true });
        if (ctx.cancellationSignal.aborted) throw err;
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
          throw failure('DiskFull', `${tag}: no space left on the device for ${dirname(dest)}`);
        }
        if (err instanceof ApplicationFailure) throw err;
        throw failure(
          'DownloadFailed',
          `${tag}: download broke off after ${received} bytes: ${(err as Error).message}`,
        );
      }

      let clip: ClipFile;
      try {
        clip = await toClipFile(tmp);
      } catch (err) {
        await rm(tmp, { force: true });
        throw failure('InvalidClip', `${tag}: the downloaded file is not a playable video: ${(err as Error).message}`);
      }
      await rename(tmp, dest);
      ctx.log.info(`${tag}: clip downloaded (${(received / MB).toFixed(2)} MB, ${clip.durationSeconds.toFixed(1)} s)`);
      return { ...clip, path: dest };
    },
  };
}

export type DownloadActivities = ReturnType<typeof createDownloadActivities>;
