import { describe, expect, it } from 'vitest';
import { checkDeclaredAttachment, type DeclaredAttachment } from '../../src/bot/attachment.validation.ts';

const limits = { maxBytes: 1000, maxPixels: 10_000, minSide: 48 };
const ok: DeclaredAttachment = { url: 'https://cdn.discordapp.com/a.png', name: 'a.png', contentType: 'image/png', size: 500, width: 64, height: 64 };
const codeOf = (a: DeclaredAttachment) => {
  try {
    checkDeclaredAttachment(a, limits);
    return null;
  } catch (e) {
    return (e as { code: string }).code;
  }
};

describe('checkDeclaredAttachment', () => {
  it('accepts PNG, JPEG and WebP within the limits', () => {
    for (const contentType of ['image/png', 'image/jpeg', 'image/webp', 'image/jpeg; charset=binary']) expect(codeOf({ ...ok, contentType })).toBe(null);
  });

  it('falls back to the file extension when Discord declares no type', () => {
    expect(codeOf({ ...ok, contentType: null, name: 'me.JPG' })).toBe(null);
    expect(codeOf({ ...ok, contentType: null, name: 'me.heic' })).toBe('UNSUPPORTED_FORMAT');
  });

  it('refuses other types, too many bytes, too many pixels and too small images, with the facts', () => {
    expect(codeOf({ ...ok, contentType: 'application/pdf' })).toBe('UNSUPPORTED_FORMAT');
    expect(codeOf({ ...ok, contentType: 'image/gif' })).toBe('UNSUPPORTED_FORMAT');
    expect(codeOf({ ...ok, size: 1001 })).toBe('FILE_TOO_LARGE');
    expect(codeOf({ ...ok, width: 200, height: 51 })).toBe('TOO_MANY_PIXELS');
    expect(codeOf({ ...ok, width: 47, height: 100 })).toBe('IMAGE_TOO_SMALL');
    expect(codeOf({ ...ok, width: null, height: null })).toBe(null); // checked again on the bytes
  });
});
