/**
 * The bot's log: one line per event on stderr, text or JSON (LOG_FORMAT) like the worker's, and
 * always through the redactor, so a Bot API error that quotes its URL cannot print the token.
 */
import type { Redact } from './redact';

export interface BotLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

export function botLogger(opts: {
  redact: Redact;
  format?: 'text' | 'json';
  debug?: boolean;
  write?: (line: string) => void;
}): BotLog {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => {
    if (level === 'debug' && !opts.debug) return;
    const text = opts.redact(msg);
    if (opts.format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level, component: 'bot', msg: text }));
    } else {
      const tag = level === 'info' ? '' : ` ${level.toUpperCase()}`;
      write(`[${new Date().toTimeString().slice(0, 8)}]${tag} bot: ${text}`);
    }
  };
  return {
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
    debug: (m) => emit('debug', m),
  };
}
