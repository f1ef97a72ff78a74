/**
 * The refusal vocabulary for an uploaded image, one code per refusal, shared by every wing that can
 * refuse an upload: the bot (from the attachment's declared type, size and dimensions), the media
 * module (from the bytes and the header) and the inference pipeline (which passes media's refusals on).
 * Pure: no I/O, no imports.
 */

/** Every upload refusal, in a stable order. */
export const UPLOAD_REFUSAL_CODES = [
  /** The file has no bytes. */
  'EMPTY_FILE',
  /** Not a JPEG, PNG, WebP or GIF (by declared content type or by magic bytes). */
  'UNSUPPORTED_FORMAT',
  /** The header or the pixel data could not be read. */
  'CORRUPT_IMAGE',
  /** More bytes than `MAX_IMAGE_BYTES`. */
  'FILE_TOO_LARGE',
  /** Width × height over `MAX_IMAGE_PIXELS`. */
  'TOO_MANY_PIXELS',
  /** A side shorter than the minimum. */
  'IMAGE_TOO_SMALL',
] as const;

/** Why an uploaded image was refused. */
export type UploadRefusalCode = (typeof UPLOAD_REFUSAL_CODES)[number];

/**
 * Codes used before the bot and inference agreed on one name per refusal (issue 9): the bot said
 * `UNSUPPORTED_TYPE` and `IMAGE_TOO_BIG`, inference said `TOO_LARGE`. They can still be met in rows
 * written before migration `0002_one_refusal_code` and from a worker of the previous release.
 */
export const LEGACY_REFUSAL_CODES: Readonly<Record<string, UploadRefusalCode>> = {
  UNSUPPORTED_TYPE: 'UNSUPPORTED_FORMAT',
  TOO_LARGE: 'FILE_TOO_LARGE',
  IMAGE_TOO_BIG: 'TOO_MANY_PIXELS',
};

/** True when `code` is an upload refusal code (current names only). */
export function isUploadRefusalCode(code: unknown): code is UploadRefusalCode {
  return typeof code === 'string' && (UPLOAD_REFUSAL_CODES as readonly string[]).includes(code);
}

/** The current name of a code: a legacy refusal code becomes its new name, any other code is returned as is. */
export function currentRefusalCode(code: string): string {
  return Object.hasOwn(LEGACY_REFUSAL_CODES, code) ? LEGACY_REFUSAL_CODES[code] : code;
}
