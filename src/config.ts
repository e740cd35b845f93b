/**
 * Configuration from the environment and a `.env` file, validated with zod at start. Presence
 * and shape only: a wrong key is reported by the provider's 401, not guessed from its format.
 * Secrets stay in this process: they are never put in workflow inputs, results or logs.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadClientConfigProfile } from '@temporalio/envconfig';
import type { ClientConfigTLS } from '@temporalio/envconfig';
import { z } from 'zod';
import { DEFAULT_PLANNER_MODEL } from './shared/models';
import { DEFAULT_TASK_QUEUE } from './shared/names';

const optionalText = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z.string().trim().optional(),
);
const optionalUrl = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z.url({ error: 'must be a URL such as http://127.0.0.1:8080/v1' }).optional(),
);

export const EnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),
  /**
   * Shared clusters (docs/security.md): an API key (implies TLS). Never logged. The rest of the
   * connection (mTLS files, CA, server name, gRPC metadata, TOML profiles) is read by
   * @temporalio/envconfig, like the Temporal CLI does: see loadTemporalProfile below.
   */
  TEMPORAL_API_KEY: optionalText,
  /** TLS with the system's roots and no client certificate (e.g. a cluster behind a public CA). */
  TEMPORAL_TLS: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.stringbool({ error: 'must be true or false' }).optional(),
  ),
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: optionalUrl,
  /** The planner's model; the worker warns at start when OpenAI lists a shutdown date for it. */
  OPENAI_MODEL: z.string().trim().min(1).default(DEFAULT_PLANNER_MODEL),
  REPLICATE_API_TOKEN: optionalText,
  REPLICATE_BASE_URL: optionalUrl,
  /**
   * Replicate posts each prediction's `completed` event here (https only). Either way every
   * prediction's webhook URL carries its generation key, which is how a retry finds it; unset,
   * the URL points at a host that never resolves (src/providers/prediction-keys.ts).
   */
  VIDFLOW_WEBHOOK_URL: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z
      .url({ protocol: /^https?$/, error: 'must be an https URL (Replicate calls https webhooks only)' })
      .refine((u) => u.startsWith('https:') || /^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(u), {
        error: 'must be an https URL (Replicate calls https webhooks only; http only on 127.0.0.1, for the emulator)',
      })
      .optional(),
  ),
  /**
   * The webhook receiver (src/webhooks/): its secret (else read from Replicate, GET
   * /v1/webhooks/default/secret), and the port to serve it on inside the worker (unset: not
   * served there; `vidflow webhooks` serves it on its own, on VIDFLOW_WEBHOOK_PORT or 8090).
   */
  VIDFLOW_WEBHOOK_SECRET: optionalText,
  VIDFLOW_WEBHOOK_PORT: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce.number().int().min(1).max(65535).optional(),
  ),
  /**
   * With VIDFLOW_WEBHOOK_URL set, webhooks wake the runs and the worker's prediction tracker reads
   * Replicate only this often, to catch what a webhook missed (docs/architecture.md).
   */
  VIDFLOW_RECONCILE_SECONDS: z.coerce.number().int().min(5).default(60),
  /**
   * Generations wait for their prediction without an activity slot (the worker's prediction tracker
   * completes them asynchronously). `false`: each polls its own prediction, holding a slot, as before.
   */
  VIDFLOW_ASYNC_GENERATION: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.stringbool({ error: 'must be true or false' }).default(true),
  ),
  VIDFLOW_OUTPUT_DIR: z.string().min(1).default('./output_videos'),
  VIDFLOW_WORK_DIR: z.string().min(1).default('./.vidflow/work'),
  /**
   * Names this worker's own task queue (`<queue>@<id>`), where the steps that need a run's clips on
   * disk go. Default: the host name plus a hash of the work folder, stable across restarts.
   */
  VIDFLOW_WORKER_ID: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits and . _ : - only, at most 100')
      .optional(),
  ),
  VIDFLOW_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(2000),
  /** Per-worker cap on predictions in flight, to stay under the provider's concurrency limits. */
  VIDFLOW_MAX_CONCURRENT_GENERATIONS: z.coerce.number().int().min(1).default(8),
  /**
   * Replicate's prediction-create limit for the whole account (600/min). Every worker polls the
   * provider queue at this rate; Temporal enforces it across all of them (docs/architecture.md).
   */
  VIDFLOW_REPLICATE_CREATES_PER_MINUTE: z.coerce.number().positive().max(60_000).default(600),
  /**
   * Runs whose workflow state a worker keeps in memory between steps (Temporal's sticky cache).
   * A run evicted from it is rebuilt by replaying its history at its next step: CPU for memory.
   * Unset: the SDK's default, sized from the V8 heap limit (hundreds of runs).
   */
  VIDFLOW_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(2).max(100_000).optional(),
  /** Per-worker cap on ffmpeg stitches at once: CPU-bound, so more than the cores only slows all. */
  VIDFLOW_MAX_CONCURRENT_STITCHES: z.coerce.number().int().min(1).default(1),
  /** Download allow-list, comma-separated (`replicate.delivery,*.replicate.delivery`); replaces the default. */
  VIDFLOW_DOWNLOAD_HOSTS: optionalText,
  /** Largest clip the worker downloads, in MB (checked by Content-Length and while streaming). */
  VIDFLOW_MAX_DOWNLOAD_MB: z.coerce.number().positive().max(100_000).default(500),
  /** Artifact store (docs/production.md): set to upload finished videos to this S3 bucket. */
  VIDFLOW_S3_BUCKET: optionalText,
  VIDFLOW_S3_PREFIX: z.string().trim().default('videos/'),
  /** An S3-compatible server (MinIO, …); path-style addressing is used when set. */
  VIDFLOW_S3_ENDPOINT: optionalUrl,
  VIDFLOW_S3_REGION: z.string().trim().min(1).default('us-east-1'),
  /**
   * HOST:PORT for the Temporal SDK's own metrics in Prometheus format (`/metrics`: workflow task
   * latencies, cache hits and evictions, slots in use, poll and activity latencies); unset: off.
   */
  VIDFLOW_METRICS_ADDRESS: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z
      .string()
      .trim()
      .regex(/^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):\d{1,5}$/, { error: 'must be HOST:PORT, such as 0.0.0.0:9464' })
      .optional(),
  ),
  DEBUG: optionalText,
  LOG_FORMAT: z.enum(['text', 'json']).default('text'),
});

