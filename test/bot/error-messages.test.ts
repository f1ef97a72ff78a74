import { describe, expect, it } from 'vitest';
import { BotError } from '../../src/bot/bot.errors.ts';
import { errorCodeOf, friendlyMessage, messageForCode } from '../../src/bot/error-messages.ts';
import { InferenceError, INFERENCE_ERROR_CODES } from '../../src/inference/inference.errors.ts';

const limits = { maxBytes: 10 * 1024 * 1024, maxPixels: 50_000_000, minSide: 48 };
const generic = messageForCode('SOMETHING_ELSE', {}, limits);

describe('friendlyMessage', () => {
  it('has a specific message for every inference error code', () => {
    for (const code of INFERENCE_ERROR_CODES) expect(friendlyMessage(new InferenceError(code, 'x'), limits), code).not.toBe(generic);
  });

  it('suggests the centre crop when no face is found', () => {
    expect(friendlyMessage(new InferenceError('NO_FACE', 'no face'), limits)).toContain('crop: center');
  });

  it('says what would work for refused files', () => {
    expect(friendlyMessage(new BotError('UNSUPPORTED_TYPE', 'x', { contentType: 'application/pdf' }), limits)).toBe(
      "I can't read that kind of file (application/pdf). Please send a PNG, JPEG or WebP photo, up to 10 MB.",
    );
    expect(friendlyMessage(new BotError('FILE_TOO_LARGE', 'x', { size: 12 * 1024 * 1024 }), limits)).toContain('too large (12 MB). The limit is 10 MB');
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

  it('answers a bug with a generic apology and the INTERNAL code', () => {
    expect(friendlyMessage(new TypeError('boom'), limits)).toBe(generic);
    expect(errorCodeOf(new TypeError('boom'))).toBe('INTERNAL');
    expect(errorCodeOf(new InferenceError('TIMEOUT', 'x'))).toBe('TIMEOUT');
  });
});
