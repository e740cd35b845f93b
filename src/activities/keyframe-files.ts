/**
 * The storyboard's disk-bound activities, on the run's home worker: download a keyframe, upload it
 * to Replicate's Files API for the video model, and draw the contact sheet the reviewer sees.
 *
 * Downloads follow the clips' rules (download.ts): the same URL policy (scheme, host allow-list,
 * each redirect hop checked, size cap), a 404/410 is an expiry only with evidence
 * (support/output-expiry.ts), the file appears only by a rename after ffprobe accepted it, and it
 * is named by the prediction that made it, so a redone keyframe never meets the old file.
 */
import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import type Replicate from 'replicate';
import { failure } from '../shared/failures';
import type {
  ContactSheetInput,
  ContactSheetResult,
  DownloadHeartbeat,
  DownloadKeyframeInput,
  KeyframeFile,
  KeyframeFileActivities,
  UploadKeyframeInput,
  UploadKeyframeResult,
} from '../shared/activity-io';
import { FfmpegMissingError, FfmpegStartError } from '../media/ffmpeg';
import { makeContactSheetImage, probeImage } from '../media/contact-sheet';
import { fromReplicateError } from '../providers/errors';
import { inside, runWorkDir, safeStem } from '../support/paths';
import { goneOutputFailure } from '../support/output-expiry';
import { guardedFetch } from '../support/guarded-fetch';
import {
  checkContentLength,
  DEFAULT_MAX_REDIRECTS,
  redactUrl,
  REPLICATE_DELIVERY_HOSTS,
} from '../support/download-policy';

export interface KeyframeFileDeps {
  workDir: string;
  replicate: Replicate;
  fetch?: typeof globalThis.fetch;
  /** Same meaning as DownloadDeps.allowedHosts (the worker passes the clips' list). */
  allowedHosts?: string[];
  maxRedirects?: number;
  /** A keyframe is a few MB at most; anything over this (default 50 MB) is refused. */
  maxBytes?: number;
}

const IMAGE_TYPES = /^(image\/(png|jpeg|webp)|application\/octet-stream)$/;

/** The keyframe's file: by index and prediction, with the output's own extension (png unless it says). */
export function keyframePath(workDir: string, input: DownloadKeyframeInput): string {
  if (!Number.isSafeInteger(input.keyframeIndex) || input.keyframeIndex < 1) {
    throw failure(
      'InvalidInput',
      `keyframe index ${String(input.keyframeIndex).slice(0, 40)} is not a whole number >= 1`,
    );
  }
  let ext = '.png';
  try {
    const e = extname(new URL(input.url).pathname).toLowerCase();
    if (['.png', '.jpg', '.jpeg', '.webp'].includes(e)) ext = e;
  } catch {
    // checked (and refused) by the download itself
  }
  const name = `keyframe-${input.keyframeIndex}-${safeStem(input.predictionId, 64)}${ext}`;
  return inside(runWorkDir(workDir, input.workflowId), name);
}

/** ffprobe missing or not startable: the worker's trouble, retried; the keyframe is not blamed. */
function toolTrouble(tag: string, err: unknown) {
  if (!(err instanceof FfmpegMissingError || err instanceof FfmpegStartError)) return undefined;
  return failure('MediaToolUnavailable', `${tag}: cannot check the image on this worker: ${err.message}`, {
    cause: err,
  });
}

