/**
 * Automatic against community: for each direction × model version × attribute the audit can speak
 * about, how often the machine flagged the attribute as lost (src/analysis/audit-flags.ts thresholds),
 * how often members reported it, and how often the two agree on the same generation.
 *
 * - automatic rate = flagged / judged (generations whose audit could tell: both faces found for
 *   gender, age and identity);
 * - community rate = generations with at least one report of the attribute / generations;
 * - agreement = judged generations where "flagged" equals "reported" / judged, with the split
 *   (both, machine only, members only) so a high agreement made only of "neither" is visible;
 * - glasses and hands: no detector here, so the automatic side is "unknown" (null), never a guess.
 *
 * {@link queryAuditComparison} is one aggregate query; {@link formatAuditComparison} renders it.
 */
import { sql } from 'drizzle-orm';
import { AUDIT_THRESHOLDS } from '../analysis/audit-flags.ts';
import { rowsOf, type DatabaseHandle, type Db } from './client.ts';
import type { Direction } from './feedback.validation.ts';
import type { ReportFilters } from './report.ts';

/** The attributes of the shared vocabulary the audit covers (or says it cannot). */
export const AUDITED_ATTRIBUTES = ['gender', 'age', 'identity', 'glasses', 'hands'] as const;
export type AuditedAttribute = (typeof AUDITED_ATTRIBUTES)[number];

export interface AuditComparisonRow {
  direction: Direction;
  modelVersion: string;
  attribute: AuditedAttribute;
  /** How far the automatic side can be trusted for this direction (a2b: weak, b2a: meaningful). */
  trust: 'weak' | 'meaningful';
  /** Successful generations in the window. */
  generations: number;
  /** Of those, with a stored audit. */
  audited: number;
  /** Audits that could tell for this attribute (null: no detector, e.g. glasses and hands). */
  judged: number | null;
  flagged: number | null;
  automaticRate: number | null;
  /** Generations with at least one member report of the attribute. */
  reported: number;
  communityRate: number;
  /** Judged generations where machine and members agree (both flagged, or neither). */
  agreement: number | null;
  both: number | null;
  machineOnly: number | null;
  communityOnly: number | null;
}

export interface AuditComparison {
  thresholds: typeof AUDIT_THRESHOLDS;
  rows: AuditComparisonRow[];
}

const rate = (n: number, d: number): number | null => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : null);

/**
 * Build the comparison over the same window as the rebalancing report.
 * @param database - an open, migrated handle (or its drizzle db).
 */
