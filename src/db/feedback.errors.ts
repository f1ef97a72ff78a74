import { AppError } from '../errors.ts';

/** Every reason the feedback store refuses a request. Every refusal happens before anything is written. */
export const FEEDBACK_ERROR_CODES = [
  'UNKNOWN_ATTRIBUTE',
  'NO_ATTRIBUTE',
  'UNKNOWN_GENERATION',
  'NOTE_TOO_LONG',
  'INVALID_VOTE',
  'INVALID_ID',
  'INVALID_INPUT',
  'MODEL_VERSION_CONFLICT',
] as const;

/** Why the feedback store refused a request. */
export type FeedbackErrorCode = (typeof FEEDBACK_ERROR_CODES)[number];

/**
 * A feedback request (rating, attribute report, generation record, erasure) was refused.
 * `details.parameter` names the offending argument and `details.received` what was passed.
 */
export class FeedbackError extends AppError<FeedbackErrorCode> {}

/** The Postgres SQLSTATE of `err` or of one of its causes (drizzle wraps driver errors). */
export function pgErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
