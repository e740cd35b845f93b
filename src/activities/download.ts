/**
 * Download activity: streams a clip from its output URL to a temporary file (never the whole clip
 * in memory), heartbeating progress, checks with ffprobe that it is a playable video and renames
 * it into place. A retry finds a finished file and returns at once; a half-written one is never
 * read, because only the rename makes it visible. The file is named by the prediction that made
 * the clip (src/support/paths.ts), so a redo's new clip never meets an older clip of the scene.
 *
 * Only the clip is blamed for what is the clip's fault, because blaming it makes the workflow pay
 * for a new one: a 404/410 is an expiry only with evidence (../support/output-expiry); a 403, a
 * 5xx, a broken connection or an ffprobe that cannot start are the way there or the worker, and
 * are retried (the workflow's retry policy rides out several minutes of outage).
 *
 * What may be fetched is decided by ./download-policy: scheme, host allow-list, redirects (followed
 * here one hop at a time, each checked), content type and size. A refusal is a non-retryable
 * DownloadRefused that names the reason and only the redacted URL (signed URLs carry tokens).
 */
import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ApplicationFailure } from '@temporalio/common';
import { failure } from '../shared/failures';
import type { ClipFile, DownloadClipInput, DownloadHeartbeat } from '../shared/schemas';
import { FfmpegMissingError, FfmpegStartError, probe as ffprobe } from '../media/ffmpeg';
import type { MediaInfo } from '../media/ffmpeg';
import { openPartFile } from '../support/part-file';
import { sceneClipPath } from '../support/paths';
import { goneOutputFailure } from '../support/output-expiry';
import { guardedFetch, refusal } from '../support/guarded-fetch';
import {
  checkContentLength,
  checkContentType,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_REDIRECTS,
  formatBytes,
  redactUrl,
  REPLICATE_DELIVERY_HOSTS,
} from '../support/download-policy';

export interface DownloadDeps {
  workDir: string;
  fetch?: typeof globalThis.fetch;
  /** Refuse larger bodies (by Content-Length, and while streaming). Default 500 MB. */
  maxBytes?: number;
  /**
   * Hosts downloads may come from (exact, or `*.suffix`). The worker always passes one (from
   * VIDFLOW_DOWNLOAD_HOSTS, else Replicate's delivery hosts plus REPLICATE_BASE_URL's host).
   * Without it: Replicate's delivery hosts plus loopback, so in-process tests against the
   * emulators work; loopback is never in the worker's default unless REPLICATE_BASE_URL points there.
   */
  allowedHosts?: string[];
  /** Redirect hops followed, each checked against the same rules. Default 5. */
  maxRedirects?: number;
  /** Reads a clip's facts; default ffprobe (src/media/ffmpeg.ts). */
  probe?: (path: string) => Promise<MediaInfo>;
}

const MB = 1024 * 1024;

