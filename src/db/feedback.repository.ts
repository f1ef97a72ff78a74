/**
 * The feedback store's queries. Only this module (and the report queries) touch the database; the
 * {@link FeedbackService} validates arguments first and calls these with clean values.
 * Writes that members can race (votes, reports, model registration) are single-statement upserts,
 * so any number of concurrent identical requests end as exactly one row.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import type { AttributeId } from '../shared/attributes.ts';
import type { Db } from './client.ts';
import { rowsOf } from './client.ts';
import type { Direction, VoteValue } from './feedback.validation.ts';
import { attributeReports, generations, modelVersions, ratings, type GenerationRow, type ModelVersionRow } from './schema.ts';

export type NewGenerationRow = typeof generations.$inferInsert;

export class FeedbackRepository {
  constructor(private readonly db: Db) {}

  async insertGeneration(row: NewGenerationRow): Promise<GenerationRow> {
    const [created] = await this.db.insert(generations).values(row).returning();
    return created;
  }

  /** Set the reply's message id; undefined when there is no such generation. */
  async setMessageId(id: number, messageId: string): Promise<GenerationRow | undefined> {
    const [updated] = await this.db.update(generations).set({ messageId }).where(eq(generations.id, id)).returning();
    return updated;
  }

  async generationById(id: number): Promise<GenerationRow | undefined> {
    const [row] = await this.db.select().from(generations).where(eq(generations.id, id)).limit(1);
    return row;
  }

  async generationByMessageId(messageId: string): Promise<GenerationRow | undefined> {
    const [row] = await this.db.select().from(generations).where(eq(generations.messageId, messageId)).limit(1);
    return row;
  }

  async generationExists(id: number): Promise<boolean> {
    const [row] = await this.db.select({ id: generations.id }).from(generations).where(eq(generations.id, id)).limit(1);
    return row !== undefined;
  }

  /** Insert or change a vote in one statement; returns the previous value (null when new). */
  async upsertVote(generationId: number, userId: string, value: VoteValue): Promise<{ previous: VoteValue | null }> {
    const res = await this.db.execute(sql`
      with prev as (
        select ${ratings.value} as value from ${ratings}
        where ${ratings.generationId} = ${generationId} and ${ratings.userId} = ${userId}
      )
      insert into ${ratings} (generation_id, user_id, value) values (${generationId}, ${userId}, ${value})
      on conflict (generation_id, user_id) do update set value = excluded.value, updated_at = now()
      returning (select value from prev) as previous`);
    const previous = rowsOf(res)[0]?.previous;
    return { previous: previous === 'up' || previous === 'down' ? previous : null };
  }

  /** Delete the vote only when it still has `value`; true when a row went away. */
  async deleteVote(generationId: number, userId: string, value: VoteValue): Promise<boolean> {
    const deleted = await this.db
      .delete(ratings)
      .where(and(eq(ratings.generationId, generationId), eq(ratings.userId, userId), eq(ratings.value, value)))
      .returning({ userId: ratings.userId });
    return deleted.length > 0;
  }

  async voteOf(generationId: number, userId: string): Promise<VoteValue | null> {
    const [row] = await this.db
      .select({ value: ratings.value })
      .from(ratings)
      .where(and(eq(ratings.generationId, generationId), eq(ratings.userId, userId)))
      .limit(1);
    return row?.value ?? null;
  }

  async voteCounts(generationId: number): Promise<{ up: number; down: number }> {
    const [row] = await this.db
      .select({
        up: sql<number>`count(*) filter (where ${ratings.value} = 'up')::int`,
        down: sql<number>`count(*) filter (where ${ratings.value} = 'down')::int`,
      })
      .from(ratings)
      .where(eq(ratings.generationId, generationId));
    return { up: Number(row?.up ?? 0), down: Number(row?.down ?? 0) };
  }

  /**
   * Insert one report per attribute in one statement. An existing report keeps its row; a new
   * non-empty note replaces the old one. Returns which attributes were new.
   */
  async upsertReports(generationId: number, userId: string, attributes: AttributeId[], note: string | null): Promise<{ attribute: AttributeId; created: boolean }[]> {
    const rows = await this.db
      .insert(attributeReports)
      .values(attributes.map((attribute) => ({ generationId, userId, attribute, note })))
      .onConflictDoUpdate({
        target: [attributeReports.generationId, attributeReports.userId, attributeReports.attribute],
        set: { note: sql`coalesce(excluded.note, ${attributeReports.note})` },
      })
      // xmax is 0 on a freshly inserted row version and non-zero on one written by the update branch.
      .returning({ attribute: attributeReports.attribute, created: sql<boolean>`(xmax = 0)` });
    return rows.map((r) => ({ attribute: r.attribute as AttributeId, created: r.created === true || String(r.created) === 'true' }));
  }

  async reportsOf(generationId: number, userId?: string): Promise<{ userId: string; attribute: AttributeId; note: string | null }[]> {
    const where = userId === undefined ? eq(attributeReports.generationId, generationId) : and(eq(attributeReports.generationId, generationId), eq(attributeReports.userId, userId));
    const rows = await this.db
      .select({ userId: attributeReports.userId, attribute: attributeReports.attribute, note: attributeReports.note })
      .from(attributeReports)
      .where(where)
      .orderBy(asc(attributeReports.id));
    return rows.map((r) => ({ ...r, attribute: r.attribute as AttributeId }));
  }

  /** Delete a member's ratings and reports and anonymise their generations, atomically. */
  async forgetUser(userId: string): Promise<{ ratingsDeleted: number; reportsDeleted: number; generationsAnonymised: number }> {
    return this.db.transaction(async (tx) => {
      const r = await tx.delete(ratings).where(eq(ratings.userId, userId)).returning({ g: ratings.generationId });
      const a = await tx.delete(attributeReports).where(eq(attributeReports.userId, userId)).returning({ id: attributeReports.id });
      const g = await tx
        .update(generations)
        .set({ userId: null, interactionId: null, inputSha256: null, anonymisedAt: sql`now()` })
        .where(eq(generations.userId, userId))
        .returning({ id: generations.id });
      return { ratingsDeleted: r.length, reportsDeleted: a.length, generationsAnonymised: g.length };
    });
  }

  /** Insert the model version unless (direction, version) exists; returns the stored row either way. */
  async upsertModelVersion(row: { version: string; direction: Direction; fileSha256: string; notes: string | null; createdAt?: Date }): Promise<{ row: ModelVersionRow; created: boolean }> {
    const [inserted] = await this.db.insert(modelVersions).values(row).onConflictDoNothing().returning();
    if (inserted) return { row: inserted, created: true };
    const [existing] = await this.db
      .select()
      .from(modelVersions)
      .where(and(eq(modelVersions.direction, row.direction), eq(modelVersions.version, row.version)))
      .limit(1);
    return { row: existing, created: false };
  }

  async modelVersions(direction?: Direction): Promise<ModelVersionRow[]> {
    return this.db
      .select()
      .from(modelVersions)
      .where(direction === undefined ? undefined : eq(modelVersions.direction, direction))
      .orderBy(asc(modelVersions.direction), asc(modelVersions.createdAt), asc(modelVersions.id));
  }
}
