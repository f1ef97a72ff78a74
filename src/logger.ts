/**
 * The one structured logger (pino). It writes JSON lines to stderr so that a command's stdout stays
 * clean for its own output (JSON reports, CSV, ...). The level comes from the configuration (LOG_LEVEL).
 */
import { pino, type Logger } from 'pino';
import { config } from './config.ts';

let root: Logger | undefined;

function configuredLevel(): string {
  try {
    return config().LOG_LEVEL;
  } catch {
    return 'info'; // a bad configuration is reported by whoever loads it; logging must still work
  }
}

/** The root logger, created on first use. */
export function logger(): Logger {
  root ??= pino({ level: configuredLevel(), base: undefined }, pino.destination(2));
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
