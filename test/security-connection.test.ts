/**
 * Connection settings for a shared Temporal cluster, read as the Temporal CLI reads them
 * (@temporalio/envconfig: a TOML profile, then TEMPORAL_* variables). Plaintext only when nothing
 * asks for TLS, an API key always over TLS, mTLS only with both the certificate and its key, and
 * refusals that name the setting and the path but never a secret.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ConfigError, EnvSchema, loadConfig } from '../src/config';
import { connectionOptions, describeConnection } from '../src/worker/temporal-connection';
import { vidflow } from './helpers/processes';
import { localEnv } from './helpers/temporal';

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

// A HOME of our own: a developer's ~/.config/temporalio/temporal.toml must not leak into the tests.
const home = mkdtempSync(join(tmpdir(), 'vidflow-conn-'));
after(() => rmSync(home, { recursive: true, force: true }));
const cfg = (env: Record<string, string>) =>
  loadConfig({ HOME: home, TEMPORAL_ADDRESS: 'temporal.example.com:7233', ...env });
const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString();
const toml = (name: string, body: string) => {
  const file = join(home, name);
  writeFileSync(file, body);
  return file;
};

test('nothing set: plaintext to the address (the local dev server), no key', () => {
  const o = connectionOptions(cfg({}), fakeRead);
  assert.deepEqual(o, { address: 'temporal.example.com:7233' });
  assert.equal(describeConnection(o), 'plaintext');
  const bare = loadConfig({ HOME: home });
  assert.equal(bare.TEMPORAL_ADDRESS, 'localhost:7233', 'the default address');
  assert.equal(bare.TEMPORAL_NAMESPACE, 'default', 'the default namespace');
});

test('an API key implies TLS with the system roots', () => {
  const o = connectionOptions(cfg({ TEMPORAL_API_KEY: API_KEY }), fakeRead);
  assert.equal(o.apiKey, API_KEY);
  assert.equal(o.tls, true);
  assert.equal(describeConnection(o), 'TLS + API key');
  assert.ok(!describeConnection(o).includes(API_KEY.slice(6, 18)), 'the description has no key');
});

test("mTLS with envconfig's variables: certificate and key read from their paths; CA and server name passed on", () => {
  const o = connectionOptions(
    cfg({
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/certs/client.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/certs/client.key',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/certs/ca.pem',
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

test('mTLS from _DATA variables: the PEM text itself, no file read', () => {
  const o = connectionOptions(
    cfg({ TEMPORAL_TLS_CLIENT_CERT_DATA: 'CERT-INLINE', TEMPORAL_TLS_CLIENT_KEY_DATA: 'KEY-INLINE' }),
    () => assert.fail('no file should be read'),
  );
  assert.ok(o.tls && o.tls !== true);
  assert.equal(text(o.tls.clientCertPair?.crt), 'CERT-INLINE');
  assert.equal(text(o.tls.clientCertPair?.key), 'KEY-INLINE');
});

test("the older names (TEMPORAL_TLS_CERT_PATH, _KEY_PATH, _CA_PATH) still work; envconfig's name wins", () => {
  const legacy = connectionOptions(
    cfg({
      TEMPORAL_TLS_CERT_PATH: '/certs/client.pem',
      TEMPORAL_TLS_KEY_PATH: '/certs/client.key',
      TEMPORAL_TLS_CA_PATH: '/certs/ca.pem',
    }),
    fakeRead,
  );
  assert.ok(legacy.tls && legacy.tls !== true);
  assert.equal(text(legacy.tls.clientCertPair?.key), 'PRIVATE-KEY-BYTES');
  assert.equal(text(legacy.tls.serverRootCACertificate), 'CA');
  const both = connectionOptions(
    cfg({ TEMPORAL_TLS_CA_PATH: '/certs/missing.pem', TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/certs/ca.pem' }),
    fakeRead,
  );
  assert.ok(both.tls && both.tls !== true);
  assert.equal(text(both.tls.serverRootCACertificate), 'CA');
});

test('TEMPORAL_TLS=true (or yes/1) alone: TLS without a client certificate; empty means unset', () => {
  assert.equal(connectionOptions(cfg({ TEMPORAL_TLS: 'true' }), fakeRead).tls, true);
  assert.equal(
    connectionOptions(cfg({ TEMPORAL_TLS: 'yes' }), fakeRead).tls,
    true,
    "envconfig alone reads 'yes' as false",
  );
  assert.equal(connectionOptions(cfg({ TEMPORAL_TLS: '1' }), fakeRead).tls, true);
  assert.equal(connectionOptions(cfg({ TEMPORAL_TLS: '' }), fakeRead).tls, undefined, 'empty means unset');
  assert.equal(EnvSchema.safeParse({ TEMPORAL_TLS: 'maybe' }).success, false);
  assert.throws(
    () => cfg({ TEMPORAL_TLS: 'maybe' }),
    (e: unknown) => e instanceof ConfigError && /TEMPORAL_TLS/.test(e.message),
  );
});

test('refusals: a certificate without its key, TLS off with a key, an unreadable file (path named, no content)', () => {
  assert.throws(
    () => connectionOptions(cfg({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/certs/client.pem' }), fakeRead),
    (e: unknown) => e instanceof ConfigError && /go together/.test(e.message),
  );
  assert.throws(
    () => connectionOptions(cfg({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: API_KEY }), fakeRead),
    (e: unknown) => e instanceof ConfigError && /need TLS/.test(e.message) && !e.message.includes(API_KEY),
  );
  assert.throws(
    () =>
      connectionOptions(
        cfg({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/certs/client.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: '/certs/missing.key' }),
        fakeRead,
      ),
    (e: unknown) =>
      e instanceof ConfigError &&
      /TEMPORAL_TLS_CLIENT_KEY_PATH\/_DATA: cannot read \/certs\/missing\.key \(ENOENT\)/.test(e.message) &&
      !e.message.includes('CERT'),
  );
});

describe('TOML profiles (the Temporal CLI config file)', () => {
  const cloud = `
[profile.default]
address = "file-default.example.com:7233"
namespace = "from-file"

[profile.cloud]
address = "eu-west-1.aws.api.temporal.io:7233"
namespace = "vidflow.a1b2c"
api_key = "${API_KEY}"

[profile.cloud.grpc_meta]
x-team = "video"

[profile.mtls]
address = "temporal.internal:7233"
[profile.mtls.tls]
client_cert_path = "/certs/client.pem"
client_key_path = "/certs/client.key"
server_name = "temporal.internal"
`;

  test('TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE: address, namespace, API key and gRPC metadata from the file', () => {
    const file = toml('cloud.toml', cloud);
    const c = loadConfig({ HOME: home, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' });
    assert.equal(c.TEMPORAL_ADDRESS, 'eu-west-1.aws.api.temporal.io:7233');
    assert.equal(c.TEMPORAL_NAMESPACE, 'vidflow.a1b2c');
    assert.equal(c.temporalProfile, `profile cloud of ${file}`);
    const o = connectionOptions(c, fakeRead);
    assert.equal(o.apiKey, API_KEY);
    assert.equal(o.tls, true, 'an API key from the file implies TLS too');
    assert.deepEqual(o.metadata, { 'x-team': 'video' });
    const m = connectionOptions(
      loadConfig({ HOME: home, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'mtls' }),
      fakeRead,
    );
    assert.equal(describeConnection(m), 'mTLS');
  });

  test('variables override the file; the default profile is used when none is named', () => {
    const file = toml('cloud.toml', cloud);
    const c = loadConfig({ HOME: home, TEMPORAL_CONFIG_FILE: file, TEMPORAL_NAMESPACE: 'from-env' });
    assert.equal(c.TEMPORAL_ADDRESS, 'file-default.example.com:7233');
    assert.equal(c.TEMPORAL_NAMESPACE, 'from-env');
    assert.match(c.temporalAddressFrom ?? '', /profile default of /, 'the address came from the file');
    assert.equal(loadConfig({ HOME: home, TEMPORAL_ADDRESS: 'x:1' }).temporalAddressFrom, 'TEMPORAL_ADDRESS');
    assert.equal(
      loadConfig({ HOME: home }).temporalAddressFrom,
      undefined,
      'the default: vidflow run may start a server',
    );
  });

  test('the default file ~/.config/temporalio/temporal.toml is read when it exists', () => {
    const own = mkdtempSync(join(tmpdir(), 'vidflow-home-'));
    try {
      mkdirSync(join(own, '.config', 'temporalio'), { recursive: true });
      writeFileSync(join(own, '.config', 'temporalio', 'temporal.toml'), cloud);
      assert.equal(loadConfig({ HOME: own }).TEMPORAL_NAMESPACE, 'from-file');
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  test('refusals: a named file that is missing, an unknown profile, broken TOML (no secret in the message)', () => {
    assert.throws(
      () => loadConfig({ HOME: home, TEMPORAL_CONFIG_FILE: join(home, 'nope.toml') }),
      (e: unknown) => e instanceof ConfigError && /TEMPORAL_CONFIG_FILE: .*nope\.toml does not exist/.test(e.message),
    );
    const file = toml('cloud.toml', cloud);
    assert.throws(
      () => loadConfig({ HOME: home, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' }),
      (e: unknown) => e instanceof ConfigError && /Profile 'staging' not found/.test(e.message),
    );
    const broken = toml('broken.toml', `[profile.default]\napi_key = "${API_KEY}\n`);
    assert.throws(
      () => loadConfig({ HOME: home, TEMPORAL_CONFIG_FILE: broken }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /Temporal connection profile/.test(e.message) &&
        !e.message.includes(API_KEY.slice(6, 18)),
    );
  });

  describe('the CLI reaches a real server through a profile alone (no TEMPORAL_ADDRESS)', () => {
    let env: TestWorkflowEnvironment;
    before(async () => {
      env = await localEnv();
    });
    after(async () => {
      await env.teardown();
    });

    test('vidflow list: profile "local" answers; profile "nowhere" fails naming its address', async () => {
      const file = toml(
        'cli.toml',
        `[profile.local]\naddress = "${env.address}"\n\n[profile.nowhere]\naddress = "127.0.0.1:1"\n`,
      );
      const base = { PATH: process.env.PATH, HOME: home, TEMPORAL_CONFIG_FILE: file };
      const ok = await vidflow(['list', '--json'], { ...base, TEMPORAL_PROFILE: 'local' });
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(Array.isArray(JSON.parse(ok.stdout)), 'a JSON list of runs');
      const down = await vidflow(['list', '--json'], { ...base, TEMPORAL_PROFILE: 'nowhere' });
      assert.notEqual(down.code, 0);
      assert.match(down.stderr, /cannot reach Temporal at 127\.0\.0\.1:1/);
      // `vidflow run` starts a local server only when nobody chose an address; a profile did.
      const run = await vidflow(['run', 'a sunset', '--yes'], { ...base, TEMPORAL_PROFILE: 'nowhere' });
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /no Temporal server answers at 127\.0\.0\.1:1 \(set by profile nowhere of /);
    });
  });
});
