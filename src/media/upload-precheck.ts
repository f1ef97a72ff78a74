/**
 * The upload refusals that need only the bytes: empty, over the byte limit, not an accepted format.
 * Kept apart from `media.ts` (and so from sharp) because the inference clients run it in the bot's
 * process before a job takes a queue slot.
 */
import { AppError } from '../errors.ts';
import { ACCEPTED_FORMATS, describeUnsupported, type ImageFormat, sniffFormat } from '../shared/image-format.ts';
import type { UploadRefusalCode } from '../shared/upload-refusal.ts';

/**
 * An image refused by the media module, with a message written for the end user and the facts in
 * `details` (bytes, limit, format, ...). The inference pipeline passes it on as an `InferenceError`
 * with the same code, message and details.
 */
export class MediaError extends AppError<UploadRefusalCode> {}

/**
 * The checks that need only the bytes (no decoder). Cheap enough to run before a job is queued.
 * @returns the format the magic bytes name
 * @throws {MediaError} EMPTY_FILE, FILE_TOO_LARGE, UNSUPPORTED_FORMAT
 */
export function precheckBytes(buf: Uint8Array, limits: { maxBytes: number }): ImageFormat {
  if (buf.length === 0) throw new MediaError('EMPTY_FILE', 'The file is empty (0 bytes). Please attach a photo.', { bytes: 0 });
  if (buf.length > limits.maxBytes) {
    throw new MediaError(
      'FILE_TOO_LARGE',
      `The file is too large (${formatBytes(buf.length)}); the limit is ${formatBytes(limits.maxBytes)}.`,
      { bytes: buf.length, limit: limits.maxBytes },
    );
  }
  const format = sniffFormat(buf);
  if (format === null) {
    const detected = describeUnsupported(buf);
    throw new MediaError(
      'UNSUPPORTED_FORMAT',
      `This file is not a supported image (it looks like a ${detected}). Please send a JPEG, PNG, WebP or GIF.`,
      { detected, bytes: buf.length, accepted: [...ACCEPTED_FORMATS] },
    );
  }
  return format;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}
