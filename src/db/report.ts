/**
 * The rebalancing report: per direction × model version × attribute, how often members reported the
 * attribute lost, how the version was rated, how that changed against the previous version of the
 * same direction, and which attributes the target-domain training data should oversample.
 *
 * {@link buildReport} runs two aggregate queries; {@link computeReport} is a pure function of their
 * results, so the arithmetic is unit-tested without a database.
 */
import { sql, type SQL } from 'drizzle-orm';
import { ATTRIBUTES, type AttributeId } from '../shared/attributes.ts';
import { rowsOf, type DatabaseHandle, type Db } from './client.ts';
import { AppError } from '../errors.ts';
import { checkDirection, type Direction } from './feedback.validation.ts';

/** A report filter was malformed (a bad `--since`, direction or model version). */
export class ReportError extends AppError<'INVALID_FILTER'> {}

const RELATIVE_SINCE = /^(\d+)\s*([hdw])$/i;
const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * Parse a `--since` value: an ISO date or date-time (`2026-02-01`, `2026-02-01T12:00:00Z`) or a
 * duration before `now` (`12h`, `30d`, `2w`).
 * @throws {ReportError} INVALID_FILTER naming what was expected and what was received.
 */
export function parseSince(text: string, now: Date = new Date()): Date {
  const trimmed = text.trim();
  const rel = RELATIVE_SINCE.exec(trimmed);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2].toLowerCase()]);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    const d = new Date(trimmed.length === 10 ? `${trimmed}T00:00:00Z` : trimmed);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new ReportError('INVALID_FILTER', `since: expected an ISO date (2026-02-01), date-time, or a duration like 12h, 30d, 2w; received ${JSON.stringify(text)}`, {
    parameter: 'since',
    received: text,
  });
}

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

/** Largest recommended oversampling factor. */
export const OVERSAMPLING_CAP = 4;
/** Attributes with fewer reports than this get factor 1: too little evidence to reweight data. */
export const OVERSAMPLING_MIN_REPORTS = 3;
/** Attributes that describe no image property cannot be oversampled and are left out of the ranking. */
const NOT_RANKED: ReadonlySet<AttributeId> = new Set(['other']);
/** The attributes the ranking and its baseline are computed over. */
const RANKED_ATTRIBUTES = ATTRIBUTES.filter((a) => !NOT_RANKED.has(a.id));

export const OVERSAMPLING_FORMULA =
  `factor(a) = clamp(rate(a) / baseline, 1, ${OVERSAMPLING_CAP}), where rate(a) = reports of a / generations of the ranked version, ` +
  `baseline = mean rate over the ${RANKED_ATTRIBUTES.length} image attributes (all but "other"); factor = 1 when a has fewer than ${OVERSAMPLING_MIN_REPORTS} reports`;

export interface ReportFilters {
  /** Only generations created at or after this instant. */
  since?: Date;
  direction?: Direction;
  /** Only rows of this model version (its change is still computed against its predecessor). */
  modelVersion?: string;
}

/** Aggregates of one (direction, model version) from the database. */
export interface VersionCounts {
  direction: Direction;
  modelVersion: string;
  /** When the version was registered; null when it served generations without being registered. */
  registeredAt: Date | null;
  /** Its earliest generation in the window. */
  firstGenerationAt: Date;
  /** Successful generations (the ones members could see and rate). */
  generations: number;
  failedGenerations: number;
  /** Successful generations with at least one 👍/👎. */
  ratedGenerations: number;
  upVotes: number;
  downVotes: number;
}

/** Reports of one attribute on one (direction, model version), from the database. */
export interface AttributeCounts {
  direction: Direction;
  modelVersion: string;
  attribute: string;
  reports: number;
  reportedGenerations: number;
}

export interface ReportInput {
  versions: VersionCounts[];
  attributes: AttributeCounts[];
}

/** One direction × model version. Shares and rates are fractions in [0, 1]; null when undefined (0/0). */
export interface VersionSummary {
  direction: Direction;
  modelVersion: string;
  registeredAt: string | null;
  previousModelVersion: string | null;
  generations: number;
  failedGenerations: number;
  ratedGenerations: number;
  upVotes: number;
  downVotes: number;
  /** 👍 / (👍 + 👎). */
  upShare: number | null;
  /** upShare minus the previous version's. */
  upShareChange: number | null;
  /** All attribute reports on this version. */
  reports: number;
}

