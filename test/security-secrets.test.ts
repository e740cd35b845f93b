/**
 * API keys live only in the worker's environment. Whole pipelines run end to end (dev server,
 * `vidflow worker` with DEBUG=1, the `vidflow` CLI, the emulators in their own process) with
 * recognisable fake keys: one accepted run, one where the OpenAI key is rejected (401, so the
 * plan falls back and its note carries the provider's error), one where the Replicate token is
 * rejected (the run fails with the provider's error). Then every place a key could leak to is
 * scanned: each run's history as exported by the real Temporal CLI (raw, and with every base64
 * string decoded, recursively), the worker's stdout/stderr and every CLI output. A scan looks for
 * any 12-character window of each key, so a key cut, wrapped or partly masked is still found.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCase } from './helpers/crash';
import type { CrashCase } from './helpers/crash';
import { temporalCli, vidflow } from './helpers/processes';
import type { CliResult } from './helpers/processes';
import { useTemporalServer } from './helpers/temporal-server';

const OPENAI_KEY = 'sk-SECRETSCAN-openai-1234567890abcdef';
const REPLICATE_TOKEN = 'r8_SECRETSCANreplicate1234567890';
const SECRETS = [OPENAI_KEY, REPLICATE_TOKEN];
const WINDOW = 12;

// ---- the scanner --------------------------------------------------------------------------------

/** Every string in a JSON document, and the decoding of every one that is base64, recursively. */
function expand(value: unknown, out: string[], depth = 0): void {
  if (depth > 20) return;
  if (typeof value === 'string') {
    out.push(value);
    if (value.length >= 4 && value.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      out.push(decoded);
      try {
        expand(JSON.parse(decoded) as unknown, out, depth + 1);
      } catch {
        // not JSON: the decoded text itself is scanned
      }
    }
    return;
  }
  if (Array.isArray(value)) for (const v of value) expand(v, out, depth + 1);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) expand(v, out, depth + 1);
}

/** Text to scan for a document that may be JSON: the raw text plus all decoded strings. */
function scanText(raw: string): string {
  const parts = [raw];
  try {
    expand(JSON.parse(raw) as unknown, parts);
  } catch {
    // plain text (logs): scanned raw
  }
  return parts.join('\n');
}

interface Finding {
  where: string;
  secret: string;
  window: string;
}

/** Any WINDOW-long piece of any secret, case-insensitively, in `text`. */
function findSecrets(where: string, raw: string): Finding[] {
  const text = scanText(raw).toLowerCase();
  const found: Finding[] = [];
  for (const secret of SECRETS) {
    for (let i = 0; i + WINDOW <= secret.length; i++) {
      const window = secret.slice(i, i + WINDOW);
      if (text.includes(window.toLowerCase())) {
        found.push({ where, secret: `${secret.slice(0, 6)}…`, window });
        break;
      }
    }
  }
  return found;
}

test('sanity: the scanner finds a planted key raw, cut, base64-encoded and nested in a payload', () => {
  assert.equal(findSecrets('clean', 'nothing to see; sk-***cdef, r8_****7890').length, 0);
  assert.equal(findSecrets('raw', `Authorization: Bearer ${OPENAI_KEY}`).length, 1);
  assert.equal(findSecrets('cut', `...${OPENAI_KEY.slice(9, 9 + WINDOW)}...`).length, 1);
  assert.equal(findSecrets('upper', REPLICATE_TOKEN.toUpperCase()).length, 1);
  const payload = { data: Buffer.from(JSON.stringify({ note: `key ${REPLICATE_TOKEN}` })).toString('base64') };
  const history = JSON.stringify({ events: [{ attrs: { input: { payloads: [payload] } } }] });
  assert.ok(!history.includes(REPLICATE_TOKEN.slice(0, WINDOW)), 'the planted key is only in base64');
  assert.equal(findSecrets('payload', history).length, 1);
  const doubly = JSON.stringify({
    data: Buffer.from(JSON.stringify({ inner: { data: payload.data } })).toString('base64'),
  });
  assert.equal(findSecrets('nested', doubly).length, 1);
});

// ---- the runs -----------------------------------------------------------------------------------

const temporal = useTemporalServer('sec-secrets');
let c: CrashCase | undefined;
let address: string;

