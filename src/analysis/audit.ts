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

export { AUDIT_THRESHOLDS, auditFlags } from './audit-flags.ts';

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

function round(n: number, digits = 4): number {
  const k = 10 ** digits;
  return Math.round(n * k) / k;
}
