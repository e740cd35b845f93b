/**
 * Builds the provider clients from configuration. Both clients' own retries are switched off:
 * Temporal's retry policies own retries, so a failure is retried once, with backoff, visibly in
 * the history, instead of inside an activity attempt (nested retry storms, double payment).
 */
import OpenAI from 'openai';
import Replicate from 'replicate';
import type { Config } from '../config';
import { createReplicateFetch } from './replicate-fetch';

export function createOpenAI(cfg: Config): OpenAI | undefined {
  if (!cfg.OPENAI_API_KEY) return undefined;
  return new OpenAI({
    apiKey: cfg.OPENAI_API_KEY,
    baseURL: cfg.OPENAI_BASE_URL ?? null,
    maxRetries: 0,
    timeout: 90_000,
  });
}

export function createReplicate(cfg: Config): Replicate {
  return new Replicate({
    auth: cfg.REPLICATE_API_TOKEN,
    ...(cfg.REPLICATE_BASE_URL ? { baseUrl: cfg.REPLICATE_BASE_URL } : {}),
    fetch: createReplicateFetch(),
    userAgent: 'vidflow/0.1',
  });
}
