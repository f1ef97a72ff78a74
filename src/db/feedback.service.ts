/**
 * What the bot (and the CLI) call to record generations and member feedback. Every public method
 * checks its arguments first and throws a {@link FeedbackError} before anything is written.
 */
import type { AttributeId } from '../shared/attributes.ts';
import type { DatabaseHandle, Db } from './client.ts';
import { FeedbackError, pgErrorCode } from './feedback.errors.ts';
import { FeedbackRepository } from './feedback.repository.ts';
import {
  checkAttributes,
  checkDate,
  checkDirection,
  checkGenerationId,
  checkNonNegativeInt,
  checkNote,
  checkOptionalSnowflake,
  checkOptionalText,
  checkSha256,
  checkSnowflake,
  checkText,
  checkVote,
  ERROR_CODE_MAX_CHARS,
  MODEL_VERSION_MAX_CHARS,
  type Direction,
  type VoteValue,
} from './feedback.validation.ts';
import type { GenerationRow, ModelVersionRow } from './schema.ts';

export type { Direction, VoteValue } from './feedback.validation.ts';

/** A generation id as stored (number) or as read back from a button custom_id (digit string). */
export type GenerationIdInput = number | string;

/** A stored generation. `userId` is null once its member has been forgotten. */
export type Generation = GenerationRow;
export type ModelVersion = ModelVersionRow;

/** What the bot knows when a translation finishes (or fails). */
export interface NewGeneration {
  /** `discord` (default): asked for through the bot; `cli`: `webtoon translate --record` (no member, guild or channel). */
  source?: 'discord' | 'cli';
  /** The member; null only for `cli` generations. */
  userId: string | null;
  /** null in direct messages. */
  guildId: string | null;
  /** The channel; null only for `cli` generations. */
  channelId: string | null;
  interactionId?: string | null;
  /** Usually attached later with {@link FeedbackService.attachMessage}, once the reply exists. */
  messageId?: string | null;
  direction: Direction;
  modelVersion: string;
  /**
   * SHA-256 (hex) of the input image bytes; the image itself is never stored. null only for a failure
   * before any byte was downloaded (a refused attachment, a rate limit, a failed download).
   */
  inputSha256: string | null;
  facesFound: number;
  latencyMs: number;
  status: 'ok' | 'failed';
  /** The error's code when status is 'failed' (e.g. `NO_FACE`). */
  errorCode?: string | null;
  /** The output mode asked for (default `face`). */
  outputMode?: OutputMode;
  /** For a variation (a button under a result): the generation it came from. */
  parentGenerationId?: GenerationIdInput | null;
  /** Defaults to now; set for imports and seeded tests. */
  createdAt?: Date;
}

/** What the bot knows when a request starts (its outcome comes with {@link FeedbackService.finishGeneration}). */
export interface StartedGeneration {
  userId: string;
  guildId: string | null;
  channelId: string;
  interactionId?: string | null;
  direction: Direction;
  /** The output mode asked for (default face). */
  outputMode?: OutputMode;
  /** For a variation: the generation whose button was pressed. */
  parentGenerationId?: GenerationIdInput | null;
}

/** The outcome of a started generation (`messageId`: the reply's, when the reply was posted). */
export type GenerationOutcome = Pick<NewGeneration, 'modelVersion' | 'inputSha256' | 'facesFound' | 'latencyMs' | 'status' | 'errorCode' | 'messageId'>;

export type OutputMode = 'face' | 'photo' | 'side_by_side';

export interface VoteResult {
  value: VoteValue;
  /** The member's vote before this call; null when this is their first. */
  previous: VoteValue | null;
}

export interface ReportResult {
  /** Attributes this call added. */
  created: AttributeId[];
  /** Attributes the member had already reported for this generation (kept; the note is updated when given). */
  existing: AttributeId[];
}

export interface ForgetResult {
  ratingsDeleted: number;
  reportsDeleted: number;
  /** Every anonymised generation, refused attempts included. */
  generationsAnonymised: number;
  /** Of those, the results (status ok): what /webtoon-stats and the report count as results. */
  resultsAnonymised: number;
}

export interface NewModelVersion {
  version: string;
  direction: Direction;
  /** SHA-256 (hex) of the ONNX file. */
  fileSha256: string;
  notes?: string | null;
  /** Defaults to now; set for imports and seeded tests. */
  createdAt?: Date;
}

/** The feedback store: generations, ratings, attribute reports, model versions, erasure. */
export class FeedbackService {
  private readonly repo: FeedbackRepository;

