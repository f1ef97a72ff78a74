/**
 * The rebalancing plan in plain words: for each attribute members report lost, its share of the
 * target set, its report rate, the oversampling applied and how many more images would bring it to a
 * target share — or, when no target image carries it (the seed's hands), that oversampling cannot
 * help and images must be collected. Pure: built from {@link computeSamplingWeights}'s result.
 */
import { attributeById, type AttributeId } from '../../shared/attributes.ts';
import type { AttributeBalance, RebalanceResult } from './rebalance.ts';

/** What the report says about one attribute (rates are null when factors came from --factors). */
export interface ReportedAttribute {
  attribute: AttributeId;
  reports: number | null;
  reportRate: number | null;
  factor: number;
}

export type PlanAction = 'oversample' | 'collect' | 'balanced' | 'unchanged';

export interface PlanItem {
  attribute: AttributeId;
  action: PlanAction;
  reports: number | null;
  reportRate: number | null;
  factor: number;
  /** Target images that carry the attribute, and their share before / after weighting. */
  images: number;
  share: number;
  shareAfter: number;
  rareValues: string[];
  values: Record<string, number>;
  /** The share collecting should reach, and how many more carrying images that takes (0 when reached). */
  targetShare: number;
  moreImages: number;
  text: string;
}

/** Images to add so that `have` of `total` becomes at least `target` of the new total. */
export function imagesToReach(have: number, total: number, target: number): number {
  if (target <= 0 || total <= 0 || have / total >= target) return 0;
  return Math.ceil((target * total - have) / (1 - target) - 1e-9);
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/**
 * One plan item per reported attribute (and per attribute given a factor), worst first.
 * @param targetShare - the share to collect towards for presence attributes (glasses, hands); a valued
 *   attribute (gender) aims at an even share of its values.
 * @param domainWord - how the target domain is called in the text ("webtoon", "photo").
 */
export function rebalancePlan(result: RebalanceResult, reported: readonly ReportedAttribute[], targetShare: number, domainWord: string): PlanItem[] {
  const N = result.domainImages;
  const byAttr = new Map<AttributeId, AttributeBalance>(result.balance.map((b) => [b.attribute, b]));
  const items: PlanItem[] = [];
  for (const r of reported) {
    const b = byAttr.get(r.attribute);
    const label = attributeById(r.attribute).label.toLowerCase();
    const images = b?.images ?? 0;
    const values = b?.values ?? {};
    const rareValues = b?.rareValues ?? [];
    const kinds = Object.keys(values);
    const valued = kinds.length > 0;
    const target = valued && kinds.length >= 2 ? rareValues.length / kinds.length : targetShare;
    const share = N ? images / N : 0;
    const more = imagesToReach(images, N, target);
    const what = valued && rareValues.length ? rareValues.map((v) => `${r.attribute}=${v}`).join(', ') : label;
    const evidence =
      r.reportRate === null
        ? `factor ×${r.factor} given with --factors`
        : `reported on ${pct(r.reportRate)} of generations (${r.reports} report${r.reports === 1 ? '' : 's'})`;
    let action: PlanAction;
    let text: string;
    if (r.factor <= 1) {
      action = 'unchanged';
      text = `${label}: ${evidence} — fewer than the reports needed or not above the average attribute; weights unchanged.`;
    } else if (valued && kinds.length === 1 && images === 0) {
      action = 'collect';
      text = `${label}: ${evidence}, but every tagged ${domainWord} image has ${r.attribute}=${kinds[0]}: oversampling cannot help. Collect ${domainWord} images with other ${label} values (about ${imagesToReach(0, N, 0.5)} for an even share).`;
    } else if (valued && rareValues.length === 0 && images === 0) {
      action = 'balanced';
      text = `${label}: ${evidence}, but its values are already even in the ${domainWord} set (${kinds.map((k) => `${k} ${values[k]}`).join(', ')}): oversampling cannot help; look at the other domain or the model.`;
    } else if (images === 0) {
      action = 'collect';
      text = `${label}: ${evidence}, but no ${domainWord} image is tagged with it: oversampling cannot help, collection is needed. About ${more} ${domainWord} images showing ${label} would make it ${pct(target)} of the set.`;
    } else {
      action = 'oversample';
      text =
        `${label}: ${evidence}; ${what} on ${images} of ${N} ${domainWord} images (${pct(share)}). ` +
        `Oversampled ×${r.factor}: now drawn ${pct(b?.shareAfter ?? share)} of the time. ` +
        (more > 0 ? `About ${more} more such images would make it ${pct(target)} of the set without oversampling.` : `It already makes ${pct(target)} of the set.`);
    }
    items.push({ attribute: r.attribute, action, reports: r.reports, reportRate: r.reportRate, factor: r.factor, images, share, shareAfter: b?.shareAfter ?? share, rareValues, values, targetShare: target, moreImages: action === 'oversample' || action === 'collect' ? (action === 'collect' && valued && kinds.length === 1 ? imagesToReach(0, N, 0.5) : more) : 0, text });
  }
  const rank: Record<PlanAction, number> = { collect: 0, oversample: 1, balanced: 2, unchanged: 3 };
  return items.sort((a, b) => rank[a.action] - rank[b.action] || (b.reportRate ?? 0) - (a.reportRate ?? 0) || b.factor - a.factor);
}

/** The plan as text: a headline, then one paragraph per attribute. */
export function formatPlan(items: readonly PlanItem[], header: string): string {
  if (items.length === 0) return `${header}\nNo attribute is reported lost yet: every image keeps weight 1.`;
  const collect = items.filter((i) => i.action === 'collect').length;
  const over = items.filter((i) => i.action === 'oversample').length;
  return [header, `${over} attribute(s) oversampled, ${collect} need collection.`, ...items.map((i) => `- ${i.text}`)].join('\n');
}
