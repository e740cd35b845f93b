/**
 * A tolerant multipart/form-data parser for the Telegram emulator. Node's own
 * (`new Response(body).formData()`) refuses what grammY sends — `content-disposition:form-data;
 * name="x";filename=video.mp4`, without spaces and with an unquoted file name — which the real Bot
 * API accepts, so the emulator must too.
 */

export interface UploadedFile {
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface Multipart {
  fields: Record<string, string>;
  files: Record<string, UploadedFile>;
}

export class MultipartError extends Error {}

/** The boundary parameter of a `multipart/form-data` content type, or undefined. */
export function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

/** `name="a b"` or `name=ab` from a header's parameters. */
function param(header: string, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i').exec(header);
  const value = m?.[1] ?? m?.[2];
  return value === undefined ? undefined : value.trim();
}

export function parseMultipart(body: Buffer, contentType: string): Multipart {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new MultipartError('multipart body without a boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const out: Multipart = { fields: {}, files: {} };
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new MultipartError('multipart body without its boundary');
  for (;;) {
    pos += delimiter.length;
    // `--` after a delimiter ends the body.
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const next = body.indexOf(delimiter, pos);
    if (next < 0) throw new MultipartError('multipart body is truncated');
    // The part ends with CRLF before the next delimiter.
    let end = next;
    if (body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
    const part = body.subarray(pos, end);
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) throw new MultipartError('multipart part without headers');
    const headers = part.subarray(0, split).toString('utf8').split('\r\n');
    const data = part.subarray(split + 4);
    let disposition = '';
    let type = 'application/octet-stream';
    for (const line of headers) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === 'content-disposition') disposition = value;
      if (key === 'content-type') type = value;
    }
    const name = param(`;${disposition.replace(/^form-data\s*/i, '')}`, 'name');
    if (name === undefined) throw new MultipartError('multipart part without a name');
    const filename = param(`;${disposition.replace(/^form-data\s*/i, '')}`, 'filename');
    if (filename !== undefined) out.files[name] = { filename, contentType: type, data: Buffer.from(data) };
    else out.fields[name] = data.toString('utf8');
    pos = next;
  }
  return out;
}
