/**
 * The one place where error codes become what a member reads. Codes come from the bot itself
 * (`BotError`), from the inference pipeline (`InferenceError`) and from the feedback store
 * (`FeedbackError`); anything else is a bug and gets a generic apology (and is logged by the caller).
 * The table is typed over the union of those codes, so a code added to any of them without a message
 * here fails the type check (`test/bot/error-messages.test.ts` shows it).
 */
import type { FeedbackErrorCode } from '../db/feedback.errors.ts';
import { isAppError } from '../errors.ts';
import type { InferenceErrorCode } from '../inference/index.ts';
import type { BotErrorCode } from './bot.errors.ts';

/** Every code that can reach a member: the bot's, inference's, the feedback store's, and `INTERNAL` for anything else. */
export type MemberFacingCode = BotErrorCode | InferenceErrorCode | FeedbackErrorCode | 'INTERNAL';

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

/** Turns one code's details into the member's message. */
export type MessageFn = (details: Record<string, unknown>, limits: MessageLimits) => string;

/** A message for every code that can reach a member. */
export type MessageTable = Record<MemberFacingCode, MessageFn>;

const GENERIC = 'Something went wrong on my side. Please try again later.';
const generic: MessageFn = () => GENERIC;

/** Unreadable files: why, then what would work. */
function unreadable(why: string, limits: MessageLimits): string {
  return `${why}. Please send ${ACCEPTED}, up to ${mb(limits.maxBytes)}.`;
}

const modelUnavailable: MessageFn = () => "The translation model isn't available right now. The operator has been told; please try again later.";
const restarting: MessageFn = () => "I'm restarting and couldn't finish this one. Please try again in a minute.";

const MESSAGES: MessageTable = {
  NO_IMAGE: (_d, limits) => `I need an image to work with. Attach ${ACCEPTED} of a face (up to ${mb(limits.maxBytes)}).`,
  UNSUPPORTED_FORMAT: (d, limits) => {
    const what = typeof d.contentType === 'string' && d.contentType ? ` (${d.contentType})` : '';
    return unreadable(`I can't read that kind of file${what}`, limits);
  },
  CORRUPT_IMAGE: (_d, limits) => unreadable('That image looks damaged and could not be read', limits),
  EMPTY_FILE: (_d, limits) => unreadable('That file is empty', limits),
  FILE_TOO_LARGE: (d, limits) => {
    const size = num(d, 'size') ?? num(d, 'bytes');
    return `That file is too large${size ? ` (${mb(size)})` : ''}. The limit is ${mb(limits.maxBytes)} — a phone photo saved as JPEG or a screenshot of the face works.`;
  },
  TOO_MANY_PIXELS: (_d, limits) =>
    `That image has too many pixels. Please send one under ${Math.round(limits.maxPixels / 1e6)} megapixels (crop or resize it first).`,
  IMAGE_TOO_SMALL: (_d, limits) =>
    `That image is too small. Please send one at least ${limits.minSide}×${limits.minSide} pixels, with the face clearly visible.`,
  NO_FACE: (d) =>
    d.direction === 'b2a'
      ? "I couldn't find a webtoon face in that image. `/reverse` turns a drawn webtoon or anime face into a photo: send a drawing of a face, cropped close — or run it again with `crop: center` to translate the centre of the image."
      : "I couldn't find a face in that image. Try a clearer, front-facing photo — or run the command again with `crop: center` to translate the centre of the image instead.",
  FACE_TOO_SMALL: (_d, limits) =>
    `The face in that image is too small (under ${limits.minSide} pixels). Crop closer to the face, or use \`crop: center\`.`,
  QUEUE_FULL: () => "I'm busy right now — the queue is full. Please try again in a minute.",
  TIMEOUT: () => 'That took too long and was stopped. Please try again in a moment; a smaller image helps.',
  MODEL_UNAVAILABLE: modelUnavailable,
  INVALID_MODEL: modelUnavailable,
  WORKER_CRASHED: () => 'Something went wrong while translating. Please try again.',
  ABORTED: restarting,
  SHUTTING_DOWN: restarting,
  HOST_NOT_ALLOWED: () => 'I can only download images uploaded to Discord. Please attach the image directly.',
  DOWNLOAD_FAILED: () => "I couldn't download that image from Discord. Please try again.",
  DOWNLOAD_TIMEOUT: () => 'Downloading that image took too long. Please try again, or send a smaller file.',
  RATE_LIMITED: (d) => {
    const s = Math.max(1, Math.ceil(num(d, 'retryAfterSeconds') ?? 60));
    const scope = d.scope === 'guild' ? 'This server has' : "You've";
    const what = d.action === 'stats' ? '`/webtoon-stats` requests' : d.action === 'report' ? 'problem reports' : d.action === 'vote' ? 'votes' : 'translations';
    const window = num(d, 'windowSeconds') ?? 60;
    const per = window === 60 ? 'minute' : `${window} s`;
    return `${scope} reached the limit of ${d.limit ?? '?'} ${what} per ${per}. Try again in ${s} s.`;
  },
  UNKNOWN_GENERATION: () => "I can't find that translation any more (it may have been erased).",
  NOT_YOURS: (d) =>
    d.kind === 'variation'
      ? 'Only the member who asked for this picture can make variations of it. Run `/webtoonify` with your own picture to get yours.'
      : 'Only the member who asked for this can use that button.',
  VARIATION_EXPIRED: () =>
    "I no longer have the link to the original picture (variation buttons work for an hour, and not after I restart). Run the command again with the picture.",
  UNKNOWN_COMMAND: () => "I don't know that command. It may have been removed; try `/webtoon-help`.",
  DISCORD_UNREACHABLE: () => "I can't reach Discord right now. Please try again in a minute.",
  NO_ATTRIBUTE: () => 'Pick at least one thing that went wrong.',
  NOTE_TOO_LONG: () => 'That note is too long; please keep it under 500 characters.',
  // Feedback refusals a member cannot cause through the bot's own buttons and forms: a bug, so the apology.
  UNKNOWN_ATTRIBUTE: generic,
  INVALID_VOTE: generic,
  INVALID_ID: generic,
  INVALID_INPUT: generic,
  MODEL_VERSION_CONFLICT: generic,
  INTERNAL: generic,
};

/** True when `code` has a message of its own in the table. */
export function isMemberFacingCode(code: string): code is MemberFacingCode {
  return Object.hasOwn(MESSAGES, code);
}

/**
 * The member-facing message for an error code.
 * @param code - a BotError, InferenceError or FeedbackError code, or `INTERNAL` (a string from untyped
 *   code that names none of them still gets the generic apology)
 * @param details - the error's details (retryAfterSeconds, contentType, size, ...)
 */
export function messageForCode(code: MemberFacingCode, details: Record<string, unknown>, limits: MessageLimits): string {
  return (isMemberFacingCode(code) ? MESSAGES[code] : generic)(details, limits);
}

/** The member-facing message for any thrown value. */
export function friendlyMessage(err: unknown, limits: MessageLimits): string {
  return isAppError(err) && isMemberFacingCode(err.code) ? messageForCode(err.code, err.details, limits) : GENERIC;
}

/** The code of an error for records and logs: its AppError code, else `INTERNAL`. */
export function errorCodeOf(err: unknown): string {
  return isAppError(err) ? err.code : 'INTERNAL';
}
