/**
 * Standard error for `vidflow run`, shared by the worker's log lines and the person's prompt. A
 * log line that arrives while a question waits for an answer is printed above it, and the
 * question is drawn again with what was typed so far, so logs never overwrite the prompt. Ctrl-C
 * at a question (the terminal is in raw mode then, so no signal is sent) counts as an interrupt.
 */
import { createInterface } from 'node:readline';
import type { Interface } from 'node:readline';
import { CliError } from './errors';

export class Interrupted extends Error {
  override name = 'Interrupted';
}

export class PromptConsole {
  private rl: Interface | undefined;

  constructor(
    private readonly onInterrupt: () => void,
    private readonly signal: AbortSignal,
  ) {}

  /** One line (or several), above the open question if there is one. */
  line(text: string): void {
    const rl = this.rl;
    if (!rl || !process.stderr.isTTY) {
      process.stderr.write(text + '\n');
      return;
    }
    if (process.env.TERM === 'dumb') {
      // No escapes to clear a line: leave the question where it is and ask it again below.
      process.stderr.write('\n' + text + '\n');
      rl.prompt(true);
      process.stderr.write(rl.line);
      return;
    }
    process.stderr.write('\r\x1b[2K' + text + '\n');
    rl.prompt(true);
  }

  /** Asks on the terminal; rejects with Interrupted on Ctrl-C. Lower-cases the answer unless told not to. */
  async ask(question: string, lower = true): Promise<string> {
    if (!process.stdin.isTTY) {
      throw new CliError('no terminal to ask for approval: pass --yes, or approve with `vidflow approve <id>`', 2);
    }
    if (this.signal.aborted) throw new Interrupted();
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    this.rl = rl;
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const abort = () => reject(new Interrupted());
        this.signal.addEventListener('abort', abort, { once: true });
        rl.on('SIGINT', () => this.onInterrupt());
        rl.question(question, (a) => {
          this.signal.removeEventListener('abort', abort);
          resolve(a);
        });
      });
      return lower ? answer.trim().toLowerCase() : answer.trim();
    } finally {
      this.rl = undefined;
      rl.close();
    }
  }
}