async function toClipFile(probe: (path: string) => Promise<MediaInfo>, path: string): Promise<ClipFile> {
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

/** ffprobe missing or not startable: the worker's trouble, retried; the clip is not blamed (or paid for again). */
function toolTrouble(tag: string, err: unknown) {
  if (!(err instanceof FfmpegMissingError || err instanceof FfmpegStartError)) return undefined;
  return failure('MediaToolUnavailable', `${tag}: cannot check the clip on this worker: ${err.message}`, {
    cause: err,
  });
}

/** The file's key: the prediction id, else (runs from older code) a hash of the output URL. */
function clipKey(input: DownloadClipInput): string {
  return input.predictionId ?? `url-${createHash('sha256').update(input.url).digest('hex').slice(0, 16)}`;
}

export function createDownloadActivities(deps: DownloadDeps) {
  const doFetch = deps.fetch ?? globalThis.fetch;
  const maxBytes = deps.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxRedirects = deps.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const allowedHosts = deps.allowedHosts ?? [...REPLICATE_DELIVERY_HOSTS, 'localhost', '127.0.0.1', '[::1]'];
  const policy = { allowedHosts };
  const probe = deps.probe ?? ffprobe;

  return {
    async downloadClip(input: DownloadClipInput): Promise<ClipFile> {
      const ctx = Context.current();
      const tag = `scene ${input.sceneIndex}/${input.sceneCount}`;
      const dest = sceneClipPath(deps.workDir, input.workflowId, input.sceneIndex, clipKey(input));

      // Idempotent retry: a file at `dest` was renamed there only after it passed ffprobe.
      if (await stat(dest).catch(() => undefined)) {
        try {
          const clip = await toClipFile(probe, dest);
          ctx.log.info(`${tag}: clip already downloaded (${(clip.sizeBytes / MB).toFixed(2)} MB)`);
          return clip;
        } catch (err) {
          const trouble = toolTrouble(tag, err);
          if (trouble) throw trouble; // the file may well be fine: keep it for the retry
          await rm(dest, { force: true });
        }
      }

      const refuse = (reason: string) => refusal(tag, reason);
      ctx.log.info(`${tag}: downloading ${redactUrl(input.url)}`);
      const { res, url } = await guardedFetch({
        tag,
        url: input.url,
        policy,
        maxRedirects,
        fetch: doFetch,
        signal: ctx.cancellationSignal,
        onRedirect: (to) => {
          ctx.log.debug(`${tag}: redirected to ${redactUrl(to)}`);
        },
      });
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel().catch(() => undefined);
        throw goneOutputFailure({
          tag,
          status: res.status,
          what: 'clip',
          outputSeenAt: input.outputSeenAt,
          downloadedBefore: input.downloadedBefore,
          heartbeat: ctx.info.heartbeatDetails,
          nowMs: Date.now(),
          expiredNote: 'Replicate deletes API outputs after one hour',
          notExpiredNote: ' old and was never downloaded: not an expiry (outputs live an hour), retrying',
        });
      }
      if (res.status === 403) {
        // Replicate answers 404 for an expired output; a 403 is the file host or a proxy on the way
        // refusing us, which a new prediction would meet just the same.
        await res.body?.cancel().catch(() => undefined);
        throw failure(
          'DownloadFailed',
          `${tag}: download answered 403 Forbidden (the file host, or a proxy on the way, refused it): retrying; the clip is not generated again for this`,
        );
      }
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => undefined);
        throw failure('DownloadFailed', `${tag}: download answered ${res.status} ${res.statusText}`);
      }
      const badType = checkContentType(res.headers.get('content-type'));
      const tooBig = checkContentLength(res.headers.get('content-length'), maxBytes);
      if (badType || tooBig) {
        await res.body.cancel().catch(() => undefined);
        throw refuse(`${(badType ?? tooBig)!} (${redactUrl(url)})`);
      }
      const total = Number(res.headers.get('content-length')) || undefined;
      if (total) ctx.log.info(`${tag}: size ${(total / MB).toFixed(2)} MB`);

      await mkdir(dirname(dest), { recursive: true });
      const tmp = `${dest}.part-${ctx.info.attempt}`;
      let received = 0;
      let nextLog = 0.25;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          received += chunk.length;
          if (received > maxBytes) {
            cb(refuse(`the clip is over the ${formatBytes(maxBytes)} cap (stopped at ${received} bytes)`));
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
        // Opened before the body becomes a Node stream: a Node stream that errors while nobody
        // listens would be an uncaught exception; the web body just holds its error for pipeline.
        const out = await openPartFile(tmp);
        await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), meter, out);
        if (total !== undefined && received !== total) {
          throw failure('DownloadFailed', `${tag}: the download stopped at ${received} of ${total} bytes`);
        }
      } catch (err) {
        // Unread if the part file could not be opened (locked, and so refused, once it was piped).
        await res.body.cancel().catch(() => undefined);
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
        clip = await toClipFile(probe, tmp);
      } catch (err) {
        await rm(tmp, { force: true });
        throw (
          toolTrouble(tag, err) ??
          failure('InvalidClip', `${tag}: the downloaded file is not a playable video: ${(err as Error).message}`)
        );
      }
      await rename(tmp, dest);
      ctx.log.info(`${tag}: clip downloaded (${(received / MB).toFixed(2)} MB, ${clip.durationSeconds.toFixed(1)} s)`);
      return { ...clip, path: dest };
    },
  };
}

export type DownloadActivities = ReturnType<typeof createDownloadActivities>;
