/**
 * The feedback store's schema (drizzle). Migrations in `migrations/` are generated from this file by
 * `npm run db:generate` (drizzle-kit) and committed; never edit the SQL by hand.
 *
 * Images are never stored: a generation keeps only the SHA-256 of its input.
 */
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  check,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** `a2b` = photo → webtoon (`/webtoonify`), `b2a` = webtoon → photo (`/reverse`). */
export const directionEnum = pgEnum('direction', ['a2b', 'b2a']);
/** `pending`: the request is being worked on (one row per request, written when it starts, finished once). */
export const generationStatusEnum = pgEnum('generation_status', ['ok', 'failed', 'pending']);
export const voteEnum = pgEnum('vote', ['up', 'down']);
/** Where a generation was asked for: the Discord bot, or `webtoon translate --record` on the command line. */
export const generationSourceEnum = pgEnum('generation_source', ['discord', 'cli']);
/** What the member got back: the face, the whole photo with the face blended in, or input | face. */
export const outputModeEnum = pgEnum('output_mode', ['face', 'photo', 'side_by_side']);

/** A model that served generations: one row per (direction, version). */
export const modelVersions = pgTable(
  'model_versions',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    version: text('version').notNull(),
    direction: directionEnum('direction').notNull(),
    fileSha256: text('file_sha256').notNull(),
    notes: text('notes'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('model_versions_direction_version_uq').on(t.direction, t.version),
    check('model_versions_file_sha256_hex', sql`${t.fileSha256} ~ '^[0-9a-f]{64}$'`),
  ],
);

/**
 * One translation request and its outcome. Every id that points back to the member (user,
 * interaction, message, channel, guild) and the input hash become NULL (and `anonymisedAt` is set)
 * when the member asks to be forgotten; the row stays for the statistics.
 */
export const generations = pgTable(
  'generations',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    userId: text('user_id'),
    guildId: text('guild_id'),
    channelId: text('channel_id'),
    interactionId: text('interaction_id'),
    messageId: text('message_id'),
    direction: directionEnum('direction').notNull(),
    modelVersion: text('model_version').notNull(),
    inputSha256: text('input_sha256'),
    facesFound: integer('faces_found').notNull(),
    latencyMs: integer('latency_ms').notNull(),
    status: generationStatusEnum('status').notNull(),
    source: generationSourceEnum('source').notNull().default('discord'),
    errorCode: text('error_code'),
    /** The output mode asked for. */
    outputMode: outputModeEnum('output_mode').notNull().default('face'),
    /** A variation (a button under a result) points at the generation it came from; null for a first request. */
    parentGenerationId: bigint('parent_generation_id', { mode: 'number' }).references((): AnyPgColumn => generations.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    anonymisedAt: timestamp('anonymised_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('generations_message_id_uq').on(t.messageId),
    index('generations_user_id_idx').on(t.userId),
    index('generations_direction_version_idx').on(t.direction, t.modelVersion, t.createdAt),
    index('generations_parent_generation_id_idx').on(t.parentGenerationId),
    check('generations_faces_found_nonneg', sql`${t.facesFound} >= 0`),
    check('generations_latency_ms_nonneg', sql`${t.latencyMs} >= 0`),
    check('generations_input_sha256_hex', sql`${t.inputSha256} IS NULL OR ${t.inputSha256} ~ '^[0-9a-f]{64}$'`),
  ],
);

/**
 * The automatic audit of a generation (src/analysis/audit.ts): face analysis of the input crop and of the
 * output. Never the face descriptors themselves (biometric data), only the numbers derived from them.
 * `glasses` and `hands` are 'unknown': no detector here can tell, and the audit says so rather than guess.
 */
export const generationAudits = pgTable(
  'generation_audits',
  {
    generationId: bigint('generation_id', { mode: 'number' })
      .primaryKey()
      .references(() => generations.id, { onDelete: 'cascade' }),
    /** ok | no_input_face | no_output_face | no_face */
    status: text('status').notNull(),
    /** e.g. `face-api 1.7.15` */
    analyser: text('analyser').notNull(),
    /** weak (a2b: the output is a drawing) | meaningful (b2a: the output is photo-like) */
    trust: text('trust').notNull(),
    identitySimilarity: real('identity_similarity'),
    inputGender: text('input_gender'),
    inputGenderProbability: real('input_gender_probability'),
    inputAge: real('input_age'),
    outputGender: text('output_gender'),
    outputGenderProbability: real('output_gender_probability'),
    outputAge: real('output_age'),
    glasses: text('glasses').notNull().default('unknown'),
    hands: text('hands').notNull().default('unknown'),
    durationMs: integer('duration_ms').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    check('generation_audits_status', sql`${t.status} IN ('ok', 'no_input_face', 'no_output_face', 'no_face')`),
    check('generation_audits_trust', sql`${t.trust} IN ('weak', 'meaningful')`),
    check('generation_audits_genders', sql`${t.inputGender} IS NULL OR ${t.inputGender} IN ('male', 'female')`),
    check('generation_audits_output_gender', sql`${t.outputGender} IS NULL OR ${t.outputGender} IN ('male', 'female')`),
    check('generation_audits_similarity_range', sql`${t.identitySimilarity} IS NULL OR (${t.identitySimilarity} >= -1 AND ${t.identitySimilarity} <= 1)`),
    check('generation_audits_duration_nonneg', sql`${t.durationMs} >= 0`),
  ],
);

/** One 👍 or 👎 per member per generation; changing the vote updates the row. */
export const ratings = pgTable(
  'ratings',
  {
    generationId: bigint('generation_id', { mode: 'number' })
      .notNull()
      .references(() => generations.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    value: voteEnum('value').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.generationId, t.userId] }), index('ratings_user_id_idx').on(t.userId)],
);

/** "The model lost this attribute": one row per member, generation and attribute. */
export const attributeReports = pgTable(
  'attribute_reports',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    generationId: bigint('generation_id', { mode: 'number' })
      .notNull()
      .references(() => generations.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    attribute: text('attribute').notNull(),
    note: text('note'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('attribute_reports_generation_user_attribute_uq').on(t.generationId, t.userId, t.attribute),
    index('attribute_reports_user_id_idx').on(t.userId),
    check('attribute_reports_note_length', sql`char_length(${t.note}) <= 500`),
  ],
);

export type ModelVersionRow = typeof modelVersions.$inferSelect;
export type GenerationRow = typeof generations.$inferSelect;
export type RatingRow = typeof ratings.$inferSelect;
export type AttributeReportRow = typeof attributeReports.$inferSelect;
export type GenerationAuditRow = typeof generationAudits.$inferSelect;
