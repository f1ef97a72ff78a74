/**
 * Rebalancing: turn the feedback report's per-attribute oversampling factors into the per-image
 * sampling-weights file that `webtoon train --sampling-weights` reads. This is the step that closes the
 * loop report → sampling weights → retrain.
 *
 * Input: a labels file saying which attributes each target-domain training image carries (the operator
 * labels rare attributes — glasses, men, hands — once; the report cannot know which image shows what).
 * Rule: weight(image) = max(1, max over its attributes of factor(attribute)). The maximum, not the
 * product, so an image with two rare attributes is not oversampled past the report's own cap.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ATTRIBUTE_IDS, isAttributeId, type AttributeId } from '../../shared/attributes.ts';
import { RebalanceError } from '../training.errors.ts';


/** Attributes per image, keyed by the image path relative to the dataset dir (`trainB/x.png`). */
export type ImageLabels = Map<string, AttributeId[]>;
export type AttributeFactors = Partial<Record<AttributeId, number>>;

/** The file `webtoon train --sampling-weights` reads. */
export interface SamplingWeightsFile {
  domain: 'A' | 'B';
  default: 1;
  weights: Record<string, number>;
  /** Where the factors came from and how they were applied; ignored by the trainer. */
  provenance: Record<string, unknown>;
}

export interface AttributeBalance {
  attribute: AttributeId;
  factor: number;
  images: number;
  /** Share of draws that show the attribute, before and after weighting. */
  shareBefore: number;
  shareAfter: number;
}

export interface RebalanceResult {
  file: SamplingWeightsFile;
  balance: AttributeBalance[];
  domainImages: number;
  labelledImages: number;
  /** Label entries whose image is not in the domain's training split (typos, other domain). */
  unknownPaths: string[];
}

const normalise = (p: string): string => p.trim().replace(/\\/g, '/').replace(/^(\.\/)+/, '');

function parseAttributeList(raw: string[], where: string): AttributeId[] {
  const out: AttributeId[] = [];
  for (const a of raw.map((s) => s.trim()).filter(Boolean)) {
    if (!isAttributeId(a)) {
      throw new RebalanceError('UNKNOWN_ATTRIBUTE', `${where}: unknown attribute "${a}"; expected one of ${ATTRIBUTE_IDS.join(', ')}`, { attribute: a });
    }
    if (!out.includes(a)) out.push(a);
  }
  return out;
}

/**
 * Parse a labels file: JSON `{ "trainB/x.png": ["glasses", "gender"] }`, or CSV with a header
 * `path,attributes` and attributes separated by `;` (`trainB/x.png,glasses;gender`).
 * @throws {RebalanceError} LABELS_INVALID / UNKNOWN_ATTRIBUTE naming the line or key.
 */
export function parseLabels(text: string, fileName: string): ImageLabels {
  const labels: ImageLabels = new Map();
  if (/\.json$/i.test(fileName)) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new RebalanceError('LABELS_INVALID', `${fileName}: not valid JSON (${(err as Error).message})`, { file: fileName });
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new RebalanceError('LABELS_INVALID', `${fileName}: expected an object mapping image paths to attribute lists`, { file: fileName });
    }
    for (const [key, value] of Object.entries(raw)) {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw new RebalanceError('LABELS_INVALID', `${fileName}: "${key}" must map to a list of attribute ids`, { file: fileName, path: key });
      }
      labels.set(normalise(key), parseAttributeList(value, `${fileName}: "${key}"`));
    }
    return labels;
  }
  const lines = text.split(/\r?\n/);
  const header = lines[0]?.trim().toLowerCase().replace(/\s/g, '');
  if (header !== 'path,attributes') {
    throw new RebalanceError('LABELS_INVALID', `${fileName}: a CSV labels file starts with the header "path,attributes"`, { file: fileName, header: lines[0] ?? '' });
  }
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const comma = line.indexOf(',');
    if (comma < 0) {
      throw new RebalanceError('LABELS_INVALID', `${fileName} line ${i + 2}: expected "path,attr1;attr2"`, { file: fileName, line: i + 2 });
    }
    const p = normalise(line.slice(0, comma));
    labels.set(p, parseAttributeList(line.slice(comma + 1).split(';'), `${fileName} line ${i + 2}`));
  });
  return labels;
}

/**
 * Parse `--factors glasses=3,gender=2` (a manual override of the report's factors).
 * @throws {RebalanceError} FACTORS_INVALID / UNKNOWN_ATTRIBUTE.
 */
export function parseFactors(text: string): AttributeFactors {
  const factors: AttributeFactors = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, value, ...rest] = part.split('=');
    const n = Number(value);
    if (rest.length > 0 || value === undefined || !Number.isFinite(n) || n < 1) {
      throw new RebalanceError('FACTORS_INVALID', `--factors: expected attribute=factor with factor >= 1, received "${part}"`, { part });
    }
    const [id] = parseAttributeList([name], '--factors');
    if (id) factors[id] = n;
  }
  return factors;
}

/**
 * Per-image weights for one domain's training images.
 * @param files - the domain's training images, relative to the dataset dir (as `scanDataset` lists them).
 */
export function computeSamplingWeights(
  domain: 'A' | 'B',
  files: readonly string[],
  labels: ImageLabels,
  factors: AttributeFactors,
  provenance: Record<string, unknown> = {},
): RebalanceResult {
  const known = new Set(files);
  const unknownPaths = [...labels.keys()].filter((p) => !known.has(p));
  const weights: Record<string, number> = {};
  let total = 0;
  const weightOf = new Map<string, number>();
  for (const f of files) {
    const attrs = labels.get(f) ?? [];
    const w = Math.max(1, ...attrs.map((a) => factors[a] ?? 1));
    weightOf.set(f, w);
    total += w;
    if (w !== 1) weights[f] = w;
  }
  const labelledImages = files.filter((f) => labels.has(f)).length;
  if (labelledImages === 0) {
    throw new RebalanceError(
      'NO_LABELLED_IMAGE',
      `none of the labelled paths is a training image of domain ${domain} (train${domain}/...); check the paths are relative to the dataset dir`,
      { domain, unknownPaths: unknownPaths.slice(0, 5) },
    );
  }
  const balance: AttributeBalance[] = [];
  for (const attribute of ATTRIBUTE_IDS) {
    const carrying = files.filter((f) => labels.get(f)?.includes(attribute));
    if (carrying.length === 0 && factors[attribute] === undefined) continue;
    const after = carrying.reduce((s, f) => s + (weightOf.get(f) ?? 1), 0);
    balance.push({
      attribute,
      factor: factors[attribute] ?? 1,
      images: carrying.length,
      shareBefore: files.length ? carrying.length / files.length : 0,
      shareAfter: total ? after / total : 0,
    });
  }
  balance.sort((a, b) => b.factor - a.factor || a.attribute.localeCompare(b.attribute));
  return {
    file: { domain, default: 1, weights, provenance: { rule: 'weight = max(1, max factor over the image attributes)', factors, ...provenance } },
    balance,
    domainImages: files.length,
    labelledImages,
    unknownPaths,
  };
}

/** Read and parse a labels file from disk. */
export async function readLabels(file: string): Promise<ImageLabels> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new RebalanceError('LABELS_INVALID', `cannot read labels file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file });
  }
  return parseLabels(text, path.basename(file));
}
