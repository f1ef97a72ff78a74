/**
 * The rebalancing report's arithmetic, a pure function of the two aggregate query results
 * ({@link computeReport}): per direction × model version × attribute, how often members reported the
 * attribute lost, how the version was rated, the change against the previous version of the same
 * direction, and the oversampling factors for the dataset tools. No database, no I/O.
 */
import { ATTRIBUTES, type AttributeId } from '../shared/attributes.ts';
import type { Direction } from '../shared/direction.ts';

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
