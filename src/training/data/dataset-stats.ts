/**
 * `webtoon dataset stats`: the attribute distribution of each domain over the whole shared
 * vocabulary (each value of a valued attribute apart: gender=male, gender=female), the gender ×
 * glasses combinations the seed project counted by hand, and the gap between the domains. A feature
 * common in photos but rare in webtoon faces is one the a2b model will lose (the seed: glasses on 6%
 * of webtoon faces → glasses vanished); the reverse is what b2a will lose. Pure: no I/O.
 */
import { ATTRIBUTES, type AttributeId } from '../../shared/attributes.ts';
import type { ManifestEntry } from './manifest.ts';
import { formatTag, isTagProblem, parseTag, type Tag } from './tags.ts';

/** A feature is flagged when it is on at least this share of one domain ... */
export const GAP_MIN_SHARE = 0.05;
/** ... and on less than this fraction of that share in the other domain. */
export const GAP_RATIO = 0.5;

export interface FeatureCount {
  /** `glasses`, `gender=male`, or the bare attribute id with 0 images when nothing is tagged. */
  feature: string;
  attribute: AttributeId;
  images: number;
  share: number;
}

export interface DomainStats {
  domain: 'A' | 'B';
  images: number;
  /** Images with at least one tag. */
  tagged: number;
  features: FeatureCount[];
  /** gender value (or "untagged") × glasses. */
  genderGlasses: { gender: string; glasses: boolean; images: number; share: number }[];
}

export interface FeatureGap {
  feature: string;
  shareA: number;
  shareB: number;
  /** Which model will lose the feature: a2b when it is rare in B (webtoon), b2a when rare in A. */
  lostBy: 'a2b' | 'b2a' | null;
}

export interface DatasetStats {
  A: DomainStats;
  B: DomainStats;
  gaps: FeatureGap[];
  rule: string;
}

function tagsOfEntry(e: ManifestEntry): Tag[] {
  return e.tags.map(parseTag).filter((t): t is Tag => !isTagProblem(t));
}

/** Distribution of one domain's manifest. */
export function domainStats(domain: 'A' | 'B', entries: readonly ManifestEntry[]): DomainStats {
  const n = entries.length;
  const counts = new Map<string, number>();
  for (const e of entries) {
    for (const f of new Set(tagsOfEntry(e).map(formatTag))) counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  const features: FeatureCount[] = [];
  for (const a of ATTRIBUTES) {
    const own = [...counts.keys()].filter((k) => k === a.id || k.startsWith(`${a.id}=`)).sort();
    if (own.length === 0) features.push({ feature: a.id, attribute: a.id, images: 0, share: 0 });
    for (const k of own) features.push({ feature: k, attribute: a.id, images: counts.get(k)!, share: n ? counts.get(k)! / n : 0 });
  }
  const combos = new Map<string, number>();
  for (const e of entries) {
    const tags = tagsOfEntry(e);
    const gender = tags.find((t) => t.attribute === 'gender' && t.value)?.value ?? 'untagged';
    const glasses = tags.some((t) => t.attribute === 'glasses');
    const key = `${gender}\u0000${glasses}`;
    combos.set(key, (combos.get(key) ?? 0) + 1);
  }
  const genderGlasses = [...combos.entries()]
    .map(([k, images]) => {
      const [gender, glasses] = k.split('\u0000');
      return { gender, glasses: glasses === 'true', images, share: n ? images / n : 0 };
    })
    .sort((a, b) => b.images - a.images || a.gender.localeCompare(b.gender));
  return { domain, images: n, tagged: entries.filter((e) => e.tags.length > 0).length, features, genderGlasses };
}

/** Both domains and the gaps between them. */
export function datasetStats(a: readonly ManifestEntry[], b: readonly ManifestEntry[]): DatasetStats {
  const A = domainStats('A', a);
  const B = domainStats('B', b);
  const features = [...new Set([...A.features, ...B.features].map((f) => f.feature))];
  const share = (s: DomainStats, f: string) => s.features.find((x) => x.feature === f)?.share ?? 0;
  const order = new Map(ATTRIBUTES.map((x, i) => [x.id, i]));
  const attrOf = (f: string) => f.split('=')[0] as AttributeId;
  const gaps = features
    .sort((x, y) => (order.get(attrOf(x)) ?? 0) - (order.get(attrOf(y)) ?? 0) || x.localeCompare(y))
    .map((feature) => {
      const shareA = share(A, feature);
      const shareB = share(B, feature);
      const lostBy = shareA >= GAP_MIN_SHARE && shareB < shareA * GAP_RATIO ? 'a2b' : shareB >= GAP_MIN_SHARE && shareA < shareB * GAP_RATIO ? 'b2a' : null;
      return { feature, shareA, shareB, lostBy } satisfies FeatureGap;
    });
  return {
    A,
    B,
    gaps,
    rule: `a feature on at least ${GAP_MIN_SHARE * 100}% of one domain and on less than ${GAP_RATIO * 100}% of that share in the other is flagged: the model translating into the domain where it is rare will lose it`,
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The stats as a plain-text table. */
export function formatStatsTable(s: DatasetStats): string {
  const row = (cells: string[]) => `${cells[0].padEnd(24)}${cells[1].padStart(18)}${cells[2].padStart(18)}  ${cells[3]}`.trimEnd();
  const cell = (d: DomainStats, f: string) => {
    const c = d.features.find((x) => x.feature === f);
    return `${c?.images ?? 0}  ${pct(c?.share ?? 0).padStart(6)}`;
  };
  const lines = [
    row(['feature', `A photos (${s.A.images})`, `B webtoon (${s.B.images})`, 'gap']),
    row(['untagged images', `${s.A.images - s.A.tagged}`, `${s.B.images - s.B.tagged}`, '']),
    ...s.gaps.map((g) =>
      row([
        g.feature,
        cell(s.A, g.feature),
        cell(s.B, g.feature),
        g.lostBy === 'a2b' ? '<< common in photos, rare in webtoons: a2b will lose it' : g.lostBy === 'b2a' ? '<< common in webtoons, rare in photos: b2a will lose it' : '',
      ]),
    ),
    '',
    row(['gender x glasses', 'A', 'B', '']),
  ];
  const combos = [...new Set([...s.A.genderGlasses, ...s.B.genderGlasses].map((c) => `${c.gender}\u0000${c.glasses}`))].sort();
  for (const k of combos) {
    const [gender, glasses] = k.split('\u0000');
    const find = (d: DomainStats) => d.genderGlasses.find((c) => c.gender === gender && String(c.glasses) === glasses);
    const fmt = (d: DomainStats) => `${find(d)?.images ?? 0}  ${pct(find(d)?.share ?? 0).padStart(6)}`;
    lines.push(row([`${gender}, ${glasses === 'true' ? 'glasses' : 'no glasses'}`, fmt(s.A), fmt(s.B), '']));
  }
  lines.push('', `flagged: ${s.rule}`);
  return lines.join('\n');
}
