/**
 * Getting the finished video into the chat. The bot may run on another machine than the worker
 * that stitched it, so the file comes from the artifact store (S3 or the local folder), like
 * `vidflow result --download`. Over the Bot API's upload limit (50 MB) it is re-encoded at the
 * bitrate that fits — a smaller encode, not a link: a link into a private bucket would not open
 * for the user — and only when even that does not fit does the chat get the artifact's address.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputFile } from 'grammy';
import type { Api, InlineKeyboard } from 'grammy';
import type { Config } from '../config';
import { fileUri } from '../artifacts/local-store';
import { createArtifactStore } from '../artifacts/store';
import { probe, runFfmpeg } from '../media/ffmpeg';
import type { MediaInfo } from '../media/ffmpeg';
import { safeStem } from '../support/paths';
import type { Messages } from './i18n';

export interface VideoToSend {
  workflowId: string;
  version: number;
  path: string;
  artifactUri?: string | undefined;
}

export interface SendVideoOptions {
  api: Api;
  cfg: Config;
  tmpDir: string;
  maxUploadBytes: number;
  chatId: number;
  replyTo: number;
  t: Messages;
  keyboard?: InlineKeyboard;
  /** Extra caption lines (e.g. the review hint). */
  note?: string;
}

/** Sends the video; returns the message id. */
export async function sendVideo(v: VideoToSend, o: SendVideoOptions): Promise<number> {
  const uri = v.artifactUri ?? fileUri('localhost', resolve(v.path));
  await mkdir(o.tmpDir, { recursive: true });
  const local = join(o.tmpDir, `${safeStem(v.workflowId)}-${v.version}.mp4`);
  const small = join(o.tmpDir, `${safeStem(v.workflowId)}-${v.version}-small.mp4`);
  try {
    await rm(local, { force: true });
    await createArtifactStore(o.cfg).download(uri, local);
    let info = await probe(local);
    let file = local;
    const original = info.sizeBytes;
    if (info.sizeBytes > o.maxUploadBytes) {
      await shrink(local, small, info, o.maxUploadBytes);
      info = await probe(small);
      file = small;
    }
    const reply = { reply_parameters: { message_id: o.replyTo, allow_sending_without_reply: true } };
    if (info.sizeBytes > o.maxUploadBytes) {
      const msg = await o.api.sendMessage(o.chatId, o.t.tooLarge(info.sizeBytes, uri), reply);
      return msg.message_id;
    }
    const caption = [
      o.t.videoCaption({
        seconds: info.durationSeconds,
        width: info.width,
        height: info.height,
        bytes: info.sizeBytes,
      }),
      ...(file === small ? [o.t.videoShrunk(original)] : []),
      ...(o.note ? [o.note] : []),
    ].join('\n');
    const msg = await o.api.sendVideo(o.chatId, new InputFile(file, `${safeStem(v.workflowId)}.mp4`), {
      caption,
      duration: Math.round(info.durationSeconds),
      width: info.width,
      height: info.height,
      supports_streaming: true,
      ...(o.keyboard ? { reply_markup: o.keyboard } : {}),
      ...reply,
    });
    return msg.message_id;
  } finally {
    await rm(local, { force: true });
    await rm(small, { force: true });
  }
}

/**
 * Re-encodes to fit `maxBytes`: H.264 at the average bitrate that fills 90 % of it (the rest is
 * container overhead and rate-control slack), at most 1280 pixels wide, audio (if any) at 96 kb/s.
 */
async function shrink(input: string, output: string, info: MediaInfo, maxBytes: number): Promise<void> {
  const audioKbps = info.hasAudio ? 96 : 0;
  const totalKbps = Math.floor((maxBytes * 0.9 * 8) / 1000 / info.durationSeconds);
  const videoKbps = Math.max(100, totalKbps - audioKbps);
  await runFfmpeg({
    inputs: [input],
    outputOptions: [
      '-map',
      '0:v:0',
      ...(info.hasAudio ? ['-map', '0:a:0', '-c:a', 'aac', '-b:a', `${audioKbps}k`] : []),
      '-vf',
      "scale='min(1280,iw)':-2",
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-b:v',
      `${videoKbps}k`,
      '-maxrate',
      `${videoKbps}k`,
      '-bufsize',
      `${videoKbps * 2}k`,
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
    ],
    output,
    expectedDurationSeconds: info.durationSeconds,
  });
}
