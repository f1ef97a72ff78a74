/**
 * Checks an attachment's declared facts (content type, size, width and height, as Discord resolves
 * them) before anything is downloaded. The bytes are checked again by the inference pipeline.
 */
import { BotError } from './bot.errors.ts';

/** The facts Discord declares about an attachment. */
export interface DeclaredAttachment {
  url: string;
  name: string;
  contentType: string | null;
  size: number;
  width: number | null;
  height: number | null;
}

export interface AttachmentLimits {
  maxBytes: number;
  maxPixels: number;
  minSide: number;
}

/** Content types accepted (what the inference pipeline decodes). */
export const ACCEPTED_CONTENT_TYPES = ['image/png', 'image/jpeg', 'image/jpg', 'image/webp'] as const;

const EXTENSIONS = /\.(png|jpe?g|webp)$/i;

/**
 * Refuse an attachment whose declared facts already rule it out.
 * @throws {BotError} UNSUPPORTED_FORMAT, FILE_TOO_LARGE, TOO_MANY_PIXELS or IMAGE_TOO_SMALL (the shared upload refusal codes)
 */
export function checkDeclaredAttachment(a: DeclaredAttachment, limits: AttachmentLimits): void {
  const type = (a.contentType ?? '').split(';')[0].trim().toLowerCase();
  const typeOk = type ? (ACCEPTED_CONTENT_TYPES as readonly string[]).includes(type) : EXTENSIONS.test(a.name);
  if (!typeOk) throw new BotError('UNSUPPORTED_FORMAT', `unsupported attachment type ${type || a.name}`, { contentType: type || null, name: a.name });
  if (a.size > limits.maxBytes) throw new BotError('FILE_TOO_LARGE', `attachment of ${a.size} bytes exceeds ${limits.maxBytes}`, { size: a.size, limit: limits.maxBytes });
  if (a.width != null && a.height != null) {
    if (a.width * a.height > limits.maxPixels) {
      throw new BotError('TOO_MANY_PIXELS', `attachment of ${a.width}×${a.height} exceeds ${limits.maxPixels} pixels`, { width: a.width, height: a.height, limit: limits.maxPixels });
    }
    if (Math.min(a.width, a.height) < limits.minSide) {
      throw new BotError('IMAGE_TOO_SMALL', `attachment of ${a.width}×${a.height} is under ${limits.minSide} px`, { width: a.width, height: a.height, limit: limits.minSide });
    }
  }
}
