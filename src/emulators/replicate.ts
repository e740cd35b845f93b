/**
 * Emulator of the Replicate HTTP API (api.replicate.com/v1) as vidflow uses it: create a
 * prediction on an official model, poll it, cancel it, list predictions, download the output
 * file. The lifecycle is a pure function of time since creation (no timers to leak), and every
 * failure vidflow must survive can be injected globally or one request at a time.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { makeTestClip, sceneColor } from '../media/testclip';
import { ReplicateFiles } from './replicate-files';
import { frameInputs, VIDEO_MODEL_SPECS } from './replicate-models';
import {
  IMAGE_MODEL_SPECS,
  imageOutput,
  imageSize,
  isImageModel,
  renderImage,
  renderTransitionClip,
} from './replicate-images';
import {
  HttpError,
  bearerToken,
  dropConnection,
  isRecord,
  parseDurationMs,
  randomId,
  readJson,
  sendJson,
  sleep,
  stableStringify,
} from './http';

export const REQUEST_FAULTS = [
  'ok',
  'unauthorized',
  'rateLimited',
  'serverError',
  'unavailable',
  'paymentRequired',
  'drop',
] as const;
/**
 * What an API request suffers. `drop` destroys the socket after the request took effect (a create
 * still creates the prediction: a client retry then pays twice).
 */
export type RequestFault = (typeof REQUEST_FAULTS)[number];

export const OUTCOMES = ['succeeded', 'failed', 'flagged', 'canceled', 'aborted'] as const;
/** How a new prediction ends if nobody cancels it: `flagged` is a failure by content moderation (E005). */
export type Outcome = (typeof OUTCOMES)[number];

export const DOWNLOAD_FAULTS = ['ok', 'broken', 'truncated', 'notFound', 'serverError', 'drop'] as const;
export type DownloadFault = (typeof DOWNLOAD_FAULTS)[number];

export const API_ROUTES = ['create', 'get', 'cancel', 'list'] as const;
export type ApiRoute = (typeof API_ROUTES)[number];

/** Replicate's webhook events (docs/topics/webhooks): anything else in `webhook_events_filter` is refused. */
const WEBHOOK_EVENTS = new Set(['start', 'output', 'logs', 'completed']);

export type PredictionStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled' | 'aborted';
const TERMINAL: ReadonlySet<PredictionStatus> = new Set(['succeeded', 'failed', 'canceled', 'aborted']);

export interface ReplicateInputField {
  type: 'string' | 'integer' | 'number' | 'boolean' | 'uri';
  required?: boolean;
  enum?: (string | number)[];
  maxLength?: number;
  default?: unknown;
}

export interface ReplicateModelSpec {
  /** The version id predictions report (and `POST /predictions {version}` accepts). */
  version: string;
  inputs: Record<string, ReplicateInputField>;
}

export type ClipAspect = '16:9' | '9:16' | '1:1';

export interface ReplicateEmulatorConfig {
  /** Known models by `owner/name`; configure() adds to these rather than replacing them. */
  models: Record<string, ReplicateModelSpec>;
  /** This token gets 401; any other non-empty token is accepted. */
  rejectToken: string | null;
  /** Delay before each API request is handled. */
  latencyMs: number;
  /** Time from creation to `processing`. */
  startingMs: number;
  /** Time from `processing` to the end. */
  processingMs: number;
  /** Output files (and input, output, logs) are removed this long after completion; Replicate: 1 h. */
  outputTtlMs: number;
  /** 0 = as fast as possible. */
  downloadBytesPerSecond: number;
  /** `Retry-After` on 429 and 503. */
  retryAfterSeconds: number;
  /** `error` of a prediction that ends `failed` (outcome `failed`). */
  failureMessage: string;
  /**
   * Size of a 16:9 clip; 9:16 clips are clipHeight x clipWidth and 1:1 clips clipHeight square.
   * Even numbers (libx264 with yuv420p needs them).
   */
  clipWidth: number;
  clipHeight: number;
  fps: number;
  /** Page size of `GET /predictions`. */
  listPageSize: number;
  /** Applied to every API request not covered by a one-shot queue. */
  fault: RequestFault;
  /** Applied to every new prediction not covered by `nextOutcome`. */
  outcome: Outcome;
  /** Applied to every file download not covered by `nextDownload`. */
  download: DownloadFault;
  /** One-shot queues: each request takes the head (use 'ok' to let one through). */
  nextCreate: RequestFault[];
  nextGet: RequestFault[];
  nextCancel: RequestFault[];
  nextList: RequestFault[];
  nextOutcome: Outcome[];
  nextDownload: DownloadFault[];
  /**
   * The create answer is held this long AFTER the prediction exists: a worker killed in between
   * leaves a paid prediction whose id it never learnt (the window adoption must close).
   */
  createAnswerDelayMs: number;
  /**
   * Replicate's clock minus the real one, applied to every timestamp it reports (`created_at`, …).
   * Negative = Replicate is behind, i.e. a worker clock that is ahead. The only signed option.
   */
  clockSkewMs: number;
  /**
   * An outage: until this instant (epoch ms, on the emulator's real clock) requests to
   * `outageRoutes` get `outageFault` (after the one-shot queues, before `fault`). 0 = none.
   */
  outageUntil: number;
  /**
   * The account's prediction-create limit per sliding minute, as Replicate enforces it (600): a
   * create past it gets 429 with `Retry-After`, counted as `create:rateLimited`. 0 = no limit.
   */
  createsPerMinute: number;
  outageRoutes: ApiRoute[];
  outageFault: RequestFault;
  /** Signs webhooks (Standard Webhooks, `whsec_` + base64 key); `GET /v1/webhooks/default/secret` returns it. */
  webhookSecret: string;
  /** Each `completed` event is delivered this many times more, with the same webhook-id (Replicate's duplicates). */
  webhookDuplicates: number;
  /** A delivery that fails (network, non-2xx) is retried this many times, `webhookRetryMs` apart. */
  webhookRetries: number;
  webhookRetryMs: number;
  /** One-shot: the next deliveries carry a wrong signature (`bad`) or are not sent at all (`lost`). */
  nextWebhook: ('ok' | 'bad' | 'lost')[];
}

