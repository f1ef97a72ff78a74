/**
 * The one structured logger (pino). It writes to stderr so that a command's stdout stays clean for its
 * own output (JSON reports, CSV, ...). On a terminal the lines are made readable by pino-pretty
 * (time, level, message, then the fields); anywhere else (containers, pipes, log shippers, tests) they
 * stay one JSON object per line. LOG_FORMAT=json|pretty overrides the choice. The level comes from the
 * configuration (LOG_LEVEL).
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { pino, type DestinationStream, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';
import { config } from './config.ts';
import { redactValue, serializeError } from './log-redaction.ts';

let root: Logger | undefined;

function configured(): { level: string; format: 'auto' | 'json' | 'pretty' } {
  try {
    const c = config();
    return { level: c.LOG_LEVEL, format: c.LOG_FORMAT };
  } catch {
    return { level: 'info', format: 'auto' }; // a bad configuration is reported by whoever loads it; logging must still work
  }
}

/**
 * A logger with the project's redaction (see log-redaction.ts): every logged object and error is
 * reduced before it is written, so no line holds a token, a URL path, image bytes or a member's id.
 */
export function createLogger(destination: DestinationStream, level = 'info'): Logger {
  return pino(
    {
      level,
      base: undefined,
      serializers: { err: serializeError, error: serializeError },
      formatters: { log: (obj) => redactValue(obj) as Record<string, unknown> },
    },
    destination,
  );
}

/** Pretty when asked, or (auto) when stderr is a terminal. */
export function wantsPretty(format: 'auto' | 'json' | 'pretty', stderrIsTty: boolean | undefined): boolean {
  return format === 'pretty' || (format === 'auto' && stderrIsTty === true);
}

/**
 * The format this process writes: `pretty` or `json`. A worker thread's stderr is never a TTY (it is
 * piped through the main thread), so a worker started with `workerData.logFormat` follows the main
 * thread's choice instead.
 */
export function logFormatInUse(): 'pretty' | 'json' {
  const inherited = !isMainThread ? (workerData as { logFormat?: unknown } | null)?.logFormat : undefined;
  if (inherited === 'pretty' || inherited === 'json') return inherited;
  return wantsPretty(configured().format, process.stderr.isTTY) ? 'pretty' : 'json';
}

/** The root logger, created on first use. */
export function logger(): Logger {
  if (!root) {
    const { level } = configured();
    const destination = logFormatInUse() === 'pretty'
      ? // loaded only when used: JSON output (containers, pipes, tests) never pays for it
        (createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty)({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', singleLine: true })
      : pino.destination(2);
    root = createLogger(destination, level);
  }
  return root;
}

/** Change the level at run time (the CLI's --verbose / --quiet). */
export function setLogLevel(level: string): void {
  logger().level = level;
}

/** A child logger tagged with the module it belongs to. */
export function moduleLogger(module: string): Logger {
  return logger().child({ module });
}
