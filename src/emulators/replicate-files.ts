/**
 * The Replicate emulator's Files API (docs/provider-facts.md, "Replicate Files API"):
 * `POST /v1/files` (multipart: the file in `content`, JSON `metadata`), `GET /v1/files`,
 * `GET /v1/files/{id}`, `GET /v1/files/{id}/download` (authenticated, like the API), and
 * `DELETE /v1/files/{id}`. A file's `urls.get` is what a model takes as an input URL; the emulator
 * resolves it from memory when a prediction uses it (`bytesOf`), as Replicate does internally.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, randomId, sendJson } from './http';
import { MultipartError, parseMultipart } from './multipart';

interface StoredFile {
  id: string;
  name: string;
  contentType: string;
  data: Buffer;
  metadata: unknown;
  createdAt: number;
}

/** Replicate keeps uploaded files for a day (unless deleted). */
const FILE_TTL_MS = 24 * 3_600_000;

const problem = (status: number, title: string, detail: string) => new HttpError(status, { title, detail, status });

function readRaw(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class ReplicateFiles {
  private files = new Map<string, StoredFile>();
  /** Uploads accepted, for tests. */
  uploads = 0;

  constructor(private readonly apiBaseUrl: string) {}

  reset(): void {
    this.files.clear();
    this.uploads = 0;
  }

  /** What was uploaded, oldest first: for tests (the emulator's state). */
  list(): { id: string; name: string; size: number; sha256: string; metadata: unknown }[] {
    return [...this.files.values()].map((f) => ({
      id: f.id,
      name: f.name,
      size: f.data.length,
      sha256: createHash('sha256').update(f.data).digest('hex'),
      metadata: f.metadata,
    }));
  }

  /** The bytes behind a URL this store handed out (`urls.get` or its download), or undefined. */
  bytesOf(url: string): Buffer | undefined {
    const prefix = `${this.apiBaseUrl}/files/`;
    if (!url.startsWith(prefix)) return undefined;
    const id = url.slice(prefix.length).replace(/\/download$/, '');
    return this.files.get(id)?.data;
  }

  private view(f: StoredFile) {
    return {
      id: f.id,
      name: f.name,
      content_type: f.contentType,
      size: f.data.length,
      etag: createHash('md5').update(f.data).digest('hex'),
      checksums: {
        sha256: createHash('sha256').update(f.data).digest('hex'),
        md5: createHash('md5').update(f.data).digest('hex'),
      },
      metadata: f.metadata,
      created_at: new Date(f.createdAt).toISOString(),
      expires_at: new Date(f.createdAt + FILE_TTL_MS).toISOString(),
      urls: { get: `${this.apiBaseUrl}/files/${f.id}` },
    };
  }

  /** `parts` is the API path split, starting with `files`; auth has been checked by the caller. */
  async handle(req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> {
    const method = req.method ?? 'GET';
    const [, id, sub] = parts;
    if (!id && method === 'POST') return this.create(req, res);
    if (!id && method === 'GET') {
      return sendJson(res, 200, {
        next: null,
        previous: null,
        results: [...this.files.values()].map((f) => this.view(f)),
      });
    }
    const file = id ? this.files.get(id) : undefined;
    if (!file) throw problem(404, 'Not found', 'Not found.');
    if (!sub && method === 'GET') return sendJson(res, 200, this.view(file));
    if (!sub && method === 'DELETE') {
      this.files.delete(file.id);
      res.writeHead(204);
      res.end();
      return;
    }
    if (sub === 'download' && method === 'GET') {
      res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.data.length) });
      res.end(file.data);
      return;
    }
    throw problem(405, 'Method Not Allowed', `Method "${method}" not allowed.`);
  }

  private async create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data/i.test(type)) {
      throw problem(
        415,
        'Unsupported Media Type',
        'The request must be multipart/form-data with the file in "content".',
      );
    }
    let form;
    try {
      form = parseMultipart(await readRaw(req), type);
    } catch (err) {
      if (err instanceof MultipartError) throw problem(400, 'Bad request', err.message);
      throw err;
    }
    const content = form.files.content;
    if (!content) throw problem(422, 'Input validation failed', 'content: a file is required');
    if (content.data.length > 100 * 1024 * 1024)
      throw problem(413, 'Payload Too Large', 'Files are limited to 100 MB.');
    let metadata: unknown = {};
    const raw = form.files.metadata?.data.toString('utf8') ?? form.fields.metadata;
    if (raw) {
      try {
        metadata = JSON.parse(raw);
      } catch {
        throw problem(422, 'Input validation failed', 'metadata: must be a JSON object');
      }
    }
    const file: StoredFile = {
      id: randomId(),
      name: form.fields.filename ?? content.filename,
      contentType: form.fields.type ?? content.contentType,
      data: content.data,
      metadata,
      createdAt: Date.now(),
    };
    this.files.set(file.id, file);
    this.uploads++;
    sendJson(res, 201, this.view(file));
  }
}
