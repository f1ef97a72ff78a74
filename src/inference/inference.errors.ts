import { AppError, ConfigError } from '../errors.ts';
import { MediaError } from '../media/upload-precheck.ts';
import { OnnxError } from '../onnx/onnx.errors.ts';
import { currentRefusalCode, UPLOAD_REFUSAL_CODES } from '../shared/upload-refusal.ts';

/** All codes, for runtime checks (e.g. when an error crosses the worker-thread boundary). */
export const INFERENCE_ERROR_CODES = [
  ...UPLOAD_REFUSAL_CODES,
  'NO_FACE',
  'FACE_TOO_SMALL',
  'QUEUE_FULL',
  'TIMEOUT',
  'MODEL_UNAVAILABLE',
  'INVALID_MODEL',
  'WORKER_CRASHED',
  'ABORTED',
] as const;

/**
 * Every reason the inference pipeline refuses or fails a job: the upload refusals it shares with the
 * bot (`src/shared/upload-refusal.ts`) and its own. The bot maps these to friendly replies.
 */
export type InferenceErrorCode = (typeof INFERENCE_ERROR_CODES)[number];

/**
 * A typed failure of the inference pipeline. `message` is written for the end user (the bot shows it);
 * `details` carries the facts (bytes, limit, format, ...).
 */
export class InferenceError extends AppError<InferenceErrorCode> {}

/**
 * The error the pipeline reports for `err`: a media refusal becomes the `InferenceError` with the same
 * code, message and details; a run on a disposed model becomes ABORTED; anything else is returned as is.
 */
export function toInferenceError(err: unknown): unknown {
  if (err instanceof MediaError) return new InferenceError(err.code, err.message, err.details, { cause: err });
  if (err instanceof OnnxError) return new InferenceError('ABORTED', 'The inference worker is shutting down.', err.details, { cause: err });
  return err;
}

/** Plain-object form of an {@link InferenceError}, as posted between threads. */
export interface SerializedInferenceError {
  code: InferenceErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/** True when `code` is one of {@link INFERENCE_ERROR_CODES}. */
export function isInferenceErrorCode(code: unknown): code is InferenceErrorCode {
  return typeof code === 'string' && (INFERENCE_ERROR_CODES as readonly string[]).includes(code);
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
export function serializeError(thrown: unknown): SerializedInferenceError | SerializedOtherError {
  const err = toInferenceError(thrown);
  if (err instanceof InferenceError) return { code: err.code, message: err.message, details: err.details };
  if (err instanceof ConfigError) return { code: null, message: err.message, configError: { code: err.code, details: err.details } };
  const e = err instanceof Error ? err : new Error(String(err));
  return { code: null, message: e.message, stack: e.stack };
}

/**
 * Rebuild an error posted by {@link serializeError}. A legacy refusal code (posted by a worker of the
 * release before the codes were unified, e.g. `TOO_LARGE`) is read as its current name.
 */
export function deserializeError(s: SerializedInferenceError | SerializedOtherError): Error {
  if (s.code !== null) {
    const code = currentRefusalCode(s.code);
    if (isInferenceErrorCode(code)) return new InferenceError(code, s.message, s.details);
  } else if (s.configError) return new ConfigError(s.configError.code, s.message, s.configError.details);
  const e = new Error(s.message);
  if ('stack' in s && s.stack) e.stack = s.stack;
  return e;
}
