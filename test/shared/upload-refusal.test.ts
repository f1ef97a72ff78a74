import { describe, expect, it } from 'vitest';
import { BOT_ERROR_CODES } from '../../src/bot/bot.errors.ts';
import { INFERENCE_ERROR_CODES } from '../../src/inference/inference.errors.ts';
import { currentRefusalCode, isUploadRefusalCode, LEGACY_REFUSAL_CODES, UPLOAD_REFUSAL_CODES } from '../../src/shared/upload-refusal.ts';

describe('upload refusal codes', () => {
  it('are one name per refusal, used by inference in full and by the bot for the refusals it makes itself', () => {
    expect(UPLOAD_REFUSAL_CODES).toEqual(['EMPTY_FILE', 'UNSUPPORTED_FORMAT', 'CORRUPT_IMAGE', 'FILE_TOO_LARGE', 'TOO_MANY_PIXELS', 'IMAGE_TOO_SMALL']);
    for (const code of UPLOAD_REFUSAL_CODES) expect(INFERENCE_ERROR_CODES, code).toContain(code);
    expect(BOT_ERROR_CODES.filter(isUploadRefusalCode)).toEqual(['UNSUPPORTED_FORMAT', 'FILE_TOO_LARGE', 'TOO_MANY_PIXELS', 'IMAGE_TOO_SMALL']);
  });

  it('no longer contain a legacy name, in any error module', () => {
    for (const legacy of Object.keys(LEGACY_REFUSAL_CODES)) {
      expect(isUploadRefusalCode(legacy), legacy).toBe(false);
      expect([...BOT_ERROR_CODES, ...INFERENCE_ERROR_CODES] as string[], legacy).not.toContain(legacy);
    }
  });

  describe('currentRefusalCode', () => {
    it('reads each legacy name as its new one', () => {
      expect(currentRefusalCode('UNSUPPORTED_TYPE')).toBe('UNSUPPORTED_FORMAT');
      expect(currentRefusalCode('TOO_LARGE')).toBe('FILE_TOO_LARGE');
      expect(currentRefusalCode('IMAGE_TOO_BIG')).toBe('TOO_MANY_PIXELS');
    });

    it('returns current and unrelated codes unchanged', () => {
      for (const code of ['FILE_TOO_LARGE', 'NO_FACE', 'INTERNAL', 'toString', '']) expect(currentRefusalCode(code)).toBe(code);
    });
  });
});
