import { AppError } from '../errors.ts';
import type { UploadRefusalCode } from '../shared/upload-refusal.ts';

/** The upload refusals the bot makes itself from an attachment's declared facts or its download (shared names). */
const BOT_UPLOAD_REFUSALS = ['UNSUPPORTED_FORMAT', 'FILE_TOO_LARGE', 'TOO_MANY_PIXELS', 'IMAGE_TOO_SMALL'] as const satisfies readonly UploadRefusalCode[];

/** Every reason the bot refuses or cannot finish a request on its own side (before or around inference). */
export const BOT_ERROR_CODES = [
  'NO_IMAGE',
  ...BOT_UPLOAD_REFUSALS,
  'HOST_NOT_ALLOWED',
  'DOWNLOAD_FAILED',
  'DOWNLOAD_TIMEOUT',
  'RATE_LIMITED',
  'SHUTTING_DOWN',
  'UNKNOWN_COMMAND',
  'UNKNOWN_GENERATION',
  'NOT_YOURS',
  'VARIATION_EXPIRED',
  'DISCORD_UNREACHABLE',
] as const;

/** Why the bot refused or could not finish a request on its own side. */
export type BotErrorCode = (typeof BOT_ERROR_CODES)[number];

/**
 * A typed refusal from the bot itself. `details` carries the facts (declared type, size, limit,
 * retry-after seconds...) that {@link friendlyMessage} turns into words.
 */
export class BotError extends AppError<BotErrorCode> {}
