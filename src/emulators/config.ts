/**
 * Validation of configuration patches. The control API takes JSON from another process, and a
 * typo (`{"mode":"ratelimited"}`) silently ignored would make a test pass for the wrong reason,
 * so unknown keys and values are refused with a message naming them.
 */
import { isRecord } from './http';
import { OPENAI_MODES, defaultOpenAIConfig } from './openai';
import type { OpenAIEmulatorConfig } from './openai';
import { API_ROUTES, DOWNLOAD_FAULTS, OUTCOMES, REQUEST_FAULTS, defaultReplicateConfig } from './replicate';
import type { ReplicateEmulatorConfig, ReplicateModelSpec } from './replicate';

export interface EmulatorConfigPatch {
  openai?: Partial<OpenAIEmulatorConfig>;
  replicate?: Partial<ReplicateEmulatorConfig>;
}

export class ConfigError extends Error {}

const OPENAI_ENUMS: Record<string, readonly string[]> = { mode: OPENAI_MODES, nextModes: OPENAI_MODES };
const REPLICATE_ENUMS: Record<string, readonly string[]> = {
  fault: REQUEST_FAULTS,
  nextCreate: REQUEST_FAULTS,
  nextGet: REQUEST_FAULTS,
  nextCancel: REQUEST_FAULTS,
  nextList: REQUEST_FAULTS,
  outcome: OUTCOMES,
  nextOutcome: OUTCOMES,
  download: DOWNLOAD_FAULTS,
  nextDownload: DOWNLOAD_FAULTS,
  outageRoutes: API_ROUTES,
  outageFault: REQUEST_FAULTS,
  nextWebhook: ['ok', 'bad', 'lost'],
};
const NULLABLE = new Set(['rejectKey', 'rejectToken']);
/** Numbers that may be negative (a clock behind the real one); every other number is >= 0. */
const SIGNED = new Set(['clockSkewMs']);

/**
 * Checks `patch` against the defaults' shapes and returns the merged config. Arrays are copied
 * (the emulator consumes queues) and `models` is merged model by model.
 */
function merge<T extends object>(
  section: string,
  current: T,
  defaults: T,
  patch: unknown,
  enums: Record<string, readonly string[]>,
): T {
  if (!isRecord(patch)) throw new ConfigError(`${section}: expected an object`);
  const next: Record<string, unknown> = { ...(current as Record<string, unknown>) };
  const defs = defaults as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const where = `${section}.${key}`;
    if (!(key in defs)) {
      throw new ConfigError(`${where}: unknown option; known: ${Object.keys(defs).join(', ')}`);
    }
    const def = defs[key];
    const allowed = enums[key];
    if (NULLABLE.has(key)) {
      if (value !== null && typeof value !== 'string') throw new ConfigError(`${where}: expected a string or null`);
      next[key] = value;
    } else if (Array.isArray(def)) {
      if (!Array.isArray(value)) throw new ConfigError(`${where}: expected an array`);
      for (const v of value) {
        if (allowed && !allowed.includes(v as string)) {
          throw new ConfigError(`${where}: ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
        }
      }
      next[key] = [...(value as unknown[])];
    } else if (allowed) {
      if (typeof value !== 'string' || !allowed.includes(value)) {
        throw new ConfigError(`${where}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
      }
      next[key] = value;
    } else if (typeof def === 'number') {
      if (typeof value !== 'number' || !Number.isFinite(value) || (value < 0 && !SIGNED.has(key))) {
        throw new ConfigError(`${where}: expected a number${SIGNED.has(key) ? '' : ' >= 0'}`);
      }
      if ((key === 'clipWidth' || key === 'clipHeight') && (!Number.isInteger(value) || value < 16 || value % 2)) {
        throw new ConfigError(`${where}: expected an even integer >= 16 (libx264 with yuv420p needs even sizes)`);
      }
      next[key] = value;
    } else if (typeof def === 'string') {
      if (typeof value !== 'string') throw new ConfigError(`${where}: expected a string`);
      next[key] = value;
    } else if (key === 'models') {
      next[key] = mergeModels(where, next[key] as ReplicateEmulatorConfig['models'], value);
    } else {
      throw new ConfigError(`${where}: cannot be configured`);
    }
  }
  return next as T;
}

function mergeModels(
  where: string,
  current: Record<string, ReplicateModelSpec>,
  value: unknown,
): Record<string, ReplicateModelSpec> {
  if (!isRecord(value)) throw new ConfigError(`${where}: expected an object`);
  const out = { ...current };
  for (const [name, spec] of Object.entries(value)) {
    if (!/^[\w.-]+\/[\w.-]+$/.test(name)) throw new ConfigError(`${where}: "${name}" is not owner/name`);
    if (!isRecord(spec) || typeof spec.version !== 'string' || !isRecord(spec.inputs)) {
      throw new ConfigError(`${where}.${name}: expected {version: string, inputs: {...}}`);
    }
    out[name] = structuredClone(spec) as unknown as ReplicateModelSpec;
  }
  return out;
}

export function mergeOpenAI(current: OpenAIEmulatorConfig, patch: unknown): OpenAIEmulatorConfig {
  return merge('openai', current, defaultOpenAIConfig(), patch, OPENAI_ENUMS);
}

export function mergeReplicate(current: ReplicateEmulatorConfig, patch: unknown): ReplicateEmulatorConfig {
  return merge('replicate', current, defaultReplicateConfig(), patch, REPLICATE_ENUMS);
}

/** Validates a whole patch before applying any of it, so a bad patch changes nothing. */
export function checkPatch(patch: unknown): asserts patch is EmulatorConfigPatch {
  if (!isRecord(patch)) throw new ConfigError('expected a JSON object like {"openai": {...}, "replicate": {...}}');
  for (const key of Object.keys(patch)) {
    if (key !== 'openai' && key !== 'replicate') {
      throw new ConfigError(`unknown section "${key}"; expected "openai" and/or "replicate"`);
    }
  }
}
