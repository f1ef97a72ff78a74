/**
 * Base class of every error this project throws on purpose. It carries a stable `code` that the bot
 * and the CLI map to friendly messages, plus the facts that explain it (`details`). The `name` shows the
 * code, e.g. `InferenceError[NO_FACE]`, so logs read well without a stack trace.
 */
export class AppError<C extends string = string> extends Error {
  readonly code: C;
  readonly details: Record<string, unknown>;

  constructor(code: C, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
    this.name = `${new.target.name}[${code}]`;
  }
}

/** A configuration value is missing or malformed. */
export class ConfigError extends AppError<'CONFIG_INVALID' | 'CONFIG_MISSING'> {}

/** A command-line argument is missing or malformed. */
export class UsageError extends AppError<'USAGE'> {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('USAGE', message, details);
  }
}

/** True when `err` is an {@link AppError} (of any subclass). */
export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
