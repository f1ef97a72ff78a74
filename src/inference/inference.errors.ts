import { AppError, ConfigError } from '../errors.ts';

/** Every reason the inference pipeline refuses or fails a job. The bot maps these to friendly replies. */
export type InferenceErrorCode =
  | 'EMPTY_FILE'
  | 'UNSUPPORTED_FORMAT'
  | 'CORRUPT_IMAGE'
  | 'TOO_LARGE'
  | 'TOO_MANY_PIXELS'
  | 'IMAGE_TOO_SMALL'
  | 'NO_FACE'
  | 'FACE_TOO_SMALL'
  | 'QUEUE_FULL'
  | 'TIMEOUT'
  | 'MODEL_UNAVAILABLE'
  | 'INVALID_MODEL'
  | 'WORKER_CRASHED'
  | 'ABORTED';

/** All codes, for runtime checks (e.g. when an error crosses the worker-thread boundary). */
export const INFERENCE_ERROR_CODES: readonly InferenceErrorCode[] = [
  'EMPTY_FILE',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'TOO_LARGE',
  'TOO_MANY_PIXELS',
  'IMAGE_TOO_SMALL',
  'NO_FACE',
  'FACE_TOO_SMALL',
  'QUEUE_FULL',
  'TIMEOUT',
  'MODEL_UNAVAILABLE',
  'INVALID_MODEL',
  'WORKER_CRASHED',
  'ABORTED',
];

/**
 * A typed failure of the inference pipeline. `message` is written for the end user (the bot shows it);
 * `details` carries the facts (bytes, limit, format, ...).
 */
export class InferenceError extends AppError<InferenceErrorCode> {}

/** Plain-object form of an {@link InferenceError}, as posted between threads. */
export interface SerializedInferenceError {
  code: InferenceErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/** True when `err` is an {@link InferenceError}, optionally with the given code. */
export function isInferenceError(err: unknown, code?: InferenceErrorCode): err is InferenceError {
  return err instanceof InferenceError && (code === undefined || err.code === code);
}

/** An error of another kind, as posted between threads (`configError` marks a ConfigError). */
export interface SerializedOtherError {
  code: null;
  message: string;
  stack?: string;
  configError?: { code: 'CONFIG_INVALID' | 'CONFIG_MISSING'; details: Record<string, unknown> };
}

/** Turn an error into a plain object that survives `postMessage`. */
export function serializeError(err: unknown): SerializedInferenceError | SerializedOtherError {
  if (err instanceof InferenceError) return { code: err.code, message: err.message, details: err.details };
  if (err instanceof ConfigError) return { code: null, message: err.message, configError: { code: err.code, details: err.details } };
  const e = err instanceof Error ? err : new Error(String(err));
  return { code: null, message: e.message, stack: e.stack };
}

/** Rebuild an error posted by {@link serializeError}. */
export function deserializeError(s: SerializedInferenceError | SerializedOtherError): Error {
  if (s.code !== null && INFERENCE_ERROR_CODES.includes(s.code)) return new InferenceError(s.code, s.message, s.details);
  if (s.code === null && s.configError) return new ConfigError(s.configError.code, s.message, s.configError.details);
  const e = new Error(s.message);
  if ('stack' in s && s.stack) e.stack = s.stack;
  return e;
}
