/**
 * How the automatic audit's numbers become "attribute lost" flags. Pure (no tfjs): the report's SQL
 * and the eval use the same thresholds.
 */

/** Thresholds that turn the audit's numbers into "attribute lost" flags (the report's automatic rates). */
export const AUDIT_THRESHOLDS = {
  /**
   * Identity counts as lost below this similarity. Measured with face-api 1.7.15: a face against its
   * own mirror image scores 0.965–0.990; pairs of different people among the package's demo photos and
   * ../shared/data/photos: median 0.878, 95th percentile 0.920, max 0.947 (276 pairs).
   */
  identityLostBelow: 0.92,
  /** Gender counts as flipped when the two sides disagree and each side is at least this sure. */
  genderMinProbability: 0.6,
  /** Age counts as lost when the two sides differ by at least this many years. */
  ageDriftYears: 10,
} as const;

/** One side of an audit, as far as the flags need it. */
export interface FlagSide {
  gender: 'male' | 'female';
  genderProbability: number;
  age: number;
}

/** Flags of attribute loss an audit supports (null where it cannot tell). */
export function auditFlags(audit: { identitySimilarity: number | null; input: FlagSide | null; output: FlagSide | null }): { gender: boolean | null; age: boolean | null; identity: boolean | null } {
  const { input, output } = audit;
  const t = AUDIT_THRESHOLDS;
  return {
    identity: audit.identitySimilarity === null ? null : audit.identitySimilarity < t.identityLostBelow,
    gender:
      input && output
        ? input.gender !== output.gender && input.genderProbability >= t.genderMinProbability && output.genderProbability >= t.genderMinProbability
        : null,
    age: input && output ? Math.abs(output.age - input.age) >= t.ageDriftYears : null,
  };
}

