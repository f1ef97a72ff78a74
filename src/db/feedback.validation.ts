/**
 * Argument checks for the feedback store's public methods. Each throws a {@link FeedbackError} that
 * says which parameter was wrong, what was expected and what was received, before any query runs.
 */
import { ATTRIBUTE_IDS, isAttributeId, type AttributeId } from '../shared/attributes.ts';
import { FeedbackError } from './feedback.errors.ts';
import { DIRECTIONS, type Direction } from '../shared/direction.ts';

export { DIRECTIONS, type Direction };

/** Discord ids (snowflakes) are unsigned 64-bit integers written in decimal. */
const SNOWFLAKE = /^\d{15,25}$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;
/** Generation ids are positive integers; 15 digits stays well inside Number.MAX_SAFE_INTEGER. */
const GENERATION_ID = /^[1-9]\d{0,14}$/;

export const NOTE_MAX_CHARS = 500;
export const MODEL_VERSION_MAX_CHARS = 100;
export const ERROR_CODE_MAX_CHARS = 64;

export type VoteValue = 'up' | 'down';
export const VOTE_VALUES: readonly VoteValue[] = ['up', 'down'];

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function invalid(code: 'INVALID_ID' | 'INVALID_INPUT', parameter: string, expected: string, received: unknown): FeedbackError {
  return new FeedbackError(code, `${parameter}: expected ${expected}, received ${shown(received)}`, { parameter, received });
}

/** A Discord snowflake (user, guild, channel, message or interaction id). */
export function checkSnowflake(parameter: string, value: unknown): string {
  if (typeof value !== 'string' || !SNOWFLAKE.test(value)) {
    throw invalid('INVALID_ID', parameter, 'a Discord id (15–25 digits)', value);
  }
  return value;
}

/** A snowflake, or null/undefined meaning "none". */
export function checkOptionalSnowflake(parameter: string, value: unknown): string | null {
  return value === null || value === undefined ? null : checkSnowflake(parameter, value);
}

/** A generation id as stored (number) or as carried in a button custom_id (digit string). */
export function checkGenerationId(value: unknown, parameter = 'generationId'): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && GENERATION_ID.test(value)) return Number(value);
  throw invalid('INVALID_ID', parameter, 'a positive integer generation id', value);
}

export function checkDirection(value: unknown, parameter = 'direction'): Direction {
  if (value === 'a2b' || value === 'b2a') return value;
  throw invalid('INVALID_INPUT', parameter, "'a2b' or 'b2a'", value);
}

export function checkVote(value: unknown): VoteValue {
  if (value === 'up' || value === 'down') return value;
  throw new FeedbackError('INVALID_VOTE', `value: expected 'up' or 'down', received ${shown(value)}`, { parameter: 'value', received: value });
}

/** A hex SHA-256, returned lower-case. */
export function checkSha256(parameter: string, value: unknown): string {
  if (typeof value !== 'string' || !SHA256.test(value)) throw invalid('INVALID_INPUT', parameter, 'a SHA-256 as 64 hex digits', value);
  return value.toLowerCase();
}

export function checkNonNegativeInt(parameter: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid('INVALID_INPUT', parameter, 'a non-negative number', value);
  }
  return Math.round(value);
}

export function checkText(parameter: string, value: unknown, maxChars: number): string {
  if (typeof value !== 'string' || value.trim() === '' || [...value].length > maxChars) {
    throw invalid('INVALID_INPUT', parameter, `a non-empty string of at most ${maxChars} characters`, value);
  }
  return value.trim();
}

export function checkOptionalText(parameter: string, value: unknown, maxChars: number): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && value.trim() === '') return null;
  return checkText(parameter, value, maxChars);
}

export function checkDate(parameter: string, value: unknown): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw invalid('INVALID_INPUT', parameter, 'a valid Date', value);
  return value;
}

/** A non-empty list of known attribute ids, deduplicated in the order given. */
export function checkAttributes(value: unknown): AttributeId[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new FeedbackError('NO_ATTRIBUTE', `attributes: expected at least one of ${ATTRIBUTE_IDS.join(', ')}, received ${shown(value)}`, {
      parameter: 'attributes',
      received: value,
    });
  }
  const unknown = value.filter((a) => !isAttributeId(a));
  if (unknown.length > 0) {
    throw new FeedbackError('UNKNOWN_ATTRIBUTE', `attributes: expected ids from ${ATTRIBUTE_IDS.join(', ')}, received unknown ${unknown.map(shown).join(', ')}`, {
      parameter: 'attributes',
      received: unknown,
    });
  }
  return [...new Set(value as AttributeId[])];
}

/** An optional note: trimmed, empty → null, at most {@link NOTE_MAX_CHARS} characters (code points). */
export function checkNote(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw invalid('INVALID_INPUT', 'note', 'a string', value);
  const trimmed = value.trim();
  if (trimmed === '') return null;
  const length = [...trimmed].length;
  if (length > NOTE_MAX_CHARS) {
    throw new FeedbackError('NOTE_TOO_LONG', `note: expected at most ${NOTE_MAX_CHARS} characters, received ${length}`, {
      parameter: 'note',
      received: length,
    });
  }
  return trimmed;
}
