/**
 * Stores the automatic audit of a generation (one row per generation, `generation_audits`). Arguments
 * are checked before anything is written; an audit for an unknown generation is refused.
 * The audit's shape comes from src/analysis/audit.ts; this module only stores numbers and labels.
 */
import { eq } from 'drizzle-orm';
import type { DatabaseHandle, Db } from './client.ts';
import { FeedbackError, pgErrorCode } from './feedback.errors.ts';
import { checkGenerationId, checkNonNegativeInt, type Direction } from './feedback.validation.ts';
import { generationAudits, type GenerationAuditRow } from './schema.ts';

export type { GenerationAuditRow } from './schema.ts';

/** One side of the audit (the largest face of the input or of the output). */
export interface AuditSideInput {
  gender: 'male' | 'female';
  genderProbability: number;
  age: number;
}

/** What {@link AuditStore.record} accepts (the `FaceAudit` of src/analysis/audit.ts fits). */
export interface NewAudit {
  status: 'ok' | 'no_input_face' | 'no_output_face' | 'no_face';
  analyser: string;
  trust: 'weak' | 'meaningful';
  identitySimilarity: number | null;
  input: AuditSideInput | null;
  output: AuditSideInput | null;
  glasses: 'unknown';
  hands: 'unknown';
}

const STATUSES = ['ok', 'no_input_face', 'no_output_face', 'no_face'];

function bad(parameter: string, expected: string, received: unknown): FeedbackError {
  return new FeedbackError('INVALID_INPUT', `${parameter}: expected ${expected}, received ${JSON.stringify(received)}`, { parameter, received });
}

function checkSide(parameter: string, s: AuditSideInput | null): AuditSideInput | null {
  if (s === null) return null;
  if (typeof s !== 'object') throw bad(parameter, 'an object or null', s);
  if (s.gender !== 'male' && s.gender !== 'female') throw bad(`${parameter}.gender`, "'male' or 'female'", s.gender);
  if (!(typeof s.genderProbability === 'number' && s.genderProbability >= 0 && s.genderProbability <= 1)) throw bad(`${parameter}.genderProbability`, 'a number in [0, 1]', s.genderProbability);
  if (!(typeof s.age === 'number' && Number.isFinite(s.age) && s.age >= 0 && s.age < 150)) throw bad(`${parameter}.age`, 'an age in years', s.age);
  return s;
}

/** Reads and writes generation audits. */
export class AuditStore {
  private readonly db: Db;

  constructor(database: DatabaseHandle | Db) {
    this.db = 'kind' in database && 'close' in database ? database.db : (database as Db);
  }

  /**
   * Store the audit of a generation (replacing an earlier one of the same generation).
   * @throws {FeedbackError} INVALID_ID, INVALID_INPUT (before anything is written), UNKNOWN_GENERATION.
   */
  async record(generationId: number | string, audit: NewAudit, durationMs: number): Promise<GenerationAuditRow> {
    const id = checkGenerationId(generationId);
    if (typeof audit !== 'object' || audit === null) throw bad('audit', 'an object', audit);
    if (!STATUSES.includes(audit.status)) throw bad('audit.status', STATUSES.join(' | '), audit.status);
    if (audit.trust !== 'weak' && audit.trust !== 'meaningful') throw bad('audit.trust', "'weak' or 'meaningful'", audit.trust);
    if (typeof audit.analyser !== 'string' || audit.analyser.length === 0 || audit.analyser.length > 100) throw bad('audit.analyser', 'a name of 1–100 characters', audit.analyser);
    const sim = audit.identitySimilarity;
    if (sim !== null && !(typeof sim === 'number' && sim >= -1 && sim <= 1)) throw bad('audit.identitySimilarity', 'a cosine in [-1, 1] or null', sim);
    const input = checkSide('audit.input', audit.input);
    const output = checkSide('audit.output', audit.output);
    if (audit.glasses !== 'unknown' || audit.hands !== 'unknown') throw bad('audit.glasses/hands', "'unknown' (no detector can tell them here)", [audit.glasses, audit.hands]);
    const row = {
      generationId: id,
      status: audit.status,
      analyser: audit.analyser,
      trust: audit.trust,
      identitySimilarity: sim,
      inputGender: input?.gender ?? null,
      inputGenderProbability: input?.genderProbability ?? null,
      inputAge: input?.age ?? null,
      outputGender: output?.gender ?? null,
      outputGenderProbability: output?.genderProbability ?? null,
      outputAge: output?.age ?? null,
      glasses: 'unknown',
      hands: 'unknown',
      durationMs: checkNonNegativeInt('durationMs', durationMs),
    };
    try {
      const [stored] = await this.db
        .insert(generationAudits)
        .values(row)
        .onConflictDoUpdate({ target: generationAudits.generationId, set: { ...row, createdAt: new Date() } })
        .returning();
      return stored;
    } catch (err) {
      if (pgErrorCode(err) === '23503') {
        throw new FeedbackError('UNKNOWN_GENERATION', `generationId: no generation ${id}`, { parameter: 'generationId', received: id });
      }
      throw err;
    }
  }

  /** The audit of a generation, or undefined when it has none (yet). */
  async find(generationId: number | string): Promise<GenerationAuditRow | undefined> {
    const id = checkGenerationId(generationId);
    const [row] = await this.db.select().from(generationAudits).where(eq(generationAudits.generationId, id)).limit(1);
    return row;
  }
}

export type { Direction };