export function createKeyframeFileActivities(deps: KeyframeFileDeps): KeyframeFileActivities {
  const doFetch = deps.fetch ?? globalThis.fetch;
  const maxBytes = deps.maxBytes ?? 50 * 1024 * 1024;
  const maxRedirects = deps.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const policy = {
    allowedHosts: deps.allowedHosts ?? [...REPLICATE_DELIVERY_HOSTS, 'localhost', '127.0.0.1', '[::1]'],
  };

  async function fetchChecked(tag: string, start: string, signal: AbortSignal): Promise<Response> {
    const { res } = await guardedFetch({ tag, url: start, policy, maxRedirects, fetch: doFetch, signal });
    return res;
  }

  return {
    async downloadKeyframe(input: DownloadKeyframeInput): Promise<KeyframeFile> {
      const ctx = Context.current();
      const tag = `keyframe ${input.keyframeIndex}/${input.keyframeCount}`;
      const dest = keyframePath(deps.workDir, input);
      const asFile = async (path: string): Promise<KeyframeFile> => {
        const info = await probeImage(path);
        return { path, sizeBytes: info.sizeBytes, width: info.width, height: info.height };
      };
      // Idempotent retry: a file at `dest` was renamed there only after it passed ffprobe.
      if (await stat(dest).catch(() => undefined)) {
        try {
          return await asFile(dest);
        } catch (err) {
          const trouble = toolTrouble(tag, err);
          if (trouble) throw trouble;
          await rm(dest, { force: true });
        }
      }
      const res = await fetchChecked(tag, input.url, ctx.cancellationSignal);
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel().catch(() => undefined);
        throw goneOutputFailure({
          tag,
          status: res.status,
          what: 'keyframe',
          outputSeenAt: input.outputSeenAt,
          downloadedBefore: input.downloadedBefore,
          heartbeat: ctx.info.heartbeatDetails,
          nowMs: Date.now(),
          expiredNote: 'outputs live one hour',
          notExpiredNote: ' old: not an expiry, retrying',
        });
      }
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => undefined);
        throw failure('DownloadFailed', `${tag}: download answered ${res.status} ${res.statusText}`);
      }
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const tooBig = checkContentLength(res.headers.get('content-length'), maxBytes);
      if (!IMAGE_TYPES.test(type) || tooBig) {
        await res.body.cancel().catch(() => undefined);
        const why =
          tooBig ??
          `content type "${type.slice(0, 100)}" is not an image (expected image/png, image/jpeg or image/webp)`;
        throw failure('DownloadRefused', `${tag}: download refused: ${why} (${redactUrl(input.url)})`);
      }
      // A few MB at most (capped above and below): read whole, no streaming needed.
      let bytes: Buffer;
      try {
        bytes = Buffer.from(await res.arrayBuffer());
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw err;
        throw failure('DownloadFailed', `${tag}: download broke off: ${(err as Error).message}`);
      }
      if (bytes.length > maxBytes) throw failure('DownloadRefused', `${tag}: download refused: over ${maxBytes} bytes`);
      // No sceneIndex: `vidflow watch` would show it on scene K.
      ctx.heartbeat({ receivedBytes: bytes.length } satisfies DownloadHeartbeat);
      await mkdir(dirname(dest), { recursive: true });
      const tmp = `${dest}.part-${ctx.info.attempt}${extname(dest)}`;
      let file: KeyframeFile;
      try {
        await writeFile(tmp, bytes);
        file = await asFile(tmp);
      } catch (err) {
        await rm(tmp, { force: true });
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC')
          throw failure('DiskFull', `${tag}: no space left for ${dirname(dest)}`);
        throw (
          toolTrouble(tag, err) ??
          failure('InvalidClip', `${tag}: the downloaded file is not an image: ${(err as Error).message}`)
        );
      }
      await rename(tmp, dest);
      ctx.log.info(`${tag}: keyframe downloaded (${file.width}x${file.height}, ${bytes.length} bytes)`);
      return { ...file, path: dest };
    },

    /**
     * Not keyed: an upload is free, so a retry after a crash may leave a second copy of the file
     * at Replicate (deleted with the account's files after their expiry), which costs nothing.
     */
    async uploadKeyframe(input: UploadKeyframeInput): Promise<UploadKeyframeResult> {
      const ctx = Context.current();
      const tag = `keyframe ${input.keyframeIndex}`;
      const expected = runWorkDir(deps.workDir, input.workflowId);
      // Only this run's own files go up: the path comes from history, which a person can edit.
      const path = inside(expected, basename(input.path));
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (err) {
        // Gone (another worker, a cleaned folder): retrying here cannot bring it back; the
        // workflow downloads it again (non-retryable, so it learns at once).
        throw failure(
          'InvalidInput',
          `${tag}: cannot read ${basename(path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
      const ext = extname(path).slice(1).toLowerCase();
      const type = ext === 'jpg' || ext === 'jpeg' ? 'image/jpeg' : ext === 'webp' ? 'image/webp' : 'image/png';
      const blob = new File([new Uint8Array(bytes)], basename(path), { type });
      let file: { id?: unknown; urls?: { get?: unknown } };
      try {
        file = await deps.replicate.files.create(
          blob,
          { vidflow_workflow: input.workflowId, vidflow_keyframe: String(input.keyframeIndex) },
          { signal: ctx.cancellationSignal },
        );
      } catch (err) {
        throw fromReplicateError(err) ?? err;
      }
      const url = file.urls?.get;
      if (typeof file.id !== 'string' || typeof url !== 'string') {
        throw failure('ProviderUnavailable', `${tag}: Replicate's file answer has no id or urls.get`);
      }
      ctx.log.info(`${tag}: uploaded as file ${file.id} (${bytes.length} bytes)`);
      return { url, fileId: file.id };
    },

    async makeContactSheet(input: ContactSheetInput): Promise<ContactSheetResult> {
      const ctx = Context.current();
      const dir = runWorkDir(deps.workDir, input.workflowId);
      const images = input.keyframes.map((p) => inside(dir, basename(p)));
      // Named by what is on it: a redone keyframe makes a new sheet; a retry finds the finished one.
      const digest = createHash('sha256').update(images.join('\n')).digest('hex').slice(0, 12);
      const out = inside(dir, `contact-sheet-${digest}.jpg`);
      if (await stat(out).catch(() => undefined)) return { path: out };
      for (const [i, image] of images.entries()) {
        if (!(await stat(image).catch(() => undefined))) {
          // Non-retryable: the workflow downloads the keyframe again rather than waiting on it here.
          throw failure('InvalidInput', `contact sheet: keyframe ${i + 1} (${basename(image)}) is not on this worker`);
        }
      }
      const tmp = `${out}.part-${ctx.info.attempt}.jpg`;
      try {
        await makeContactSheetImage({ images, output: tmp, signal: ctx.cancellationSignal });
        await rename(tmp, out);
      } catch (err) {
        await rm(tmp, { force: true });
        if (ctx.cancellationSignal.aborted) throw err;
        throw toolTrouble('contact sheet', err) ?? failure('InvalidInput', `contact sheet: ${(err as Error).message}`);
      }
      return { path: out };
    },
  };
}