before(async () => {
  address = await temporal.address();
  c = await startCase({
    address,
    name: 'sec-secrets',
    emulator: { replicate: { startingMs: 50, processingMs: 200, clipWidth: 160, clipHeight: 90 } },
  });
  c.env.OPENAI_API_KEY = OPENAI_KEY;
  c.env.REPLICATE_API_TOKEN = REPLICATE_TOKEN;
  c.env.DEBUG = '1';
  await c.startWorker();
});

after(async () => {
  await c?.close();
});

test('no key in histories, results, failures, statuses, worker logs (DEBUG=1) or CLI output', async () => {
  const k = c!;
  // The CLI never needs the keys; giving it none also shows the worker alone holds them.
  const cliEnv: NodeJS.ProcessEnv = { ...k.env, OPENAI_API_KEY: '', REPLICATE_API_TOKEN: '', DEBUG: '1' };
  const outputs: { where: string; r: CliResult }[] = [];
  const cli = async (where: string, args: string[], timeoutMs?: number) => {
    const r = await vidflow(args, cliEnv, timeoutMs);
    outputs.push({ where, r });
    return r;
  };
  const startRun = async (name: string, prompt: string) => {
    const r = await cli(`start ${name}`, ['start', prompt, '--scenes', '2', '--auto-approve', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { workflowId: string }).workflowId;
  };

  // 1. Keys accepted.
  const okPrompt = 'a lighthouse at dawn, seen from a boat';
  const okId = await startRun('ok', okPrompt);
  const ok = await cli('result ok', ['result', okId, '--json'], 90_000);
  assert.equal(ok.code, 0, `${ok.stderr}\n${k.logs()}`);
  await cli('status ok', ['status', okId, '--json']);

  // 2. The OpenAI key is rejected: the plan falls back, and says why, without the key.
  await k.emu.configure({ openai: { rejectKey: OPENAI_KEY } });
  const rejectedId = await startRun('openai-rejected', 'a fox running through snow at night');
  const rejected = await cli('result openai-rejected', ['result', rejectedId, '--json'], 90_000);
  assert.equal(rejected.code, 0, `${rejected.stderr}\n${k.logs()}`);
  const status = await cli('status openai-rejected', ['status', rejectedId, '--json']);
  const s = JSON.parse(status.stdout) as { planner?: string; plannerNote?: string };
  assert.equal(s.planner, 'fallback');
  assert.match(s.plannerNote ?? '', /OPENAI_API_KEY was rejected \(401\)/, 'the 401 path ran');
  assert.ok(((await k.emu.state()).openai as { unauthorized?: number }).unauthorized! >= 1);
  await k.emu.configure({ openai: { rejectKey: null } });

  // 3. The Replicate token is rejected: the run fails with the provider's error, without the token.
  await k.emu.configure({ replicate: { rejectToken: REPLICATE_TOKEN } });
  const failedId = await startRun('replicate-rejected', 'a paper boat on a puddle');
  const failed = await cli('result replicate-rejected', ['result', failedId, '--json'], 90_000);
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /REPLICATE_API_TOKEN was rejected \(401\)/);
  await k.emu.configure({ replicate: { rejectToken: null } });

  const findings: Finding[] = [];
  for (const id of [okId, rejectedId, failedId]) {
    const show = temporalCli(['workflow', 'show', '--address', address, '--workflow-id', id, '--output', 'json']);
    assert.equal(show.code, 0, show.stderr);
    const events = (JSON.parse(show.stdout) as { events: unknown[] }).events;
    assert.ok(events.length > 10, `${id}: a whole history (${events.length} events)`);
    // The scan must see inside payloads: the prompt is in them only base64-encoded.
    if (id === okId) {
      assert.ok(!show.stdout.includes(okPrompt), 'the prompt is not in the raw JSON');
      assert.ok(scanText(show.stdout).includes(okPrompt), 'but decoding finds it');
    }
    findings.push(...findSecrets(`history of ${id}`, show.stdout));
  }
  const logs = k.logs();
  assert.match(logs, /DEBUG/, 'the worker really logged at DEBUG');
  assert.match(logs, /OPENAI_API_KEY was rejected/, 'the worker logged the rejection');
  findings.push(...findSecrets('worker stdout/stderr', logs));
  for (const { where, r } of outputs) {
    findings.push(
      ...findSecrets(`vidflow ${where} stdout`, r.stdout),
      ...findSecrets(`vidflow ${where} stderr`, r.stderr),
    );
  }
  assert.deepEqual(findings, [], 'no key or piece of a key anywhere');
});
