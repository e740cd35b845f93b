/**
 * Configuration from the environment and a `.env` file, validated with zod at start. Presence
 * and shape only: a wrong key is reported by the provider's 401, not guessed from its format.
 * Secrets stay in this process: they are never put in workflow inputs, results or logs.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
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
  /** Shared clusters (docs/security.md): an API key (implies TLS), and/or mTLS files. Never logged. */
  TEMPORAL_API_KEY: optionalText,
  /** TLS with the system's roots and no client certificate (e.g. a cluster behind a public CA). */
  TEMPORAL_TLS: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.stringbool({ error: 'must be true or false' }).optional(),
  ),
  TEMPORAL_TLS_CERT_PATH: optionalText,
  TEMPORAL_TLS_KEY_PATH: optionalText,
  TEMPORAL_TLS_CA_PATH: optionalText,
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: optionalUrl,
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  REPLICATE_API_TOKEN: optionalText,
  REPLICATE_BASE_URL: optionalUrl,
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
  DEBUG: optionalText,
  LOG_FORMAT: z.enum(['text', 'json']).default('text'),
});

export type Config = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

let envFileLoaded = false;

/** Loads `.env` from the working directory once; variables already set win over the file. */
export function loadEnvFile(): void {
  if (envFileLoaded) return;
  envFileLoaded = true;
  const file = resolve('.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  loadEnvFile();
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration (environment or .env):\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function webUiRunUrl(cfg: Config, workflowId: string, runId?: string): string {
  const base = cfg.TEMPORAL_UI_URL.replace(/\/$/, '');
  const ns = encodeURIComponent(cfg.TEMPORAL_NAMESPACE);
  const id = encodeURIComponent(workflowId);
  return runId
    ? `${base}/namespaces/${ns}/workflows/${id}/${runId}/history`
    : `${base}/namespaces/${ns}/workflows/${id}`;
}