  /** @param database - an open handle from `openDatabase`, or its drizzle `db`. */
  constructor(database: DatabaseHandle | Db) {
    const db = 'kind' in database && 'close' in database ? database.db : (database as Db);
    this.repo = new FeedbackRepository(db);
  }

  /**
   * Record one translation request and its outcome.
   * @throws {FeedbackError} INVALID_ID for a malformed Discord id, INVALID_INPUT for any other bad field.
   */
  async recordGeneration(input: NewGeneration): Promise<Generation> {
    if (typeof input !== 'object' || input === null) throw new FeedbackError('INVALID_INPUT', 'input: expected an object', { parameter: 'input' });
    const status = input.status;
    if (status !== 'ok' && status !== 'failed') {
      throw new FeedbackError('INVALID_INPUT', `status: expected 'ok' or 'failed', received ${JSON.stringify(status)}`, { parameter: 'status', received: status });
    }
    const source = input.source ?? 'discord';
    if (source !== 'discord' && source !== 'cli') {
      throw new FeedbackError('INVALID_INPUT', `source: expected 'discord' or 'cli', received ${JSON.stringify(source)}`, { parameter: 'source', received: source });
    }
    if (source === 'cli') {
      for (const key of ['userId', 'guildId', 'channelId', 'interactionId', 'messageId'] as const) {
        if (input[key] !== null && input[key] !== undefined) {
          throw new FeedbackError('INVALID_INPUT', `${key}: a command-line generation has no Discord ids, received ${JSON.stringify(input[key])}`, { parameter: key, received: input[key] });
        }
      }
    }
    const row = {
      source,
      userId: source === 'cli' ? null : checkSnowflake('userId', input.userId),
      guildId: checkOptionalSnowflake('guildId', input.guildId),
      channelId: source === 'cli' ? null : checkSnowflake('channelId', input.channelId),
      interactionId: checkOptionalSnowflake('interactionId', input.interactionId),
      messageId: checkOptionalSnowflake('messageId', input.messageId),
      direction: checkDirection(input.direction),
      modelVersion: checkText('modelVersion', input.modelVersion, MODEL_VERSION_MAX_CHARS),
      inputSha256: status === 'failed' && input.inputSha256 === null ? null : checkSha256('inputSha256', input.inputSha256),
      facesFound: checkNonNegativeInt('facesFound', input.facesFound),
      latencyMs: checkNonNegativeInt('latencyMs', input.latencyMs),
      status,
      errorCode: checkOptionalText('errorCode', input.errorCode, ERROR_CODE_MAX_CHARS),
      outputMode: checkOutputMode(input.outputMode),
      parentGenerationId: input.parentGenerationId == null ? null : checkGenerationId(input.parentGenerationId, 'parentGenerationId'),
      ...(input.createdAt === undefined ? {} : { createdAt: checkDate('createdAt', input.createdAt) }),
    };
    try {
      return await this.repo.insertGeneration(row);
    } catch (err) {
      if (pgErrorCode(err) === '23503' && row.parentGenerationId !== null) throw unknownGeneration(row.parentGenerationId);
      if (pgErrorCode(err) === '23505') {
        throw new FeedbackError('INVALID_INPUT', `messageId: ${row.messageId} already belongs to another generation`, { parameter: 'messageId', received: row.messageId });
      }
      throw err;
    }
  }

  /**
   * Record that a request started: one `pending` row, so that every request has exactly one row and a
   * member forgotten while it runs is anonymised too. Finish it with {@link finishGeneration}.
   * @throws {FeedbackError} INVALID_ID, INVALID_INPUT
   */
  async startGeneration(input: StartedGeneration): Promise<Generation> {
    if (typeof input !== 'object' || input === null) throw new FeedbackError('INVALID_INPUT', 'input: expected an object', { parameter: 'input' });
    const row = {
      userId: checkSnowflake('userId', input.userId),
      guildId: checkOptionalSnowflake('guildId', input.guildId),
      channelId: checkSnowflake('channelId', input.channelId),
      interactionId: checkOptionalSnowflake('interactionId', input.interactionId),
      messageId: null,
      direction: checkDirection(input.direction),
      modelVersion: 'pending',
      inputSha256: null,
      facesFound: 0,
      latencyMs: 0,
      status: 'pending' as const,
      errorCode: null,
      outputMode: checkOutputMode(input.outputMode),
      parentGenerationId: input.parentGenerationId == null ? null : checkGenerationId(input.parentGenerationId, 'parentGenerationId'),
    };
    try {
      return await this.repo.insertGeneration(row);
    } catch (err) {
      if (pgErrorCode(err) === '23503' && row.parentGenerationId !== null) throw unknownGeneration(row.parentGenerationId);
      throw err;
    }
  }

