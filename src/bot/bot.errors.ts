import { AppError } from '../errors.ts';

/** Why the bot refused or could not finish a request on its own side (before or around inference). */
export type BotErrorCode =
  | 'NO_IMAGE'
  | 'UNSUPPORTED_TYPE'
  | 'FILE_TOO_LARGE'
  | 'IMAGE_TOO_BIG'
  | 'IMAGE_TOO_SMALL'
  | 'HOST_NOT_ALLOWED'
  | 'DOWNLOAD_FAILED'
  | 'DOWNLOAD_TIMEOUT'
  | 'RATE_LIMITED'
  | 'SHUTTING_DOWN'
  | 'UNKNOWN_COMMAND'
  | 'UNKNOWN_GENERATION'
  | 'NOT_YOURS'
  | 'VARIATION_EXPIRED'
  | 'DISCORD_UNREACHABLE';

/**
 * A typed refusal from the bot itself. `details` carries the facts (declared type, size, limit,
 * retry-after seconds...) that {@link friendlyMessage} turns into words.
 */
export class BotError extends AppError<BotErrorCode> {}
