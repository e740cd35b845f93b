/**
 * The emulators as their own process, for the offline demo and for tests that drive a worker in
 * another process:
 *
 *   npx tsx src/emulators/main.ts [--port 0] [--host 127.0.0.1] [--config '{"replicate":{...}}'] [--verbose]
 *                                 [--telegram-token 123:abc]
 *
 * Prints one JSON line `{"openaiBaseUrl", "replicateBaseUrl", "controlUrl", "telegramApiRoot"}` on stdout once it
 * listens (a parent reads that line instead of guessing a port), logs to stderr, and runs until
 * SIGTERM or SIGINT.
 */
import { parseArgs } from 'node:util';
import { startEmulators } from './index';
import type { EmulatorConfigPatch } from './index';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      config: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'telegram-token': { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port: ${values.port}`);
  const patch = (values.config ? JSON.parse(values.config) : {}) as EmulatorConfigPatch;

  const emu = await startEmulators({
    port,
    host: values.host,
    log: values.verbose ? (line) => process.stderr.write(`[emulators] ${line}\n`) : undefined,
    ...(values['telegram-token'] ? { telegramToken: values['telegram-token'] } : {}),
  });
  try {
    emu.configure(patch);
  } catch (err) {
    await emu.close();
    throw err;
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[emulators] ${signal}: shutting down\n`);
    emu.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`[emulators] close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  process.stdout.write(
    `${JSON.stringify({ openaiBaseUrl: emu.openaiBaseUrl, replicateBaseUrl: emu.replicateBaseUrl, controlUrl: emu.controlUrl, telegramApiRoot: emu.telegramApiRoot })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`[emulators] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