export async function queryAuditComparison(database: DatabaseHandle | Db, filters: ReportFilters = {}): Promise<AuditComparison> {
  const db = 'kind' in database && 'close' in database ? database.db : (database as Db);
  const t = AUDIT_THRESHOLDS;
  const where = [sql`g.status = 'ok'`];
  if (filters.since) where.push(sql`g.created_at >= ${filters.since.toISOString()}`);
  if (filters.direction) where.push(sql`g.direction = ${filters.direction}`);
  if (filters.modelVersion) where.push(sql`g.model_version = ${filters.modelVersion}`);
  const reported = (attribute: string) => sql`exists (select 1 from attribute_reports r where r.generation_id = g.id and r.attribute = ${attribute})`;
  const res = await db.execute(sql`
    with per_generation as (
      select g.direction, g.model_version, a.generation_id is not null as audited,
        case when a.input_gender is null or a.output_gender is null then null
             else (a.input_gender <> a.output_gender
                   and a.input_gender_probability >= ${t.genderMinProbability}
                   and a.output_gender_probability >= ${t.genderMinProbability}) end as gender_flag,
        case when a.input_age is null or a.output_age is null then null
             else abs(a.output_age - a.input_age) >= ${t.ageDriftYears} end as age_flag,
        case when a.identity_similarity is null then null
             else a.identity_similarity < ${t.identityLostBelow} end as identity_flag,
        ${reported('gender')} as gender_rep, ${reported('age')} as age_rep, ${reported('identity')} as identity_rep,
        ${reported('glasses')} as glasses_rep, ${reported('hands')} as hands_rep
      from generations g
      left join generation_audits a on a.generation_id = g.id
      where ${sql.join(where, sql` and `)}
    )
    select p.direction, p.model_version, v.attribute,
           count(*)::int as generations,
           count(*) filter (where p.audited)::int as audited,
           count(*) filter (where v.flag is not null)::int as judged,
           count(*) filter (where v.flag)::int as flagged,
           count(*) filter (where v.rep)::int as reported,
           count(*) filter (where v.flag is not null and v.flag = v.rep)::int as agree,
           count(*) filter (where v.flag and v.rep)::int as both_flagged,
           count(*) filter (where v.flag and not v.rep)::int as machine_only,
           count(*) filter (where v.flag = false and v.rep)::int as community_only
    from per_generation p
    cross join lateral (values
      ('gender', p.gender_flag, p.gender_rep),
      ('age', p.age_flag, p.age_rep),
      ('identity', p.identity_flag, p.identity_rep),
      ('glasses', null::boolean, p.glasses_rep),
      ('hands', null::boolean, p.hands_rep)
    ) as v(attribute, flag, rep)
    group by p.direction, p.model_version, v.attribute`);
  const order = (a: string) => AUDITED_ATTRIBUTES.indexOf(a as AuditedAttribute);
  const rows = rowsOf(res)
    .map((r): AuditComparisonRow => {
      const attribute = String(r.attribute) as AuditedAttribute;
      const noDetector = attribute === 'glasses' || attribute === 'hands';
      const generations = Number(r.generations);
      const judged = Number(r.judged);
      return {
        direction: r.direction as Direction,
        modelVersion: String(r.model_version),
        attribute,
        trust: r.direction === 'b2a' ? 'meaningful' : 'weak',
        generations,
        audited: Number(r.audited),
        judged: noDetector ? null : judged,
        flagged: noDetector ? null : Number(r.flagged),
        automaticRate: noDetector ? null : rate(Number(r.flagged), judged),
        reported: Number(r.reported),
        communityRate: rate(Number(r.reported), generations) ?? 0,
        agreement: noDetector ? null : rate(Number(r.agree), judged),
        both: noDetector ? null : Number(r.both_flagged),
        machineOnly: noDetector ? null : Number(r.machine_only),
        communityOnly: noDetector ? null : Number(r.community_only),
      };
    })
    .sort((a, b) => a.direction.localeCompare(b.direction) || a.modelVersion.localeCompare(b.modelVersion, undefined, { numeric: true }) || order(a.attribute) - order(b.attribute));
  return { thresholds: AUDIT_THRESHOLDS, rows };
}

const pct = (x: number | null): string => (x === null ? 'unknown' : `${(x * 100).toFixed(1)}%`);

/** The comparison as a text table (for `webtoon report`), ending with a newline. */
export function formatAuditComparison(c: AuditComparison): string {
  const head = ['direction', 'version', 'attribute', 'trust', 'gens', 'audited', 'judged', 'auto rate', 'community rate', 'agree', 'both', 'auto only', 'members only'];
  const body = c.rows.map((r) => [
    r.direction,
    r.modelVersion,
    r.attribute,
    r.trust,
    String(r.generations),
    String(r.audited),
    r.judged === null ? '—' : String(r.judged),
    pct(r.automaticRate),
    pct(r.communityRate),
    pct(r.agreement),
    r.both === null ? '—' : String(r.both),
    r.machineOnly === null ? '—' : String(r.machineOnly),
    r.communityOnly === null ? '—' : String(r.communityOnly),
  ]);
  const lines = ['', 'Automatic audit vs community reports (face analysis of input and output; see docs/evaluation.md)'];
  if (body.length === 0) return `${lines.join('\n')}\n  no successful generations in the window\n`;
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i >= 4 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ');
  lines.push(line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line));
  const t = c.thresholds;
  lines.push(
    `auto flags: gender = sides disagree, each ≥ ${t.genderMinProbability} sure; age = drift ≥ ${t.ageDriftYears} years; identity = similarity < ${t.identityLostBelow}.`,
    'trust: a2b outputs are drawings, on which photo-trained analysers are weak; b2a outputs are photo-like. glasses and hands: no detector, unknown.',
  );
  return `${lines.join('\n')}\n`;
}
