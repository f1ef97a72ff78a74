/**
 * The one structured logger (pino). It writes JSON lines to stderr so that a command's stdout stays
 * clean for its own output (JSON reports, CSV, ...). The level comes from the configuration (LOG_LEVEL).
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { config } from './config.ts';
import { redactValue, serializeError } from './log-redaction.ts';

let root: Logger | undefined;

function configuredLevel(): string {
  try {
    return config().LOG_LEVEL;
  } catch {
    return 'info'; // a bad configuration is reported by whoever loads it; logging must still work
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

/** The root logger, created on first use. */
export function logger(): Logger {
  root ??= createLogger(pino.destination(2), configuredLevel());
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
