/**
 * Rebalancing: turn the feedback report's per-attribute oversampling factors and the target domain's
 * image tags into the per-image sampling-weights file that `webtoon train --sampling-weights` reads,
 * and into a plan in plain words. This is the step that closes the loop report → weights → retrain.
 *
 * Which images carry an attribute (and so get its factor):
 * - a presence tag (`glasses`, `hands`, or the bare id `gender` of the older labels files) carries it;
 * - for a valued attribute (`gender=male`, `age=young`) the images with a RARER value carry it: a value
 *   whose share among the images tagged with that attribute is below an even share (1 / number of
 *   values seen). The seed's webtoon set had 1,088 women and 298 men: men are the rarer value, and
 *   oversampling them is what stops gender from flipping.
 * Rule: weight(image) = max(1, max over the attributes it carries of factor(attribute)). The maximum,
 * not the product, so an image with two rare attributes is not oversampled past the report's own cap.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ATTRIBUTE_IDS, isAttributeId, type AttributeId } from '../../shared/attributes.ts';
import { LabelsCsvError, parseLabelsCsv } from './labels-csv.ts';
import { describeTagProblem, formatTag, isTagProblem, parseTag, tagsOf } from './tags.ts';
import { RebalanceError } from '../training.errors.ts';

export { RebalanceError };

/** Tags per image (`glasses`, `gender=male`), keyed by the image path relative to the dataset dir (`trainB/x.png`). */
export type ImageLabels = Map<string, string[]>;
export type AttributeFactors = Partial<Record<AttributeId, number>>;

/** What dataset a weights file was made for: the trainer refuses it for any other. */
export interface WeightsDatasetStamp {
  split: 'trainA' | 'trainB';
  images: number;
  /** {@link domainFingerprint} of the split when the file was written. */
  fingerprint: string;
}

/** The file `webtoon train --sampling-weights` reads. */
export interface SamplingWeightsFile {
  domain: 'A' | 'B';
  default: 1;
  weights: Record<string, number>;
  dataset?: WeightsDatasetStamp;
  /** Where the factors came from and how they were applied; ignored by the trainer. */
  provenance: Record<string, unknown>;
}

export interface AttributeBalance {
  attribute: AttributeId;
  factor: number;
  /** Images that carry the attribute (see the module header). */
  images: number;
  /** For a valued attribute, the rarer values whose images carry it (e.g. ['male']). */
  rareValues: string[];
  /** Values seen with their image counts, for valued attributes. */
  values: Record<string, number>;
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

function parseTagList(raw: string[], where: string): string[] {
  const out: string[] = [];
  for (const a of raw.map((s) => s.trim()).filter(Boolean)) {
    const t = parseTag(a);
    if (isTagProblem(t)) {
      throw new RebalanceError(t.kind === 'unknown-attribute' ? 'UNKNOWN_ATTRIBUTE' : 'LABELS_INVALID', `${where}: ${describeTagProblem(t)}`, { tag: a });
    }
    const text = formatTag(t);
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/**
 * Parse a labels file: JSON `{ "trainB/x.png": ["glasses", "gender=male"] }`, or CSV with a header
 * `path,attributes` (csv-parse: quoted fields work) and tags separated by `;`.
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
      labels.set(normalise(key), parseTagList(value, `${fileName}: "${key}"`));
    }
    return labels;
  }
  try {
    for (const row of parseLabelsCsv(text, fileName)) labels.set(normalise(row.path), row.tags);
  } catch (err) {
    if (!(err instanceof LabelsCsvError)) throw err;
    throw new RebalanceError(err.kind === 'unknown-attribute' ? 'UNKNOWN_ATTRIBUTE' : 'LABELS_INVALID', err.message, { file: fileName, line: err.line, attribute: err.attribute });
  }
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
    if (!isAttributeId(name.trim())) {
      throw new RebalanceError('UNKNOWN_ATTRIBUTE', `--factors: unknown attribute "${name.trim()}"; expected one of ${ATTRIBUTE_IDS.join(', ')}`, { attribute: name });
    }
    factors[name.trim() as AttributeId] = n;
  }
  return factors;
}

/**
 * The images among `files` that carry `attribute` (see the module header), and for a valued
 * attribute the counts per value and which values are the rarer ones.
 */
export function carriersOf(attribute: AttributeId, files: readonly string[], labels: ImageLabels): { carriers: Set<string>; values: Record<string, number>; rareValues: string[] } {
  const carriers = new Set<string>();
  const values: Record<string, number> = {};
  const valueOf = new Map<string, string>();
  for (const f of files) {
    const tags = tagsOf(labels.get(f) ?? [], attribute);
    if (tags.some((t) => t.value === undefined)) carriers.add(f);
    const valued = tags.find((t) => t.value !== undefined);
    if (valued?.value) {
      values[valued.value] = (values[valued.value] ?? 0) + 1;
      valueOf.set(f, valued.value);
    }
  }
  const kinds = Object.keys(values);
  const tagged = Object.values(values).reduce((s, n) => s + n, 0);
  const rareValues = kinds.length < 2 ? [] : kinds.filter((v) => values[v] / tagged < 1 / kinds.length).sort();
  for (const [f, v] of valueOf) if (rareValues.includes(v)) carriers.add(f);
  return { carriers, values, rareValues };
}

/**
 * Per-image weights for one domain's training images.
 * @param files - the domain's training images, relative to the dataset dir (as `scanDataset` lists them).
 * @throws {RebalanceError} NO_LABELLED_IMAGE when no tagged path is a training image of the domain.
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
  const labelledImages = files.filter((f) => labels.has(f)).length;
  if (labelledImages === 0) {
    throw new RebalanceError(
      'NO_LABELLED_IMAGE',
      `none of the tagged paths is a training image of domain ${domain} (train${domain}/...); check the paths are relative to the dataset dir`,
      { domain, unknownPaths: unknownPaths.slice(0, 5) },
    );
  }
  const carried = new Map<AttributeId, ReturnType<typeof carriersOf>>();
  for (const attribute of ATTRIBUTE_IDS) carried.set(attribute, carriersOf(attribute, files, labels));
  const weights: Record<string, number> = {};
  const weightOf = new Map<string, number>();
  let total = 0;
  for (const f of files) {
    let w = 1;
    for (const [attribute, c] of carried) if (c.carriers.has(f)) w = Math.max(w, factors[attribute] ?? 1);
    weightOf.set(f, w);
    total += w;
    if (w !== 1) weights[f] = w;
  }
  const balance: AttributeBalance[] = [];
  for (const attribute of ATTRIBUTE_IDS) {
    const c = carried.get(attribute)!;
    if (c.carriers.size === 0 && Object.keys(c.values).length === 0 && factors[attribute] === undefined) continue;
    const after = [...c.carriers].reduce((s, f) => s + (weightOf.get(f) ?? 1), 0);
    balance.push({
      attribute,
      factor: factors[attribute] ?? 1,
      images: c.carriers.size,
      rareValues: c.rareValues,
      values: c.values,
      shareBefore: files.length ? c.carriers.size / files.length : 0,
      shareAfter: total ? after / total : 0,
    });
  }
  balance.sort((a, b) => b.factor - a.factor || a.attribute.localeCompare(b.attribute));
  return {
    file: { domain, default: 1, weights, provenance: { rule: 'weight = max(1, max factor over the attributes the image carries)', factors, ...provenance } },
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