export const KLING_MODEL = 'kwaivgi/kling-v2.5-turbo-pro';

/** Kling v2.5 Turbo Pro's real input schema (see docs/provider-facts.md, "Kling v2.5 Turbo Pro"). */
const KLING_SPEC: ReplicateModelSpec = {
  version: createHash('sha256').update(KLING_MODEL).digest('hex'),
  inputs: {
    prompt: { type: 'string', required: true, maxLength: 2500 },
    negative_prompt: { type: 'string', maxLength: 2500, default: '' },
    start_image: { type: 'uri' },
    end_image: { type: 'uri' },
    image: { type: 'uri' },
    aspect_ratio: { type: 'string', enum: ['16:9', '9:16', '1:1'], default: '16:9' },
    duration: { type: 'integer', enum: [5, 10], default: 5 },
    guidance_scale: { type: 'number' },
  },
};

export function defaultReplicateConfig(): ReplicateEmulatorConfig {
  return {
    models: { [KLING_MODEL]: KLING_SPEC, ...VIDEO_MODEL_SPECS, ...IMAGE_MODEL_SPECS },
    rejectToken: null,
    latencyMs: 0,
    startingMs: 500,
    processingMs: 3000,
    outputTtlMs: 3_600_000,
    downloadBytesPerSecond: 0,
    retryAfterSeconds: 1,
    failureMessage: 'Prediction failed: the model encountered an unexpected error (emulated). Please retry.',
    clipWidth: 640,
    clipHeight: 360,
    fps: 24,
    listPageSize: 100,
    fault: 'ok',
    outcome: 'succeeded',
    download: 'ok',
    nextCreate: [],
    nextGet: [],
    nextCancel: [],
    nextList: [],
    nextOutcome: [],
    nextDownload: [],
    createAnswerDelayMs: 0,
    clockSkewMs: 0,
    outageUntil: 0,
    createsPerMinute: 0,
    outageRoutes: ['get'],
    outageFault: 'unavailable',
    webhookSecret: `whsec_${Buffer.from('vidflow emulator webhook signing key').toString('base64')}`,
    webhookDuplicates: 0,
    webhookRetries: 3,
    webhookRetryMs: 1000,
    nextWebhook: [],
  };
}

/** A prediction as the API returns it. */
export interface PredictionJson {
  id: string;
  model: string;
  version: string;
  input: Record<string, unknown>;
  logs: string;
  /** A URL; a list of them for models that answer one (FLUX schnell). */
  output: string | string[] | null;
  data_removed: boolean;
  error: string | null;
  status: PredictionStatus;
  created_at: string;
  started_at?: string;
  completed_at?: string;
  deadline?: string;
  urls: { get: string; cancel: string; web: string };
  metrics?: { predict_time?: number; total_time?: number };
  source: 'api';
  webhook?: string;
  webhook_events_filter?: string[];
}

export interface ReplicateEmulatorState {
  /** API requests by route, including refused ones. */
  requests: { create: number; get: number; cancel: number; list: number; other: number };
  /** Predictions that exist (a create dropped by `drop` counts: it was created). */
  predictionsCreated: number;
  /** Predictions per identical input (key: the input as JSON with sorted keys). */
  createdByInput: Record<string, number>;
  gets: number;
  cancels: number;
  /** File requests (GET and HEAD), and the ones whose body was sent in full. */
  downloads: number;
  downloadsCompleted: number;
  bytesServed: number;
  /** Predictions whose output was rendered while they processed (renderWhenProcessing), by id. */
  renderedAhead: string[];
  unauthorized: number;
  /** Every injected fault, as `route:fault` (e.g. `create:rateLimited`, `download:truncated`). */
  faultsServed: string[];
  /** Colour of each distinct prompt, in order of first appearance (scene 1 = red, 2 = green, …). */
  promptScenes: Record<string, { scene: number; color: string }>;
  /** Files uploaded through the Files API (replicate-files.ts). */
  filesUploaded: number;
  /** The files stored now (deleted ones gone), with their sha256, for tests. */
  files: ReturnType<ReplicateFiles['list']>;
  /** All predictions, oldest first, as GET would return them now (model and input included). */
  predictions: PredictionJson[];
  /** Webhook deliveries (POSTs, duplicates and retries included), those answered 2xx, and the rest. */
  webhooks: { sent: number; delivered: number; failed: number; badSignatures: number; lost: number };
}

interface PredictionRecord {
  id: string;
  model: string;
  version: string;
  input: Record<string, unknown>;
  webhook?: string;
  webhookEventsFilter?: string[];
  createdAt: number;
  startAt: number;
  endAt: number;
  outcome: Outcome;
  deadlineAt?: number;
  canceledAt?: number;
  /** The `completed` webhook has been sent (or is being sent). */
  webhookDone?: boolean;
  scene: number;
  clip: { seconds: number; width: number; height: number };
}

interface InvalidField {
  type: string;
  field: string;
  description: string;
}

const problem = (status: number, title: string, detail: string, extra: Record<string, unknown> = {}) =>
  new HttpError(status, { title, detail, status, ...extra });