  /**
   * Write the outcome of a started request, once. Returns the row, or undefined when it was finished
   * already (a second outcome for one request is ignored, never a second row).
   * @throws {FeedbackError} INVALID_ID, INVALID_INPUT
   */
  async finishGeneration(generationId: GenerationIdInput, outcome: GenerationOutcome): Promise<Generation | undefined> {
    const id = checkGenerationId(generationId);
    if (typeof outcome !== 'object' || outcome === null) throw new FeedbackError('INVALID_INPUT', 'outcome: expected an object', { parameter: 'outcome' });
    const status = outcome.status;
    if (status !== 'ok' && status !== 'failed') {
      throw new FeedbackError('INVALID_INPUT', `status: expected 'ok' or 'failed', received ${JSON.stringify(status)}`, { parameter: 'status', received: status });
    }
    return this.repo.finishGeneration(id, {
      modelVersion: checkText('modelVersion', outcome.modelVersion, MODEL_VERSION_MAX_CHARS),
      inputSha256: outcome.inputSha256 === null ? null : checkSha256('inputSha256', outcome.inputSha256),
      facesFound: checkNonNegativeInt('facesFound', outcome.facesFound),
      latencyMs: checkNonNegativeInt('latencyMs', outcome.latencyMs),
      status,
      errorCode: checkOptionalText('errorCode', outcome.errorCode, ERROR_CODE_MAX_CHARS),
      messageId: checkOptionalSnowflake('messageId', outcome.messageId),
    });
  }

  /**
   * Attach the reply's message id once the bot has posted it, so reactions can find the generation.
   * @throws {FeedbackError} INVALID_ID, UNKNOWN_GENERATION, or INVALID_INPUT when the message id is taken.
   */
  async attachMessage(generationId: GenerationIdInput, messageId: string): Promise<Generation> {
    const id = checkGenerationId(generationId);
    const message = checkSnowflake('messageId', messageId);
    try {
      const updated = await this.repo.setMessageId(id, message);
      if (!updated) throw unknownGeneration(id);
      return updated;
    } catch (err) {
      if (pgErrorCode(err) === '23505') {
        throw new FeedbackError('INVALID_INPUT', `messageId: ${message} already belongs to another generation`, { parameter: 'messageId', received: message });
      }
      throw err;
    }
  }

  /**
   * A member's votes with the channel and message of the result they are on, so the bot can take
   * their reactions away before /forget-me erases the votes. @throws {FeedbackError} INVALID_ID
   */
  async votesWithMessages(userId: string): Promise<{ generationId: number; value: VoteValue; channelId: string | null; messageId: string | null }[]> {
    return this.repo.votesWithMessages(checkSnowflake('userId', userId));
  }

  /** The generation with this id, or undefined. @throws {FeedbackError} INVALID_ID */
  async findGeneration(generationId: GenerationIdInput): Promise<Generation | undefined> {
    return this.repo.generationById(checkGenerationId(generationId));
  }

  /** The generation whose reply is this message, or undefined. @throws {FeedbackError} INVALID_ID */
  async findGenerationByMessageId(messageId: string): Promise<Generation | undefined> {
    return this.repo.generationByMessageId(checkSnowflake('messageId', messageId));
  }

  /**
   * Record a member's 👍 (`'up'`) or 👎 (`'down'`); a second vote replaces the first.
   * @throws {FeedbackError} INVALID_ID, INVALID_VOTE, UNKNOWN_GENERATION
   */
  async vote(generationId: GenerationIdInput, userId: string, value: VoteValue): Promise<VoteResult> {
    const id = checkGenerationId(generationId);
    const user = checkSnowflake('userId', userId);
    const vote = checkVote(value);
    await this.requireGeneration(id);
    try {
      const { previous } = await this.repo.upsertVote(id, user, vote);
      return { value: vote, previous };
    } catch (err) {
      throw pgErrorCode(err) === '23503' ? unknownGeneration(id) : err;
    }
  }

  /**
   * A member removed a reaction: delete their vote only if it is still `value` (removing 👍 after
   * switching to 👎 changes nothing). Returns true when a vote was deleted.
   * @throws {FeedbackError} INVALID_ID, INVALID_VOTE, UNKNOWN_GENERATION
   */
  async removeVote(generationId: GenerationIdInput, userId: string, value: VoteValue): Promise<boolean> {
    const id = checkGenerationId(generationId);
    const user = checkSnowflake('userId', userId);
    const vote = checkVote(value);
    await this.requireGeneration(id);
    return this.repo.deleteVote(id, user, vote);
  }