/** One direction × model version × attribute. */
export interface ReportRow {
  direction: Direction;
  modelVersion: string;
  attribute: AttributeId;
  label: string;
  emoji: string;
  generations: number;
  ratedGenerations: number;
  upShare: number | null;
  reports: number;
  /** Distinct generations with at least one report of the attribute. */
  reportedGenerations: number;
  /** reports / generations. */
  reportRate: number | null;
  previousModelVersion: string | null;
  previousReportRate: number | null;
  /** reportRate minus previousReportRate (negative = fewer failures than before). */
  reportRateChange: number | null;
  upShareChange: number | null;
  /** Position in the ranking when this row's version is the ranked one and it has reports; else null. */
  rank: number | null;
  /** The ranking's oversampling factor for this row, else null. */
  oversamplingFactor: number | null;
}

/** An attribute of the ranking: fails often on the version now ranked for its direction. */
export interface RankedAttribute {
  rank: number;
  direction: Direction;
  /** The version whose reports were ranked (the latest in the window, or the one filtered on). */
  modelVersion: string;
  /** Domain whose training images to oversample: B (webtoon) for a2b, A (photos) for b2a. */
  targetDomain: 'A' | 'B';
  attribute: AttributeId;
  label: string;
  emoji: string;
  reports: number;
  generations: number;
  reportRate: number;
  /** Mean report rate over the image attributes of that version. */
  baselineRate: number;
  /** Multiply the sampling weight of target-domain training images that carry the attribute by this. */
  oversamplingFactor: number;
}

export interface RebalancingReport {
  generatedAt: string;
  filters: { since: string | null; direction: Direction | null; modelVersion: string | null };
  oversampling: { formula: string; cap: number; minReports: number };
  versions: VersionSummary[];
  rows: ReportRow[];
  ranking: RankedAttribute[];
}

const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);
const diff = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Versions of one direction, oldest first: by registration time, else by their first generation. */
function chronological(versions: VersionCounts[]): VersionCounts[] {
  const at = (v: VersionCounts) => (v.registeredAt ?? v.firstGenerationAt).getTime();
  return [...versions].sort((a, b) => at(a) - at(b) || a.modelVersion.localeCompare(b.modelVersion));
}

/**
 * The oversampling factor for one attribute: how many times more often it is reported than the
 * average image attribute, clamped to [1, {@link OVERSAMPLING_CAP}]; 1 with fewer than
 * {@link OVERSAMPLING_MIN_REPORTS} reports.
 */
export function oversamplingFactor(reports: number, rate: number, baselineRate: number): number {
  if (reports < OVERSAMPLING_MIN_REPORTS || baselineRate <= 0) return 1;
  return round(Math.min(OVERSAMPLING_CAP, Math.max(1, rate / baselineRate)), 2);
}

/**
 * Build the report from aggregate counts (pure).
 * @param generatedAt - stamped into the report (tests pass a fixed instant).
 */
