/**
 * The automatic audit of one translation: the face analyser on the input crop and on the generator's
 * output (before any attention overlay), compared. What it measures and where it can be trusted:
 *
 * | signal | a2b (photo → webtoon) | b2a (webtoon → photo) and cycle reconstructions |
 * | --- | --- | --- |
 * | identity similarity | weak: the analyser is photo-trained and drawings score low even when alike | meaningful (photo vs photo-like) |
 * | gender (+ probability) | input meaningful, output weak | output meaningful, input weak (a drawing) |
 * | age | input meaningful, output weak | output meaningful, input weak |
 * | glasses, hands | `unknown`: no detector for them here; we say so rather than guess | same |
 *
 * The face descriptors themselves are never stored (they are biometric data); only the numbers below.
 */
import type { FaceAnalysis, FaceAnalyzer, RgbImage } from './face-analysis.ts';
import { faceApiVersion, identitySimilarity } from './face-analysis.ts';

/** `a2b`: photo → webtoon; `b2a`: webtoon → photo. */
export type AuditDirection = 'a2b' | 'b2a';

export type AuditStatus = 'ok' | 'no_input_face' | 'no_output_face' | 'no_face';

/** How far the audit's signals can be trusted for a direction (see the module header). */
export type AuditTrust = 'weak' | 'meaningful';

/** A detector verdict that no detector here can give. */
export type Unknown = 'unknown';

export interface FaceSide {
  gender: 'male' | 'female';
  genderProbability: number;
  age: number;
}

/** One translation's audit, as stored with its generation. */
export interface FaceAudit {
  status: AuditStatus;
  /** Analyser and version, e.g. `face-api 1.7.15`. */
  analyser: string;
  trust: AuditTrust;
  /** Cosine of the input and output face descriptors; null unless both faces were found. */
  identitySimilarity: number | null;
  input: FaceSide | null;
  output: FaceSide | null;
  glasses: Unknown;
  hands: Unknown;
}

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

/** The trust of a direction's signals: photo-trained analysers are meaningful on photo-like outputs. */
export function trustOf(direction: AuditDirection): AuditTrust {
  return direction === 'b2a' ? 'meaningful' : 'weak';
}

function side(f: FaceAnalysis | null): FaceSide | null {
  return f ? { gender: f.gender, genderProbability: round(f.genderProbability), age: round(f.age, 2) } : null;
}

/**
 * Audit one translation from its input crop and its output (both RGB; any sizes).
 * The largest face on each side is compared.
 */
export async function auditFacePair(analyzer: FaceAnalyzer, input: RgbImage, output: RgbImage, direction: AuditDirection): Promise<FaceAudit> {
  const a = await analyzer.largestFace(input);
  const b = await analyzer.largestFace(output);
  const status: AuditStatus = a && b ? 'ok' : !a && !b ? 'no_face' : !a ? 'no_input_face' : 'no_output_face';
  return {
    status,
    analyser: faceApiVersion(),
    trust: trustOf(direction),
    identitySimilarity: a && b ? round(identitySimilarity(a.descriptor, b.descriptor)) : null,
    input: side(a),
    output: side(b),
    glasses: 'unknown',
    hands: 'unknown',
  };
}

/** Flags of attribute loss an audit supports (null where it cannot tell). */
export function auditFlags(audit: Pick<FaceAudit, 'identitySimilarity' | 'input' | 'output'>): { gender: boolean | null; age: boolean | null; identity: boolean | null } {
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

function round(n: number, digits = 4): number {
  const k = 10 ** digits;
  return Math.round(n * k) / k;
}
