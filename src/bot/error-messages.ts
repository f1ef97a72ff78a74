/**
 * The one place where error codes become what a member reads. Codes come from the bot itself
 * ({@link BotError}), from the inference pipeline (`InferenceError`) and from the feedback store
 * (`FeedbackError`); anything else is a bug and gets a generic apology (and is logged by the caller).
 */
import { isAppError } from '../errors.ts';

/** Limits quoted in the messages, so they always state what would work. */
export interface MessageLimits {
  maxBytes: number;
  maxPixels: number;
  minSide: number;
}

const ACCEPTED = 'a PNG, JPEG or WebP photo';

function mb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MB`;
}

function num(details: Record<string, unknown>, key: string): number | undefined {
  const v = details[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * The member-facing message for an error code.
 * @param code - a BotError, InferenceError or FeedbackError code (unknown codes get the generic text)
 * @param details - the error's details (retryAfterSeconds, contentType, size, ...)
 */
export function messageForCode(code: string, details: Record<string, unknown>, limits: MessageLimits): string {
  switch (code) {
    case 'NO_IMAGE':
      return `I need an image to work with. Attach ${ACCEPTED} of a face (up to ${mb(limits.maxBytes)}).`;
    case 'UNSUPPORTED_TYPE':
    case 'UNSUPPORTED_FORMAT':
    case 'CORRUPT_IMAGE':
    case 'EMPTY_FILE': {
      const what = typeof details.contentType === 'string' && details.contentType ? ` (${details.contentType})` : '';
      const why = code === 'CORRUPT_IMAGE' ? 'That image looks damaged and could not be read' : code === 'EMPTY_FILE' ? 'That file is empty' : `I can't read that kind of file${what}`;
      return `${why}. Please send ${ACCEPTED}, up to ${mb(limits.maxBytes)}.`;
    }
    case 'FILE_TOO_LARGE':
    case 'TOO_LARGE': {
      const size = num(details, 'size') ?? num(details, 'bytes');
      return `That file is too large${size ? ` (${mb(size)})` : ''}. The limit is ${mb(limits.maxBytes)} — a phone photo saved as JPEG or a screenshot of the face works.`;
    }
    case 'IMAGE_TOO_BIG':
    case 'TOO_MANY_PIXELS':
      return `That image has too many pixels. Please send one under ${Math.round(limits.maxPixels / 1e6)} megapixels (crop or resize it first).`;
    case 'IMAGE_TOO_SMALL':
      return `That image is too small. Please send one at least ${limits.minSide}×${limits.minSide} pixels, with the face clearly visible.`;
    case 'NO_FACE':
      if (details.direction === 'b2a') {
        return "I couldn't find a webtoon face in that image. `/reverse` turns a drawn webtoon or anime face into a photo: send a drawing of a face, cropped close — or run it again with `crop: center` to translate the centre of the image.";
      }
      return "I couldn't find a face in that image. Try a clearer, front-facing photo — or run the command again with `crop: center` to translate the centre of the image instead.";
    case 'FACE_TOO_SMALL':
      return `The face in that image is too small (under ${limits.minSide} pixels). Crop closer to the face, or use \`crop: center\`.`;
    case 'QUEUE_FULL':
      return "I'm busy right now — the queue is full. Please try again in a minute.";
    case 'TIMEOUT':
      return 'That took too long and was stopped. Please try again in a moment; a smaller image helps.';
    case 'MODEL_UNAVAILABLE':
    case 'INVALID_MODEL':
      return "The translation model isn't available right now. The operator has been told; please try again later.";
    case 'WORKER_CRASHED':
      return 'Something went wrong while translating. Please try again.';
    case 'ABORTED':
    case 'SHUTTING_DOWN':
      return "I'm restarting and couldn't finish this one. Please try again in a minute.";
    case 'HOST_NOT_ALLOWED':
      return 'I can only download images uploaded to Discord. Please attach the image directly.';
    case 'DOWNLOAD_FAILED':
      return "I couldn't download that image from Discord. Please try again.";
    case 'DOWNLOAD_TIMEOUT':
      return 'Downloading that image took too long. Please try again, or send a smaller file.';
    case 'RATE_LIMITED': {
      const s = Math.max(1, Math.ceil(num(details, 'retryAfterSeconds') ?? 60));
      const scope = details.scope === 'guild' ? 'This server has' : "You've";
      const what = details.action === 'stats' ? '`/webtoon-stats` requests' : details.action === 'report' ? 'problem reports' : details.action === 'vote' ? 'votes' : 'translations';
      const window = num(details, 'windowSeconds') ?? 60;
      const per = window === 60 ? 'minute' : `${window} s`;
      return `${scope} reached the limit of ${details.limit ?? '?'} ${what} per ${per}. Try again in ${s} s.`;
    }
    case 'UNKNOWN_GENERATION':
      return "I can't find that translation any more (it may have been erased).";
    case 'NOT_YOURS':
      if (details.kind === 'variation') return 'Only the member who asked for this picture can make variations of it. Run `/webtoonify` with your own picture to get yours.';
      return 'Only the member who asked for this can use that button.';
    case 'VARIATION_EXPIRED':
      return "I no longer have the link to the original picture (variation buttons work for an hour, and not after I restart). Run the command again with the picture.";
    case 'UNKNOWN_COMMAND':
      return "I don't know that command. It may have been removed; try `/webtoon-help`.";
    case 'DISCORD_UNREACHABLE':
      return "I can't reach Discord right now. Please try again in a minute.";
    case 'NO_ATTRIBUTE':
      return 'Pick at least one thing that went wrong.';
    case 'NOTE_TOO_LONG':
      return 'That note is too long; please keep it under 500 characters.';
    default:
      return 'Something went wrong on my side. Please try again later.';
  }
}

/** The member-facing message for any thrown value. */
export function friendlyMessage(err: unknown, limits: MessageLimits): string {
  if (isAppError(err)) return messageForCode(err.code, err.details, limits);
  return messageForCode('INTERNAL', {}, limits);
}

/** The code of an error for records and logs: its AppError code, else `INTERNAL`. */
export function errorCodeOf(err: unknown): string {
  return isAppError(err) ? err.code : 'INTERNAL';
}
