/**
 * The rebalancing report's SQL: two aggregate queries ({@link queryReportInput}) over generations,
 * ratings and attribute reports, then the pure {@link computeReport}.
 */
import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type DatabaseHandle, type Db } from './client.ts';
import { checkDirection, type Direction } from './feedback.validation.ts';
import { ReportError } from './report.errors.ts';
import { computeReport, type RebalancingReport, type ReportFilters, type ReportInput } from './report.maths.ts';

function checkFilters(filters: ReportFilters): void {
  if (filters.since !== undefined && (!(filters.since instanceof Date) || Number.isNaN(filters.since.getTime()))) {
    throw new ReportError('INVALID_FILTER', `since: expected a valid Date, received ${String(filters.since)}`, { parameter: 'since' });
  }
  if (filters.direction !== undefined && filters.direction !== 'a2b' && filters.direction !== 'b2a') {
    throw new ReportError('INVALID_FILTER', `direction: expected 'a2b' or 'b2a', received ${JSON.stringify(filters.direction)}`, { parameter: 'direction', received: filters.direction });
  }
  if (filters.modelVersion !== undefined && (typeof filters.modelVersion !== 'string' || filters.modelVersion.trim() === '')) {
    throw new ReportError('INVALID_FILTER', `modelVersion: expected a non-empty string, received ${JSON.stringify(filters.modelVersion)}`, { parameter: 'modelVersion' });
  }
}

function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  const d = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(d.getTime()) ? null : d;
}

function windowConditions(filters: ReportFilters): SQL {
  const parts: SQL[] = [sql`true`];
  if (filters.since) parts.push(sql`g.created_at >= ${filters.since.toISOString()}::timestamptz`);
  if (filters.direction) parts.push(sql`g.direction = ${checkDirection(filters.direction)}`);
  return sql.join(parts, sql` and `);
}

/** Run the two aggregate queries the report is computed from. The model-version filter is applied later. */
export async function queryReportInput(db: Db, filters: ReportFilters = {}): Promise<ReportInput> {
  const where = windowConditions(filters);
  const versionRes = await db.execute(sql`
    select g.direction, g.model_version,
           min(mv.created_at) as registered_at,
           min(g.created_at) as first_generation_at,
           count(*) filter (where g.status = 'ok')::int as generations,
           count(*) filter (where g.status = 'failed')::int as failed_generations,
           count(*) filter (where g.status = 'ok' and r.generation_id is not null)::int as rated_generations,
           coalesce(sum(r.up) filter (where g.status = 'ok'), 0)::int as up_votes,
           coalesce(sum(r.down) filter (where g.status = 'ok'), 0)::int as down_votes
    from generations g
    left join (
      select generation_id,
             count(*) filter (where value = 'up') as up,
             count(*) filter (where value = 'down') as down
      from ratings group by generation_id
    ) r on r.generation_id = g.id
    left join model_versions mv on mv.direction = g.direction and mv.version = g.model_version
    where ${where}
    group by g.direction, g.model_version`);
  const attributeRes = await db.execute(sql`
    select g.direction, g.model_version, a.attribute,
           count(*)::int as reports,
           count(distinct a.generation_id)::int as reported_generations
    from attribute_reports a
    join generations g on g.id = a.generation_id
    where g.status = 'ok' and ${where}
    group by g.direction, g.model_version, a.attribute`);
  return {
    versions: rowsOf(versionRes).map((r) => ({
      direction: r.direction as Direction,
      modelVersion: String(r.model_version),
      registeredAt: toDate(r.registered_at),
      firstGenerationAt: toDate(r.first_generation_at) ?? new Date(0),
      generations: Number(r.generations),
      failedGenerations: Number(r.failed_generations),
      ratedGenerations: Number(r.rated_generations),
      upVotes: Number(r.up_votes),
      downVotes: Number(r.down_votes),
    })),
    attributes: rowsOf(attributeRes).map((r) => ({
      direction: r.direction as Direction,
      modelVersion: String(r.model_version),
      attribute: String(r.attribute),
      reports: Number(r.reports),
      reportedGenerations: Number(r.reported_generations),
    })),
  };
}

/**
 * Build the rebalancing report from the database (the bot's `/webtoon-stats` and `webtoon report`).
 * @param database - an open handle (or its drizzle db), already migrated.
 */
export async function buildReport(database: DatabaseHandle | Db, filters: ReportFilters = {}, generatedAt: Date = new Date()): Promise<RebalancingReport> {
  checkFilters(filters);
  const db = 'kind' in database && 'close' in database ? database.db : (database as Db);
  return computeReport(await queryReportInput(db, filters), filters, generatedAt);
}