const UNAUTHENTICATED = () => problem(401, 'Unauthenticated', 'You did not pass a valid authentication token');

function formatEnum(values: (string | number)[]): string {
  return values.map((v) => (typeof v === 'string' ? `"${v}"` : String(v))).join(', ');
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Replicate validates input against the model's schema and lists every problem (gojsonschema style). */
function validateInput(spec: ReplicateModelSpec, input: Record<string, unknown>): InvalidField[] {
  const errors: InvalidField[] = [];
  for (const [name, field] of Object.entries(spec.inputs)) {
    if (field.required && input[name] === undefined) {
      errors.push({ type: 'required', field: 'input', description: `${name} is required` });
    }
  }
  for (const [name, value] of Object.entries(input)) {
    const field = spec.inputs[name];
    const path = `input.${name}`;
    if (!field) {
      errors.push({
        type: 'additional_property_not_allowed',
        field: 'input',
        description: `Additional property ${name} is not allowed`,
      });
      continue;
    }
    const given = typeName(value);
    const expected = field.type === 'uri' ? 'string' : field.type;
    const typeOk =
      expected === given ||
      (expected === 'number' && given === 'integer') ||
      (expected === 'string' && given === 'string');
    if (!typeOk) {
      errors.push({
        type: 'invalid_type',
        field: path,
        description: `Invalid type. Expected: ${expected}, given: ${given}`,
      });
      continue;
    }
    if (field.type === 'uri' && typeof value === 'string' && !/^(https?|data):/i.test(value)) {
      errors.push({ type: 'format', field: path, description: `Does not match format 'uri'` });
    }
    if (field.enum && !field.enum.includes(value as string | number)) {
      errors.push({
        type: 'enum',
        field: path,
        description: `${path} must be one of the following: ${formatEnum(field.enum)}`,
      });
    }
    if (field.maxLength !== undefined && typeof value === 'string' && [...value].length > field.maxLength) {
      errors.push({
        type: 'string_lte',
        field: path,
        description: `String length must be less than or equal to ${field.maxLength}`,
      });
    }
  }
  return errors;
}

function parseWait(prefer: string | undefined): number | undefined {
  if (!prefer) return undefined;
  const m = /(?:^|[,;\s])wait(?:=(\d+))?(?:$|[,;\s])/i.exec(prefer);
  if (!m) return undefined;
  const seconds = m[1] ? Number(m[1]) : 60;
  return Math.min(60, Math.max(1, seconds));
}

function clipSize(aspect: ClipAspect, width: number, height: number): { width: number; height: number } {
  const even = (n: number) => Math.max(16, 2 * Math.round(n / 2));
  const long = even(Math.max(width, height));
  const short = even(Math.min(width, height));
  if (aspect === '9:16') return { width: short, height: long };
  if (aspect === '1:1') return { width: short, height: short };
  return { width: long, height: short };
}

const iso = (ms: number) => new Date(ms).toISOString();

export interface ReplicateEmulatorOptions {
  /** Absolute base URL of the API, e.g. `http://127.0.0.1:P/replicate/v1`. */
  apiBaseUrl: string;
  /** Absolute base URL of the file route, e.g. `http://127.0.0.1:P/replicate/files`. */
  filesBaseUrl: string;
  /** Absolute base URL of the prediction pages (`urls.web`), e.g. `http://127.0.0.1:P/replicate/p`. */
  webBaseUrl: string;
  /** Folder for generated clips (owned by the caller, removed on close). */
  clipDir: string;
}

export class ReplicateEmulator {
  config: ReplicateEmulatorConfig = defaultReplicateConfig();
  private predictions = new Map<string, PredictionRecord>();
  private order: string[] = [];
  private promptScenes = new Map<string, number>();
  private clips = new Map<string, Promise<string>>();
  /**
   * The bytes (and ETag) of the files served most recently, by path. A CDN answers from memory;
   * this one read and hashed the file again for each download. (The seconds a download waited in
   * bench:load were the clip's render, not this: see renderWhenProcessing.)
   */
  private served = new Map<string, Promise<{ bytes: Buffer; etag: string }>>();
  private counters = this.emptyCounters();
  /** Times of the creates let through in the last minute, for `createsPerMinute`. */
  private createsAt: number[] = [];
  private closed = false;
  /** Renders due when a prediction starts processing (renderWhenProcessing). */
  private readonly renders = new Set<NodeJS.Timeout>();
  /** Sends each finished prediction's `completed` webhook, like Replicate does (one sweep every 100 ms). */
  private readonly webhookSweep = setInterval(() => this.sweepWebhooks(), 100).unref();

  /** The Files API (storyboard keyframes go up through it). */
  readonly files: ReplicateFiles;

  constructor(private readonly opts: ReplicateEmulatorOptions) {
    this.files = new ReplicateFiles(opts.apiBaseUrl);
  }

  private emptyCounters(): Omit<ReplicateEmulatorState, 'predictions' | 'promptScenes' | 'filesUploaded' | 'files'> {
    return {
      webhooks: { sent: 0, delivered: 0, failed: 0, badSignatures: 0, lost: 0 },
      requests: { create: 0, get: 0, cancel: 0, list: 0, other: 0 },
      predictionsCreated: 0,
      createdByInput: {},
      gets: 0,
      cancels: 0,
      downloads: 0,
      downloadsCompleted: 0,
      bytesServed: 0,
      renderedAhead: [],
      unauthorized: 0,
      faultsServed: [],
    };
  }

  /** Forgets predictions and counters and restores the default config; generated clips stay cached. */
  reset(): void {
    this.config = defaultReplicateConfig();
    this.predictions.clear();
    this.order = [];
    this.promptScenes.clear();
    this.counters = this.emptyCounters();
    this.files.reset();
    this.createsAt = [];
    this.cancelRenders();
  }

  /**
   * Replicate's output exists when the prediction succeeds: the download that follows the webhook
   * starts at once. So the clip is rendered while the prediction is processing, not when it is
   * first downloaded: rendered then, each download waited for its own ffmpeg render (3.1 s p50 in
   * `npm run bench:load` with 30 runs, every run's prompts distinct), a cost of the emulator that the
   * bench counted as the worker's.
   */
  private renderWhenProcessing(record: PredictionRecord): void {
    if (record.outcome !== 'succeeded') return;
    const timer = setTimeout(() => {
      this.renders.delete(timer);
      if (this.closed || record.canceledAt !== undefined) return;
      this.counters.renderedAhead.push(record.id);
      void this.clipFor(record).catch(() => undefined);
    }, this.config.startingMs);
    timer.unref();
    this.renders.add(timer);
  }

  private cancelRenders(): void {
    for (const timer of this.renders) clearTimeout(timer);
    this.renders.clear();
  }

  /** Stops waits and downloads in progress and lets running ffmpeg renders finish, so the clip folder can go. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelRenders();
    clearInterval(this.webhookSweep);
    await Promise.allSettled([...this.clips.values()]);
  }

  get state(): ReplicateEmulatorState {
    const now = Date.now();
    const promptScenes: ReplicateEmulatorState['promptScenes'] = {};
    for (const [prompt, scene] of this.promptScenes) promptScenes[prompt] = { scene, color: sceneColor(scene).name };
    return {
      ...structuredClone(this.counters),
      promptScenes,
      filesUploaded: this.files.uploads,
      files: this.files.list(),
      predictions: this.order.map((id) => this.view(this.predictions.get(id)!, now)),
    };
  }

  // ---- routing ------------------------------------------------------------------------------

  /** API requests; `path` is relative to the API base, e.g. `/predictions/abc`. */
  async handleApi(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    try {
      await this.routeApi(req, res, path, query);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      sendJson(res, err.status, err.body, err.headers, 'application/problem+json');
    }
  }

  private async routeApi(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) {
    const method = req.method ?? 'GET';
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const [a, b, c, d] = parts;

    if (a === 'models' && b && c && d === 'predictions' && parts.length === 4) {
      if (method !== 'POST') throw problem(405, 'Method Not Allowed', `Method "${method}" not allowed.`);
      return this.create(req, res, `${b}/${c}`);
    }
    if (a === 'predictions' && parts.length === 1) {
      if (method === 'POST') return this.create(req, res, undefined);
      if (method === 'GET') return this.list(req, res, query);
    }
    if (a === 'predictions' && b && parts.length === 2 && method === 'GET') return this.get(req, res, b);
    if (a === 'predictions' && b && c === 'cancel' && parts.length === 3 && method === 'POST') {
      return this.cancel(req, res, b);
    }
    this.counters.requests.other++;
    await this.preamble(req, 'other', []);
    if (a === 'files') return this.files.handle(req, res, parts);
    if (a === 'models' && b && c && parts.length === 3 && method === 'GET') {
      const spec = this.config.models[`${b}/${c}`];
      if (!spec) throw problem(404, 'Not found', `The requested model ${b}/${c} was not found.`);
      return sendJson(res, 200, {
        url: `https://replicate.com/${b}/${c}`,
        owner: b,
        name: c,
        description: 'Model served by the vidflow Replicate emulator',
        visibility: 'public',
        run_count: this.order.length,
        latest_version: { id: spec.version, created_at: iso(0) },
      });
    }
    if (a === 'webhooks' && b === 'default' && c === 'secret' && parts.length === 3 && method === 'GET') {
      return sendJson(res, 200, { key: this.config.webhookSecret });
    }
    if (a === 'account' && parts.length === 1 && method === 'GET') {
      return sendJson(res, 200, { type: 'user', username: 'emulator', name: 'vidflow emulator', github_url: null });
    }
    throw problem(404, 'Not found', 'Not found.');
  }

  /**
   * Latency, fault selection and auth, common to every API request. Returns the fault to apply
   * after the request took effect (`drop`), or 'ok'.
   */
  private async preamble(req: IncomingMessage, route: string, queue: RequestFault[]): Promise<RequestFault> {
    await sleep(this.config.latencyMs);
    const inOutage = Date.now() < this.config.outageUntil && (this.config.outageRoutes as string[]).includes(route);
    let fault = queue.shift() ?? (inOutage ? this.config.outageFault : this.config.fault);
    if (route === 'create' && fault === 'ok' && this.config.createsPerMinute > 0) {
      const now = Date.now();
      while (this.createsAt.length > 0 && this.createsAt[0]! <= now - 60_000) this.createsAt.shift();
      if (this.createsAt.length >= this.config.createsPerMinute) fault = 'rateLimited';
      else this.createsAt.push(now);
    }
    if (fault !== 'ok') this.counters.faultsServed.push(`${route}:${fault}`);
    const token = bearerToken(req);
    if (!token || fault === 'unauthorized' || token === this.config.rejectToken) {
      this.counters.unauthorized++;
      throw UNAUTHENTICATED();
    }
    const retryAfter = String(this.config.retryAfterSeconds);
    switch (fault) {
      case 'rateLimited':
        throw problem(
          429,
          'Request was throttled',
          `Request was throttled. Expected available in ${this.config.retryAfterSeconds} second${this.config.retryAfterSeconds === 1 ? '' : 's'}.`,
        ).withHeaders({ 'retry-after': retryAfter });
      case 'serverError':
        throw problem(500, 'Internal Server Error', 'An unexpected error occurred. Please try again.');
      case 'unavailable':
        throw problem(
          503,
          'Service Unavailable',
          'The service is temporarily unavailable. Please try again.',
        ).withHeaders({
          'retry-after': retryAfter,
        });
      case 'paymentRequired':
        throw problem(
          402,
          'Insufficient credit',
          'You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing to purchase credit. Once you purchase credit, please wait a few minutes before trying again.',
        );
      default:
        return fault;
    }
  }

  // ---- endpoints ----------------------------------------------------------------------------

  private async create(req: IncomingMessage, res: ServerResponse, modelFromPath: string | undefined): Promise<void> {
    this.counters.requests.create++;
    const body = await readJson(req, (m) => problem(400, 'Bad request', m));
    const fault = await this.preamble(req, 'create', this.config.nextCreate);
    if (!isRecord(body)) throw problem(400, 'Bad request', 'The request body must be a JSON object.');

    let model = modelFromPath;
    if (!model) {
      const version = typeof body.version === 'string' ? body.version : '';
      model = Object.entries(this.config.models).find(
        ([name, spec]) => version === spec.version || version === `${name}:${spec.version}`,
      )?.[0];
      if (!model) {
        throw problem(
          422,
          'Invalid version or not permitted',
          "The specified version does not exist (or perhaps you don't have permission to use it?)",
        );
      }
    }
    const spec = this.config.models[model];
    if (!spec) throw problem(404, 'Not found', `The requested model ${model} was not found.`);

    if (!isRecord(body.input)) {
      throw problem(422, 'Input validation failed', '- (root): input is required\n', {
        invalid_fields: [{ type: 'required', field: '(root)', description: 'input is required' }],
      });
    }
    const input = body.input;
    const invalid = validateInput(spec, input);
    if (invalid.length > 0) {
      throw problem(422, 'Input validation failed', invalid.map((f) => `- ${f.field}: ${f.description}\n`).join(''), {
        invalid_fields: invalid,
      });
    }
    if (body.webhook !== undefined && (typeof body.webhook !== 'string' || !/^https?:\/\//.test(body.webhook))) {
      throw problem(422, 'Invalid webhook', 'The webhook must be a valid HTTPS URL.');
    }
    const filter = body.webhook_events_filter;
    if (
      filter !== undefined &&
      (!Array.isArray(filter) || filter.some((e) => typeof e !== 'string' || !WEBHOOK_EVENTS.has(e)))
    ) {
      throw problem(
        422,
        'Invalid webhook_events_filter',
        `webhook_events_filter must be a list of: ${[...WEBHOOK_EVENTS].join(', ')}`,
      );
    }

    let deadlineMs: number | undefined;
    const cancelAfter = req.headers['cancel-after'];
    if (typeof cancelAfter === 'string') {
      deadlineMs = parseDurationMs(cancelAfter);
      if (deadlineMs === undefined) {
        throw problem(
          400,
          'Invalid Cancel-After header',
          `Could not parse "${cancelAfter}" as a duration like 30s, 5m or 1h30m.`,
        );
      }
    }

    const record = this.newPrediction(model, spec, input, body, deadlineMs);
    const wait = parseWait(typeof req.headers.prefer === 'string' ? req.headers.prefer : undefined);
    if (fault === 'drop') return dropConnection(req, res);
    if (this.config.createAnswerDelayMs > 0) await this.hold(this.config.createAnswerDelayMs, res);
    if (wait !== undefined) await this.waitForTerminal(record, Date.now() + wait * 1000, res);
    if (!res.destroyed) sendJson(res, 201, this.view(record, Date.now()));
  }

  private newPrediction(
    model: string,
    spec: ReplicateModelSpec,
    input: Record<string, unknown>,
    body: Record<string, unknown>,
    deadlineMs: number | undefined,
  ): PredictionRecord {
    const now = Date.now();
    const prompt = typeof input.prompt === 'string' ? input.prompt : '';
    let scene = this.promptScenes.get(prompt);
    if (scene === undefined) {
      scene = this.promptScenes.size + 1;
      this.promptScenes.set(prompt, scene);
    }
    const aspect = (input.aspect_ratio ?? spec.inputs.aspect_ratio?.default ?? '16:9') as ClipAspect;
    const size = isImageModel(model)
      ? imageSize(aspect === ('match_input_image' as ClipAspect) ? '16:9' : aspect, this.config.clipWidth)
      : clipSize(aspect, this.config.clipWidth, this.config.clipHeight);
    const seconds = Number(input.duration ?? input.seconds ?? spec.inputs.duration?.default ?? 5);
    const startAt = now + this.config.startingMs;
    const record: PredictionRecord = {
      id: randomId(),
      model,
      version: spec.version,
      input: structuredClone(input),
      createdAt: now,
      startAt,
      endAt: startAt + this.config.processingMs,
      outcome: this.config.nextOutcome.shift() ?? this.config.outcome,
      scene,
      clip: { seconds, width: size.width, height: size.height },
    };
    if (typeof body.webhook === 'string') record.webhook = body.webhook;
    if (Array.isArray(body.webhook_events_filter)) {
      record.webhookEventsFilter = body.webhook_events_filter.filter((e): e is string => typeof e === 'string');
    }
    if (deadlineMs !== undefined) record.deadlineAt = now + deadlineMs;
    if (record.outcome !== 'succeeded') this.counters.faultsServed.push(`outcome:${record.outcome}`);
    this.predictions.set(record.id, record);
    this.order.push(record.id);
    this.counters.predictionsCreated++;
    this.renderWhenProcessing(record);
    const key = stableStringify(input);
    this.counters.createdByInput[key] = (this.counters.createdByInput[key] ?? 0) + 1;
    return record;
  }

  private async get(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    this.counters.requests.get++;
    this.counters.gets++;
    const fault = await this.preamble(req, 'get', this.config.nextGet);
    const record = this.find(id);
    if (fault === 'drop') return dropConnection(req, res);
    const view = this.view(record, Date.now());
    // Warm the clip cache so the download that usually follows starts at once.
    if (view.status === 'succeeded' && !view.data_removed) void this.clipFor(record).catch(() => undefined);
    sendJson(res, 200, view);
  }

  private async cancel(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    this.counters.requests.cancel++;
    this.counters.cancels++;
    const fault = await this.preamble(req, 'cancel', this.config.nextCancel);
    const record = this.find(id);
    const now = Date.now();
    if (!TERMINAL.has(this.view(record, now).status)) record.canceledAt = now;
    if (fault === 'drop') return dropConnection(req, res);
    sendJson(res, 200, this.view(record, now));
  }

  private async list(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    this.counters.requests.list++;
    const fault = await this.preamble(req, 'list', this.config.nextList);
    if (fault === 'drop') return dropConnection(req, res);
    const now = Date.now();
    const newestFirst = [...this.order].reverse();
    const offset = Math.max(0, Number(Buffer.from(query.get('cursor') ?? '', 'base64url').toString()) || 0);
    const size = Math.max(1, this.config.listPageSize);
    const page = newestFirst.slice(offset, offset + size);
    const link = (o: number) =>
      `${this.opts.apiBaseUrl}/predictions?cursor=${Buffer.from(String(o)).toString('base64url')}`;
    sendJson(res, 200, {
      previous: offset > 0 ? link(Math.max(0, offset - size)) : null,
      next: offset + size < newestFirst.length ? link(offset + size) : null,
      results: page.map((id) => this.view(this.predictions.get(id)!, now)),
    });
  }

  private find(id: string): PredictionRecord {
    const record = this.predictions.get(id);
    if (!record) throw problem(404, 'Not found', 'Not found.');
    return record;
  }

  /** Waits `ms`, or less if the client went away or the emulator closes. */
  private async hold(ms: number, res: ServerResponse): Promise<void> {
    const until = Date.now() + ms;
    while (!this.closed && !res.destroyed && Date.now() < until) await sleep(Math.min(20, until - Date.now()));
  }

  private async waitForTerminal(record: PredictionRecord, until: number, res: ServerResponse): Promise<void> {
    while (!this.closed && !res.destroyed && Date.now() < until) {
      if (TERMINAL.has(this.view(record, Date.now()).status)) return;
      await sleep(Math.min(20, until - Date.now()));
    }
  }

  // ---- webhooks -----------------------------------------------------------------------------

  private sweepWebhooks(): void {
    if (this.closed) return;
    const now = Date.now();
    for (const id of this.order) {
      const p = this.predictions.get(id)!;
      if (p.webhookDone || p.webhook === undefined) continue;
      if (p.webhookEventsFilter && !p.webhookEventsFilter.includes('completed')) continue;
      const view = this.view(p, now);
      if (!TERMINAL.has(view.status)) continue;
      p.webhookDone = true;
      // A host under .invalid never resolves (the adoption-only default): nothing to deliver.
      if (new URL(p.webhook).hostname.endsWith('.invalid')) continue;
      void this.deliver(p.webhook, view);
    }
  }

  /** Standard Webhooks: HMAC-SHA256 over `id.timestamp.body` with the secret's key; retried, maybe duplicated. */
  private async deliver(url: string, view: PredictionJson): Promise<void> {
    const mode = this.config.nextWebhook.shift() ?? 'ok';
    if (mode === 'lost') {
      this.counters.webhooks.lost++;
      return;
    }
    const body = JSON.stringify(view);
    const msgId = `msg_${randomId()}`;
    const key = Buffer.from(this.config.webhookSecret.replace(/^whsec_/, ''), 'base64');
    const send = async (): Promise<boolean> => {
      const ts = String(Math.floor(Date.now() / 1000));
      let sig = createHmac('sha256', key).update(`${msgId}.${ts}.${body}`).digest('base64');
      if (mode === 'bad') {
        sig = createHmac('sha256', 'not the secret').update(`${msgId}.${ts}.${body}`).digest('base64');
        this.counters.webhooks.badSignatures++;
      }
      this.counters.webhooks.sent++;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': msgId,
            'webhook-timestamp': ts,
            'webhook-signature': `v1,${sig}`,
          },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) this.counters.webhooks.delivered++;
        else this.counters.webhooks.failed++;
        return res.ok;
      } catch {
        this.counters.webhooks.failed++;
        return false;
      }
    };
    for (let attempt = 0; attempt <= this.config.webhookRetries && !this.closed; attempt++) {
      if (await send()) break;
      if (mode === 'bad') return; // a wrong signature stays wrong: retrying it tests nothing more
      await sleep(this.config.webhookRetryMs);
    }
    for (let d = 0; d < this.config.webhookDuplicates && !this.closed; d++) await send();
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** The prediction at time `now`: everything follows from its timestamps, so no timers run. */
  view(p: PredictionRecord, now: number): PredictionJson {
    type End = { at: number; status: PredictionStatus; error?: string };
    const ends: End[] = [];
    switch (p.outcome) {
      case 'succeeded':
        ends.push({ at: p.endAt, status: 'succeeded' });
        break;
      case 'failed':
        ends.push({ at: p.endAt, status: 'failed', error: this.config.failureMessage });
        break;
      case 'flagged':
        ends.push({
          at: p.endAt,
          status: 'failed',
          error: 'The input or output was flagged as sensitive. Please try again with different inputs. (E005)',
        });
        break;
      case 'canceled':
        // Someone cancels it from the web UI halfway through.
        ends.push({ at: p.startAt + Math.floor((p.endAt - p.startAt) / 2), status: 'canceled' });
        break;
      case 'aborted':
        ends.push({ at: p.startAt, status: 'aborted' });
        break;
    }
    if (p.deadlineAt !== undefined) {
      ends.push({ at: p.deadlineAt, status: p.deadlineAt < p.startAt ? 'aborted' : 'canceled' });
    }
    if (p.canceledAt !== undefined) ends.push({ at: p.canceledAt, status: 'canceled' });
    const end = ends.reduce((x, y) => (y.at < x.at ? y : x));
    const done = end.at <= now;
    const status: PredictionStatus = done ? end.status : now >= p.startAt ? 'processing' : 'starting';
    const startedAt = p.startAt <= Math.min(now, end.at) && status !== 'aborted' ? p.startAt : undefined;
    const removed = done && now >= end.at + this.config.outputTtlMs;

    const at = (ms: number) => iso(ms + this.config.clockSkewMs);
    const json: PredictionJson = {
      id: p.id,
      model: p.model,
      version: p.version,
      input: removed ? {} : structuredClone(p.input),
      logs: removed ? '' : this.logs(p, startedAt, done ? end : undefined, now),
      output: status === 'succeeded' && !removed ? this.outputOf(p) : null,
      data_removed: removed,
      error: done ? (end.error ?? null) : null,
      status,
      created_at: at(p.createdAt),
      urls: {
        get: `${this.opts.apiBaseUrl}/predictions/${p.id}`,
        cancel: `${this.opts.apiBaseUrl}/predictions/${p.id}/cancel`,
        web: `${this.opts.webBaseUrl}/${p.id}`,
      },
      source: 'api',
    };
    if (startedAt !== undefined) json.started_at = at(startedAt);
    if (done) json.completed_at = at(end.at);
    if (p.deadlineAt !== undefined) json.deadline = at(p.deadlineAt);
    if (done) {
      json.metrics = { total_time: (end.at - p.createdAt) / 1000 };
      if (startedAt !== undefined) json.metrics.predict_time = (end.at - startedAt) / 1000;
    }
    if (p.webhook !== undefined) json.webhook = p.webhook;
    if (p.webhookEventsFilter !== undefined) json.webhook_events_filter = p.webhookEventsFilter;
    return json;
  }

  /** tqdm-style progress lines, the format `parseProgressFromLogs` understands. */
  private logs(
    p: PredictionRecord,
    startedAt: number | undefined,
    end: { at: number; status: string } | undefined,
    now: number,
  ) {
    if (startedAt === undefined) return '';
    const steps = 50;
    const span = Math.max(1, p.endAt - p.startAt);
    const upTo = Math.min(end?.at ?? now, now);
    const fraction = Math.min(1, Math.max(0, (upTo - startedAt) / span));
    const reached = end?.status === 'succeeded' ? steps : Math.floor(fraction * steps);
    const lines = [`Using seed: ${parseInt(p.id.slice(0, 6), 36) % 100000}`, `Generating ${p.clip.seconds}s video`];
    for (let step = 0; step <= reached; step += 5) {
      const pct = Math.round((step / steps) * 100);
      const bar = '█'.repeat(Math.round(pct / 10)).padEnd(10, ' ');
      const elapsed = ((step / steps) * span) / 1000;
      lines.push(
        `${String(pct).padStart(3)}%|${bar}| ${step}/${steps} [00:${elapsed.toFixed(0).padStart(2, '0')}<00:00, ${(steps / (span / 1000)).toFixed(2)}it/s]`,
      );
    }
    if (end?.status === 'succeeded') lines.push(`Video generated in ${((end.at - startedAt) / 1000).toFixed(1)}s`);
    return lines.join('\n') + '\n';
  }

  // ---- files ---------------------------------------------------------------------------------

  /** `GET|HEAD /{id}/output.mp4` under the files base; like replicate.delivery, no auth. */
  async handleFile(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const notFound = () => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
    };
    const m = /^\/([a-z0-9]+)\/output\.(?:mp4|png)$/.exec(path);
    if (!m?.[1] || (req.method !== 'GET' && req.method !== 'HEAD')) return notFound();
    this.counters.downloads++;
    const record = this.predictions.get(m[1]);
    if (!record) return notFound();
    const view = this.view(record, Date.now());
    if (view.status !== 'succeeded' || view.data_removed) return notFound();

    const fault = this.config.nextDownload.shift() ?? this.config.download;
    if (fault !== 'ok') this.counters.faultsServed.push(`download:${fault}`);
    switch (fault) {
      case 'notFound':
        return notFound();
      case 'serverError':
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('Service Unavailable');
        return;
      case 'drop':
        return dropConnection(req, res);
      default:
        break;
    }
    let bytes: Buffer;
    let etag: string;
    try {
      if (fault === 'broken') {
        bytes = Buffer.from('<html><body>This is not an MP4 file.</body></html>\n'.repeat(64));
        etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
      } else {
        ({ bytes, etag } = await this.fileBytes(await this.clipFor(record)));
      }
    } catch (err) {
      // An input image that cannot be fetched (start_image, end_image): the render failed.
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`emulator: cannot render ${record.id}: ${(err as Error).message}`);
      return;
    }
    res.writeHead(200, {
      'content-type': isImageModel(record.model) ? 'image/png' : 'video/mp4',
      'content-length': String(bytes.length),
      'cache-control': 'public, max-age=3600',
      etag,
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // Truncated: the promised Content-Length is never reached, like a connection reset mid-body.
    const limit = fault === 'truncated' ? Math.floor(bytes.length / 2) : bytes.length;
    const sent = await this.stream(res, bytes.subarray(0, limit));
    this.counters.bytesServed += sent;
    if (fault === 'truncated') {
      // Destroying the socket discards unflushed writes; flush first so the client does get half a body.
      await new Promise<void>((resolve) => (res.destroyed ? resolve() : res.write('', () => resolve())));
      dropConnection(req, res);
      return;
    }
    if (sent === bytes.length) this.counters.downloadsCompleted++;
    res.end();
  }

  /** `GET /{id}` under the web base: a bare page, so `urls.web` links open something in a browser. */
  handleWeb(res: ServerResponse, path: string): void {
    const record = this.predictions.get(path.replace(/^\//, ''));
    if (!record) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
      return;
    }
    const json = JSON.stringify(this.view(record, Date.now()), null, 2).replace(
      /[<>&]/g,
      (ch) => `&#${ch.charCodeAt(0)};`,
    );
    const html = `<!doctype html><title>Prediction ${record.id}</title><h1>Prediction ${record.id}</h1><pre>${json}</pre>`;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(Buffer.byteLength(html)),
    });
    res.end(html);
  }

  private async stream(res: ServerResponse, bytes: Buffer): Promise<number> {
    const bps = this.config.downloadBytesPerSecond;
    // 20 slices a second when throttled: smooth enough for progress bars, cheap enough for tests.
    const chunkSize = bps > 0 ? Math.max(1, Math.floor(bps / 20)) : 64 * 1024;
    let sent = 0;
    while (sent < bytes.length && !res.destroyed && !this.closed) {
      const chunk = bytes.subarray(sent, sent + chunkSize);
      const started = Date.now();
      if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
      sent += chunk.length;
      if (bps > 0 && sent < bytes.length) await sleep((chunk.length / bps) * 1000 - (Date.now() - started));
    }
    return sent;
  }

  private outputOf(p: PredictionRecord): string | string[] {
    if (!isImageModel(p.model)) return `${this.opts.filesBaseUrl}/${p.id}/output.mp4`;
    return imageOutput(p.model, `${this.opts.filesBaseUrl}/${p.id}/output.png`);
  }

  /**
   * An input image's file: an uploaded file or an image prediction's output of this emulator,
   * resolved from memory; any other URL fetched (as Replicate fetches input URLs).
   */
  private async inputImage(url: string): Promise<string> {
    const own = /\/([a-z0-9]+)\/output\.png$/.exec(url);
    const record = url.startsWith(this.opts.filesBaseUrl) && own?.[1] ? this.predictions.get(own[1]) : undefined;
    if (record && isImageModel(record.model)) return this.clipFor(record);
    let bytes = this.files.bytesOf(url);
    if (!bytes) {
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      if (!res.ok) throw new Error(`input image ${url} answered ${res.status}`);
      bytes = Buffer.from(await res.arrayBuffer());
    }
    const path = join(this.opts.clipDir, `input-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.img`);
    await writeFile(path, bytes);
    return path;
  }

  private clipFor(p: PredictionRecord): Promise<string> {
    const { seconds, width, height } = p.clip;
    const prompt = typeof p.input.prompt === 'string' ? p.input.prompt : '';
    if (isImageModel(p.model)) {
      const key = `image-${createHash('sha256').update(prompt).digest('hex').slice(0, 16)}-${width}x${height}`;
      return this.cached(key, () =>
        renderImage({ path: join(this.opts.clipDir, `${key}.png`), prompt, width, height }),
      );
    }
    const { start, end } = frameInputs(p.input);
    if (start) {
      // Per prediction: the frames depend on the images, not only on the prompt.
      const key = `frames-${p.id}-${seconds}s-${width}x${height}`;
      return this.cached(key, async () =>
        renderTransitionClip({
          path: join(this.opts.clipDir, `${key}.mp4`),
          start: await this.inputImage(start),
          end: end ? await this.inputImage(end) : undefined,
          seconds,
          width,
          height,
          fps: this.config.fps,
        }),
      );
    }
    // Models with native audio make it when asked (generate_audio), as the real ones do.
    const withAudio = p.input.generate_audio === true;
    const key = `scene${p.scene}-${seconds}s-${width}x${height}-${this.config.fps}fps${withAudio ? '-audio' : ''}`;
    let clip = this.clips.get(key);
    if (!clip) {
      clip = makeTestClip({
        path: join(this.opts.clipDir, `${key}.mp4`),
        seconds,
        width,
        height,
        fps: this.config.fps,
        scene: p.scene,
        withAudio,
        prompt: typeof p.input.prompt === 'string' ? p.input.prompt : undefined,
      });
      // A failed render must not poison the cache.
      void clip.catch(() => this.clips.delete(key));
      this.clips.set(key, clip);
    }
    return clip;
  }

  private fileBytes(path: string): Promise<{ bytes: Buffer; etag: string }> {
    let file = this.served.get(path);
    if (!file) {
      file = readFile(path).then((bytes) => ({ bytes, etag: `"${createHash('md5').update(bytes).digest('hex')}"` }));
      void file.catch(() => this.served.delete(path));
      // A few recent files: storyboard clips are one file per prediction.
      if (this.served.size >= 16) this.served.delete(this.served.keys().next().value!);
      this.served.set(path, file);
    }
    return file;
  }

  private cached(key: string, render: () => Promise<string>): Promise<string> {
    let file = this.clips.get(key);
    if (!file) {
      file = render();
      void file.catch(() => this.clips.delete(key));
      this.clips.set(key, file);
    }
    return file;
  }
}
