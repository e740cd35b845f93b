/**
 * Connection options for a shared Temporal cluster: plaintext only when nothing asks for TLS, an
 * API key always over TLS, mTLS only with both the certificate and its key, and refusals that
 * name the setting and the path but never a secret.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, EnvSchema } from '../src/config';
import { connectionOptions, describeConnection } from '../src/worker/temporal-connection';

const API_KEY = 'tmprl-SECRET-api-key-0123456789';
const FILES: Record<string, string> = {
  '/certs/client.pem': 'CERT',
  '/certs/client.key': 'PRIVATE-KEY-BYTES',
  '/certs/ca.pem': 'CA',
};
const fakeRead = (path: string): Uint8Array => {
  const text = FILES[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return Buffer.from(text);
};
const cfg = (env: Record<string, string>) => EnvSchema.parse({ TEMPORAL_ADDRESS: 'temporal.example.com:7233', ...env });
const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString();

test('nothing set: plaintext to the address (the local dev server), no key', () => {
  const o = connectionOptions(cfg({}), fakeRead);
  assert.deepEqual(o, { address: 'temporal.example.com:7233' });
  assert.equal(describeConnection(o), 'plaintext');
});

test('an API key implies TLS with the system roots', () => {
  const o = connectionOptions(cfg({ TEMPORAL_API_KEY: API_KEY }), fakeRead);
  assert.equal(o.apiKey, API_KEY);
  assert.equal(o.tls, true);
  assert.equal(describeConnection(o), 'TLS + API key');
  assert.ok(!describeConnection(o).includes(API_KEY.slice(6, 18)), 'the description has no key');
});

test('mTLS: certificate and key are read from their paths; CA and server name are passed on', () => {
  const o = connectionOptions(
    cfg({
      TEMPORAL_TLS_CERT_PATH: '/certs/client.pem',
      TEMPORAL_TLS_KEY_PATH: '/certs/client.key',
      TEMPORAL_TLS_CA_PATH: '/certs/ca.pem',
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    }),
    fakeRead,
  );
  assert.ok(o.tls && o.tls !== true, 'a TLS config');
  assert.equal(text(o.tls.clientCertPair?.crt), 'CERT');
  assert.equal(text(o.tls.clientCertPair?.key), 'PRIVATE-KEY-BYTES');
  assert.equal(text(o.tls.serverRootCACertificate), 'CA');
  assert.equal(o.tls.serverNameOverride, 'temporal.internal');
  assert.equal(o.apiKey, undefined);
  assert.equal(describeConnection(o), 'mTLS');
});

test('TEMPORAL_TLS=true alone: TLS without a client certificate', () => {
  assert.equal(connectionOptions(cfg({ TEMPORAL_TLS: 'true' }), fakeRead).tls, true);
  assert.equal(connectionOptions(cfg({ TEMPORAL_TLS: '' }), fakeRead).tls, undefined, 'empty means unset');
  assert.equal(EnvSchema.safeParse({ TEMPORAL_TLS: 'maybe' }).success, false);
});

test('refusals: a certificate without its key, TLS off with a key, an unreadable file (path named, no content)', () => {
  assert.throws(
    () => connectionOptions(cfg({ TEMPORAL_TLS_CERT_PATH: '/certs/client.pem' }), fakeRead),
    (e: unknown) => e instanceof ConfigError && /go together/.test(e.message),
  );
  assert.throws(
    () => connectionOptions(cfg({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: API_KEY }), fakeRead),
    (e: unknown) => e instanceof ConfigError && /need TLS/.test(e.message) && !e.message.includes(API_KEY),
  );
  assert.throws(
    () =>
      connectionOptions(
        cfg({ TEMPORAL_TLS_CERT_PATH: '/certs/client.pem', TEMPORAL_TLS_KEY_PATH: '/certs/missing.key' }),
        fakeRead,
      ),
    (e: unknown) =>
      e instanceof ConfigError &&
      /TEMPORAL_TLS_KEY_PATH: cannot read \/certs\/missing\.key \(ENOENT\)/.test(e.message) &&
      !e.message.includes('CERT'),
  );
});
