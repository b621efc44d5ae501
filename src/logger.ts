import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Human-readable lines (development); otherwise one JSON object per line, for log collectors. */
  pretty?: boolean;
}

export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const settings: pino.LoggerOptions = { level, base: undefined, redact: ['req.headers.authorization', 'headers.authorization'] };
  if (!options.pretty) return pino(settings);
  // In-process and synchronous (no transport thread): lines appear in order with what the process prints itself.
  return pino(
    settings,
    pretty({ sync: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true }),
  );
}
