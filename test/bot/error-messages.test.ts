import { describe, expect, it } from 'vitest';
import { BOT_ERROR_CODES, BotError } from '../../src/bot/bot.errors.ts';
import { errorCodeOf, friendlyMessage, isMemberFacingCode, type MemberFacingCode, type MessageFn, type MessageTable, messageForCode } from '../../src/bot/error-messages.ts';
import { FEEDBACK_ERROR_CODES, FeedbackError } from '../../src/db/feedback.errors.ts';
import { ConfigError } from '../../src/errors.ts';
import { InferenceError, INFERENCE_ERROR_CODES } from '../../src/inference/inference.errors.ts';
import { UPLOAD_REFUSAL_CODES } from '../../src/shared/upload-refusal.ts';

const limits = { maxBytes: 10 * 1024 * 1024, maxPixels: 50_000_000, minSide: 48 };
const generic = messageForCode('INTERNAL', {}, limits);

/** Feedback refusals the bot's own buttons and forms never cause: a bug, so they get the apology. */
const APOLOGY_ONLY = new Set(['UNKNOWN_ATTRIBUTE', 'INVALID_VOTE', 'INVALID_ID', 'INVALID_INPUT', 'MODEL_VERSION_CONFLICT']);

describe('the message table', () => {
  it.each([
    ['BotError', BOT_ERROR_CODES],
    ['InferenceError', INFERENCE_ERROR_CODES],
    ['FeedbackError', FEEDBACK_ERROR_CODES],
    ['upload refusal', UPLOAD_REFUSAL_CODES],
  ] as const)('has a message for every %s code', (_kind, codes) => {
    for (const code of codes) {
      expect(isMemberFacingCode(code), code).toBe(true);
      if (!APOLOGY_ONLY.has(code)) expect(messageForCode(code, {}, limits), code).not.toBe(generic);
    }
  });

  it('is typed over every code: a table missing one, or a code added without a message, fails tsc', () => {
    // Type-level checks, enforced by `npx tsc --noEmit -p tsconfig.json` (tsconfig includes test/):
    // an unused @ts-expect-error is itself an error, so each line below must keep failing the type check.
    const complete = Object.fromEntries([...BOT_ERROR_CODES, ...INFERENCE_ERROR_CODES, ...FEEDBACK_ERROR_CODES, 'INTERNAL'].map((c) => [c, () => c])) as unknown as MessageTable;
    const { NO_FACE: _dropped, ...withoutNoFace } = complete;
    // @ts-expect-error a table without NO_FACE is not a MessageTable
    const missingOne: MessageTable = withoutNoFace;
    // @ts-expect-error a code added to the union (here BRAND_NEW) has no message in the table
    const withNewCode: Record<MemberFacingCode | 'BRAND_NEW', MessageFn> = complete;
    // @ts-expect-error the old bot name of a refusal is no longer a code (untyped callers get the apology)
    expect(messageForCode('UNSUPPORTED_TYPE', {}, limits)).toBe(generic);
    expect([missingOne, withNewCode].every(Boolean)).toBe(true);
    expect(isMemberFacingCode('UNSUPPORTED_TYPE')).toBe(false);
  });
});

describe('friendlyMessage', () => {
  it('has a specific message for every inference error code', () => {
    for (const code of INFERENCE_ERROR_CODES) expect(friendlyMessage(new InferenceError(code, 'x'), limits), code).not.toBe(generic);
  });

  it('suggests the centre crop when no face is found', () => {
    expect(friendlyMessage(new InferenceError('NO_FACE', 'no face'), limits)).toContain('crop: center');
  });

  it('says what would work for refused files', () => {
    expect(friendlyMessage(new BotError('UNSUPPORTED_FORMAT', 'x', { contentType: 'application/pdf' }), limits)).toBe(
      "I can't read that kind of file (application/pdf). Please send a PNG, JPEG or WebP photo, up to 10 MB.",
    );
    expect(friendlyMessage(new BotError('FILE_TOO_LARGE', 'x', { size: 12 * 1024 * 1024 }), limits)).toContain('too large (12 MB). The limit is 10 MB');
  });

  it('gives one refusal the same message whether the bot or inference refused it', () => {
    for (const code of ['UNSUPPORTED_FORMAT', 'FILE_TOO_LARGE', 'TOO_MANY_PIXELS', 'IMAGE_TOO_SMALL'] as const) {
      expect(friendlyMessage(new BotError(code, 'x'), limits), code).toBe(friendlyMessage(new InferenceError(code, 'y'), limits));
    }
    expect(friendlyMessage(new InferenceError('TOO_MANY_PIXELS', 'x'), limits)).toBe(
      'That image has too many pixels. Please send one under 50 megapixels (crop or resize it first).',
    );
    expect(friendlyMessage(new InferenceError('FILE_TOO_LARGE', 'x', { bytes: 15 * 1024 * 1024 }), limits)).toContain('too large (15 MB)');
  });

  it('says when to retry after a rate limit', () => {
    expect(friendlyMessage(new BotError('RATE_LIMITED', 'x', { scope: 'guild', limit: 60, retryAfterSeconds: 12.2 }), limits)).toBe(
      'This server has reached the limit of 60 translations per minute. Try again in 13 s.',
    );
    expect(friendlyMessage(new BotError('RATE_LIMITED', 'x', { action: 'stats', scope: 'user', limit: 3, windowSeconds: 60, retryAfterSeconds: 41 }), limits)).toBe(
      "You've reached the limit of 3 `/webtoon-stats` requests per minute. Try again in 41 s.",
    );
    expect(friendlyMessage(new BotError('RATE_LIMITED', 'x', { action: 'report', scope: 'user', limit: 10, windowSeconds: 2, retryAfterSeconds: 1 }), limits)).toBe(
      "You've reached the limit of 10 problem reports per 2 s. Try again in 1 s.",
    );
  });

  it('answers a bug, or an error whose code has no message, with a generic apology and the INTERNAL code', () => {
    expect(friendlyMessage(new TypeError('boom'), limits)).toBe(generic);
    expect(friendlyMessage(new ConfigError('CONFIG_INVALID', 'bad'), limits)).toBe(generic);
    expect(friendlyMessage(new FeedbackError('INVALID_VOTE', 'bad'), limits)).toBe(generic);
    expect(errorCodeOf(new TypeError('boom'))).toBe('INTERNAL');
    expect(errorCodeOf(new InferenceError('TIMEOUT', 'x'))).toBe('TIMEOUT');
  });
});