/**
 * Where and how to reach Temporal beyond address, namespace and API key, as @temporalio/envconfig
 * resolved it (TOML profile, then the environment). Absent when a Config was built without
 * loadConfig (tests of other settings): then plaintext, as for the local dev server.
 */
export interface TemporalExtras {
  temporalTls?: ClientConfigTLS;
  temporalGrpcMeta?: Record<string, string>;
  /** For logs: which profile of which file was read, if any. */
  temporalProfile?: string;
  /** Who chose TEMPORAL_ADDRESS (the variable or a profile); absent: the default, localhost. */
  temporalAddressFrom?: string;
}

export type Config = z.infer<typeof EnvSchema> & TemporalExtras;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

let envFileLoaded = false;

/** Loads `.env` from the working directory once; variables already set win over the file. */
function loadEnvFile(): void {
  if (envFileLoaded) return;
  envFileLoaded = true;
  const file = resolve('.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

/**
 * Names vidflow read before it used Temporal's own settings (envconfig). Still honoured, so an
 * existing .env keeps working; the envconfig name wins when both are set.
 */
const LEGACY_TEMPORAL_NAMES = {
  TEMPORAL_TLS_CERT_PATH: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY_PATH: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_CA_PATH: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
} as const;

/**
 * The Temporal connection as the Temporal CLI and every SDK read it (@temporalio/envconfig): the
 * profile `TEMPORAL_PROFILE` (default `default`) of the TOML file `TEMPORAL_CONFIG_FILE` (default
 * ~/.config/temporalio/temporal.toml, when it exists), overridden by the `TEMPORAL_*` variables.
 * So `temporal config set --prop address ...` configures vidflow too.
 */
function loadTemporalProfile(env: NodeJS.ProcessEnv): ReturnType<typeof loadClientConfigProfile> & {
  source?: string;
} {
  // Our convention: an empty variable is unset (a blank line in .env must not mean "address ''").
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== '') vars[k] = v.trim();
  for (const [old, current] of Object.entries(LEGACY_TEMPORAL_NAMES)) {
    const value = vars[old];
    if (value !== undefined && vars[current] === undefined) vars[current] = value;
  }
  // envconfig takes only '1'/'true' as true; our schema also takes yes/on/false/0…: pass it one spelling.
  const tls = EnvSchema.shape.TEMPORAL_TLS.safeParse(vars.TEMPORAL_TLS);
  if (tls.success && tls.data !== undefined) vars.TEMPORAL_TLS = String(tls.data);

  const file = vars.TEMPORAL_CONFIG_FILE;
  // envconfig quietly ignores a missing file; one named on purpose must exist.
  if (file !== undefined && !existsSync(file)) {
    throw new ConfigError(`TEMPORAL_CONFIG_FILE: ${file} does not exist`);
  }
  try {
    const profile = loadClientConfigProfile({ overrideEnvVars: vars });
    const name = vars.TEMPORAL_PROFILE;
    return {
      ...profile,
      ...(file || name ? { source: `profile ${name ?? 'default'}${file ? ` of ${file}` : ''}` } : {}),
    };
  } catch (err) {
    // A TOML syntax error or an unknown profile name. smol-toml quotes the offending line under
    // its first line, and that line may hold an api_key: keep the first line and the position.
    const e = err as Error & { line?: number; column?: number };
    const where = e.line !== undefined ? ` (line ${e.line}, column ${e.column ?? '?'})` : '';
    throw new ConfigError(
      `Temporal connection profile${file ? ` in ${file}` : ''}: ${e.message.split('\n')[0]}${where}`,
    );
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  loadEnvFile();
  const profile = loadTemporalProfile(env);
  // The profile's address, namespace and key (env over file) take the schema's place; its
  // defaults apply when neither sets them.
  const parsed = EnvSchema.safeParse({
    ...env,
    TEMPORAL_ADDRESS: profile.address,
    TEMPORAL_NAMESPACE: profile.namespace,
    TEMPORAL_API_KEY: profile.apiKey,
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration (environment or .env):\n${lines.join('\n')}`);
  }
  return {
    ...parsed.data,
    ...(profile.tls ? { temporalTls: profile.tls } : {}),
    ...(profile.grpcMeta ? { temporalGrpcMeta: profile.grpcMeta } : {}),
    ...(profile.source ? { temporalProfile: profile.source } : {}),
    ...(env.TEMPORAL_ADDRESS?.trim()
      ? { temporalAddressFrom: 'TEMPORAL_ADDRESS' }
      : profile.address
        ? { temporalAddressFrom: profile.source ?? 'the Temporal config file (~/.config/temporalio/temporal.toml)' }
        : {}),
  };
}

export function webUiRunUrl(cfg: Config, workflowId: string, runId?: string): string {
  const base = cfg.TEMPORAL_UI_URL.replace(/\/$/, '');
  const ns = encodeURIComponent(cfg.TEMPORAL_NAMESPACE);
  const id = encodeURIComponent(workflowId);
  return runId
    ? `${base}/namespaces/${ns}/workflows/${id}/${runId}/history`
    : `${base}/namespaces/${ns}/workflows/${id}`;
}
