/**
 * How the worker and the CLI reach Temporal: the address, and for a shared cluster TLS (server
 * verification, optionally mTLS with a client certificate) and/or an API key. One function builds
 * the options for both `NativeConnection.connect` (worker) and `Connection.connect` (client,
 * search-attribute registration), so the two can never disagree about how to authenticate.
 *
 * The key and the private key are secrets: they go into the connection and nowhere else (not in
 * logs, not in errors: a refusal names the setting and the path, never the content).
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError } from '../config';
import type { Config } from '../config';

export type TemporalConnectionConfig = Pick<
  Config,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_API_KEY'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CERT_PATH'
  | 'TEMPORAL_TLS_KEY_PATH'
  | 'TEMPORAL_TLS_CA_PATH'
  | 'TEMPORAL_TLS_SERVER_NAME'
>;

export interface TemporalConnectionOptions {
  address: string;
  /** Absent: plaintext (the local dev server). `true`: TLS with the system's roots. */
  tls?: TLSConfig | true;
  apiKey?: string;
}

function read(setting: string, path: string, readFile: (path: string) => Uint8Array): Uint8Array {
  try {
    return readFile(path);
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export function connectionOptions(
  cfg: TemporalConnectionConfig,
  readFile: (path: string) => Uint8Array = readFileSync,
): TemporalConnectionOptions {
  const cert = cfg.TEMPORAL_TLS_CERT_PATH;
  const key = cfg.TEMPORAL_TLS_KEY_PATH;
  if (Boolean(cert) !== Boolean(key)) {
    throw new ConfigError(
      'TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together: mTLS needs both the client certificate and its key',
    );
  }
  if (cfg.TEMPORAL_TLS === false && (cert || cfg.TEMPORAL_TLS_CA_PATH || cfg.TEMPORAL_API_KEY)) {
    // A key over plaintext would hand it to anyone on the path; refuse rather than guess.
    throw new ConfigError('TEMPORAL_TLS=false contradicts TEMPORAL_API_KEY / TEMPORAL_TLS_* settings, which need TLS');
  }
  const tls: TLSConfig = {};
  if (cert && key) {
    tls.clientCertPair = {
      crt: read('TEMPORAL_TLS_CERT_PATH', cert, readFile),
      key: read('TEMPORAL_TLS_KEY_PATH', key, readFile),
    };
  }
  if (cfg.TEMPORAL_TLS_CA_PATH)
    tls.serverRootCACertificate = read('TEMPORAL_TLS_CA_PATH', cfg.TEMPORAL_TLS_CA_PATH, readFile);
  if (cfg.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = cfg.TEMPORAL_TLS_SERVER_NAME;

  const useTls = Object.keys(tls).length > 0 || cfg.TEMPORAL_TLS === true || Boolean(cfg.TEMPORAL_API_KEY);
  return {
    address: cfg.TEMPORAL_ADDRESS,
    ...(useTls ? { tls: Object.keys(tls).length > 0 ? tls : true } : {}),
    ...(cfg.TEMPORAL_API_KEY ? { apiKey: cfg.TEMPORAL_API_KEY } : {}),
  };
}

/** For logs: how the connection is secured, without any secret. */
export function describeConnection(opts: TemporalConnectionOptions): string {
  const parts = [opts.tls ? (opts.tls !== true && opts.tls.clientCertPair ? 'mTLS' : 'TLS') : 'plaintext'];
  if (opts.apiKey) parts.push('API key');
  return parts.join(' + ');
}
