/**
 * How the worker and the CLI reach Temporal: the address, and for a shared cluster TLS (server
 * verification, optionally mTLS with a client certificate), an API key and gRPC metadata, from the
 * settings @temporalio/envconfig resolved (src/config.ts: TOML profile, then TEMPORAL_* variables).
 * One function builds the options for both `NativeConnection.connect` (worker) and
 * `Connection.connect` (client, search-attribute registration), so the two can never disagree
 * about how to authenticate.
 *
 * The key and the private key are secrets: they go into the connection and nowhere else (not in
 * logs, not in errors: a refusal names the setting and the path, never the content).
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { ConfigDataSource } from '@temporalio/envconfig';
import { ConfigError } from '../config';
import type { Config } from '../config';

export type TemporalConnectionConfig = Pick<
  Config,
  'TEMPORAL_ADDRESS' | 'TEMPORAL_API_KEY' | 'temporalTls' | 'temporalGrpcMeta'
>;

export interface TemporalConnectionOptions {
  address: string;
  /** Absent: plaintext (the local dev server). `true`: TLS with the system's roots. */
  tls?: TLSConfig | true;
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** The variable a user sets (the TOML key is in docs/security.md); errors name it, never the content. */
const SETTING = {
  clientCert: 'TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA',
  clientKey: 'TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA',
  serverCACert: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH/_DATA',
} as const;

function load(
  setting: keyof typeof SETTING,
  source: ConfigDataSource,
  readFile: (path: string) => Uint8Array,
): Uint8Array {
  if ('data' in source) return typeof source.data === 'string' ? Buffer.from(source.data) : source.data;
  try {
    return readFile(source.path);
  } catch (err) {
    throw new ConfigError(
      `${SETTING[setting]}: cannot read ${source.path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

export function connectionOptions(
  cfg: TemporalConnectionConfig,
  readFile: (path: string) => Uint8Array = readFileSync,
): TemporalConnectionOptions {
  const t = cfg.temporalTls ?? {};
  if (Boolean(t.clientCert) !== Boolean(t.clientKey)) {
    throw new ConfigError(
      'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or their _DATA forms) go together: mTLS needs both the client certificate and its key',
    );
  }
  if (t.disabled === true && (t.clientCert || t.serverCACert || cfg.TEMPORAL_API_KEY)) {
    // A key over plaintext would hand it to anyone on the path; refuse rather than guess.
    throw new ConfigError(
      'TEMPORAL_TLS=false (or tls.disabled) contradicts TEMPORAL_API_KEY / client certificate / CA settings, which need TLS',
    );
  }
  const tls: TLSConfig = {};
  if (t.clientCert && t.clientKey) {
    tls.clientCertPair = {
      crt: load('clientCert', t.clientCert, readFile),
      key: load('clientKey', t.clientKey, readFile),
    };
  }
  if (t.serverCACert) tls.serverRootCACertificate = load('serverCACert', t.serverCACert, readFile);
  if (t.serverName) tls.serverNameOverride = t.serverName;

  const useTls = Object.keys(tls).length > 0 || t.disabled === false || Boolean(cfg.TEMPORAL_API_KEY);
  return {
    address: cfg.TEMPORAL_ADDRESS,
    ...(useTls ? { tls: Object.keys(tls).length > 0 ? tls : true } : {}),
    ...(cfg.TEMPORAL_API_KEY ? { apiKey: cfg.TEMPORAL_API_KEY } : {}),
    ...(cfg.temporalGrpcMeta && Object.keys(cfg.temporalGrpcMeta).length > 0 ? { metadata: cfg.temporalGrpcMeta } : {}),
  };
}

/** For logs: how the connection is secured, without any secret. */
export function describeConnection(opts: TemporalConnectionOptions): string {
  const parts = [opts.tls ? (opts.tls !== true && opts.tls.clientCertPair ? 'mTLS' : 'TLS') : 'plaintext'];
  if (opts.apiKey) parts.push('API key');
  return parts.join(' + ');
}