export function computeReport(input: ReportInput, filters: ReportFilters = {}, generatedAt: Date = new Date()): RebalancingReport {
  const counts = new Map<string, AttributeCounts>();
  for (const a of input.attributes) counts.set(`${a.direction}\u0000${a.modelVersion}\u0000${a.attribute}`, a);
  const countOf = (v: VersionCounts, attribute: string) => counts.get(`${v.direction}\u0000${v.modelVersion}\u0000${attribute}`);

  const versions: VersionSummary[] = [];
  const rows: ReportRow[] = [];
  const ranking: Omit<RankedAttribute, 'rank'>[] = [];

  for (const direction of ['a2b', 'b2a'] as const) {
    if (filters.direction && filters.direction !== direction) continue;
    const ordered = chronological(input.versions.filter((v) => v.direction === direction));
    ordered.forEach((v, i) => {
      const prev = i > 0 ? ordered[i - 1] : undefined;
      if (filters.modelVersion !== undefined && v.modelVersion !== filters.modelVersion) return;
      const upShare = ratio(v.upVotes, v.upVotes + v.downVotes);
      const prevUpShare = prev ? ratio(prev.upVotes, prev.upVotes + prev.downVotes) : null;
      let total = 0;
      for (const attr of ATTRIBUTES) {
        const c = countOf(v, attr.id);
        const reports = c?.reports ?? 0;
        total += reports;
        const reportRate = ratio(reports, v.generations);
        const previousReportRate = prev ? ratio(countOf(prev, attr.id)?.reports ?? 0, prev.generations) : null;
        rows.push({
          direction,
          modelVersion: v.modelVersion,
          attribute: attr.id,
          label: attr.label,
          emoji: attr.emoji,
          generations: v.generations,
          ratedGenerations: v.ratedGenerations,
          upShare,
          reports,
          reportedGenerations: c?.reportedGenerations ?? 0,
          reportRate,
          previousModelVersion: prev?.modelVersion ?? null,
          previousReportRate,
          reportRateChange: diff(reportRate, previousReportRate),
          upShareChange: diff(upShare, prevUpShare),
          rank: null,
          oversamplingFactor: null,
        });
      }
      versions.push({
        direction,
        modelVersion: v.modelVersion,
        registeredAt: v.registeredAt?.toISOString() ?? null,
        previousModelVersion: prev?.modelVersion ?? null,
        generations: v.generations,
        failedGenerations: v.failedGenerations,
        ratedGenerations: v.ratedGenerations,
        upVotes: v.upVotes,
        downVotes: v.downVotes,
        upShare,
        upShareChange: diff(upShare, prevUpShare),
        reports: total,
      });
    });

    // Rank the version now served (the latest in the window) unless one was asked for.
    const rankedVersion = filters.modelVersion !== undefined ? ordered.find((v) => v.modelVersion === filters.modelVersion) : ordered.at(-1);
    if (!rankedVersion || rankedVersion.generations === 0) continue;
    const G = rankedVersion.generations;
    const imageReports = RANKED_ATTRIBUTES.reduce((sum, a) => sum + (countOf(rankedVersion, a.id)?.reports ?? 0), 0);
    const baselineRate = imageReports / (RANKED_ATTRIBUTES.length * G);
    for (const attr of RANKED_ATTRIBUTES) {
      const reports = countOf(rankedVersion, attr.id)?.reports ?? 0;
      if (reports === 0) continue;
      const reportRate = reports / G;
      ranking.push({
        direction,
        modelVersion: rankedVersion.modelVersion,
        targetDomain: direction === 'a2b' ? 'B' : 'A',
        attribute: attr.id,
        label: attr.label,
        emoji: attr.emoji,
        reports,
        generations: G,
        reportRate,
        baselineRate,
        oversamplingFactor: oversamplingFactor(reports, reportRate, baselineRate),
      });
    }
  }

  const order = new Map(ATTRIBUTES.map((a, i) => [a.id, i]));
  ranking.sort(
    (a, b) =>
      b.reportRate - a.reportRate ||
      b.reports - a.reports ||
      a.direction.localeCompare(b.direction) ||
      (order.get(a.attribute) ?? 0) - (order.get(b.attribute) ?? 0),
  );
  const ranked = ranking.map((r, i) => ({ rank: i + 1, ...r }));
  const byKey = new Map(ranked.map((r) => [`${r.direction}\u0000${r.modelVersion}\u0000${r.attribute}`, r]));
  for (const row of rows) {
    const r = byKey.get(`${row.direction}\u0000${row.modelVersion}\u0000${row.attribute}`);
    if (r) {
      row.rank = r.rank;
      row.oversamplingFactor = r.oversamplingFactor;
    }
  }

  return {
    generatedAt: generatedAt.toISOString(),
    filters: { since: filters.since?.toISOString() ?? null, direction: filters.direction ?? null, modelVersion: filters.modelVersion ?? null },
    oversampling: { formula: OVERSAMPLING_FORMULA, cap: OVERSAMPLING_CAP, minReports: OVERSAMPLING_MIN_REPORTS },
    versions,
    rows,
    ranking: ranked,
  };
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

/**
 * The ranking's oversampling factors for one direction, by attribute, for the dataset tools: multiply
 * the sampling weight of a target-domain image by the factor of each attribute it carries (an
 * attribute left out has factor 1).
 */
export function oversamplingFactors(report: RebalancingReport, direction: Direction): Partial<Record<AttributeId, number>> {
  const factors: Partial<Record<AttributeId, number>> = {};
  for (const r of report.ranking) if (r.direction === direction && r.oversamplingFactor !== 1) factors[r.attribute] = r.oversamplingFactor;
  return factors;
}