  /** The member's current vote on a generation, or null. */
  async voteOf(generationId: GenerationIdInput, userId: string): Promise<VoteValue | null> {
    return this.repo.voteOf(checkGenerationId(generationId), checkSnowflake('userId', userId));
  }

  /** 👍 and 👎 counts of a generation. */
  async voteCounts(generationId: GenerationIdInput): Promise<{ up: number; down: number }> {
    return this.repo.voteCounts(checkGenerationId(generationId));
  }

  /**
   * Report which attributes the translation lost. Idempotent per member, generation and attribute:
   * repeating a report adds nothing (a new non-empty note replaces the old one).
   * @param note - optional free text, at most 500 characters.
   * @throws {FeedbackError} INVALID_ID, NO_ATTRIBUTE, UNKNOWN_ATTRIBUTE, NOTE_TOO_LONG, UNKNOWN_GENERATION
   */
  async report(generationId: GenerationIdInput, userId: string, attributes: readonly string[], note?: string | null): Promise<ReportResult> {
    const id = checkGenerationId(generationId);
    const user = checkSnowflake('userId', userId);
    const attrs = checkAttributes(attributes);
    const cleanNote = checkNote(note);
    await this.requireGeneration(id);
    try {
      const rows = await this.repo.upsertReports(id, user, attrs, cleanNote);
      const created = new Set(rows.filter((r) => r.created).map((r) => r.attribute));
      return { created: attrs.filter((a) => created.has(a)), existing: attrs.filter((a) => !created.has(a)) };
    } catch (err) {
      throw pgErrorCode(err) === '23503' ? unknownGeneration(id) : err;
    }
  }

  /** Reports on a generation (optionally one member's), oldest first. */
  async reportsOf(generationId: GenerationIdInput, userId?: string): Promise<{ userId: string; attribute: AttributeId; note: string | null }[]> {
    return this.repo.reportsOf(checkGenerationId(generationId), userId === undefined ? undefined : checkSnowflake('userId', userId));
  }

  /**
   * Erase a member: delete all their ratings and reports and anonymise their generations, pending
   * ones included (user, interaction, message, channel and guild ids and the input hash are cleared;
   * the counts stay for the statistics).
   * @throws {FeedbackError} INVALID_ID
   */
  async forgetUser(userId: string): Promise<ForgetResult> {
    return this.repo.forgetUser(checkSnowflake('userId', userId));
  }

  /**
   * Register the model that serves a direction. Idempotent: registering the same version with the
   * same file hash again returns the stored row.
   * @throws {FeedbackError} INVALID_INPUT, or MODEL_VERSION_CONFLICT when the version exists with another file hash.
   */
  async registerModelVersion(input: NewModelVersion): Promise<{ modelVersion: ModelVersion; created: boolean }> {
    if (typeof input !== 'object' || input === null) throw new FeedbackError('INVALID_INPUT', 'input: expected an object', { parameter: 'input' });
    const row = {
      version: checkText('version', input.version, MODEL_VERSION_MAX_CHARS),
      direction: checkDirection(input.direction),
      fileSha256: checkSha256('fileSha256', input.fileSha256),
      notes: checkOptionalText('notes', input.notes, 2000),
      ...(input.createdAt === undefined ? {} : { createdAt: checkDate('createdAt', input.createdAt) }),
    };
    const { row: stored, created } = await this.repo.upsertModelVersion(row);
    if (stored.fileSha256 !== row.fileSha256) {
      throw new FeedbackError(
        'MODEL_VERSION_CONFLICT',
        `version: ${row.direction} ${row.version} is already registered with file ${stored.fileSha256}, received ${row.fileSha256}`,
        { parameter: 'version', received: row.version, registeredSha256: stored.fileSha256 },
      );
    }
    return { modelVersion: stored, created };
  }

  /** Registered model versions (optionally of one direction), oldest first. */
  async listModelVersions(direction?: Direction): Promise<ModelVersion[]> {
    return this.repo.modelVersions(direction === undefined ? undefined : checkDirection(direction));
  }

  private async requireGeneration(id: number): Promise<void> {
    if (!(await this.repo.generationExists(id))) throw unknownGeneration(id);
  }
}

function checkOutputMode(value: unknown): OutputMode {
  if (value === undefined || value === null) return 'face';
  if (value === 'face' || value === 'photo' || value === 'side_by_side') return value;
  throw new FeedbackError('INVALID_INPUT', `outputMode: expected 'face', 'photo' or 'side_by_side', received ${JSON.stringify(value)}`, { parameter: 'outputMode', received: value });
}

function unknownGeneration(id: number): FeedbackError {
  return new FeedbackError('UNKNOWN_GENERATION', `generationId: no generation ${id}`, { parameter: 'generationId', received: id });
}
