/**
 * `webtoon eval`: judge a model version on real photos before members see it.
 *
 * For every photo: the bot's own pipeline (decode, face detection, crop, generator) translates it a2b;
 * with a reverse model the output is translated back (b2a, no second detection: the output already is
 * the face crop), giving a cycle reconstruction. The photo-trained face analyser then compares the
 * input crop with the reconstruction (meaningful: photo vs photo-like) — or, without a reverse model,
 * with the webtoon output itself (weak, labelled "direct").
 *
 * Reported: identity similarity (mean, median), gender-flip rate, age drift, and KID between the
 * outputs and a target-domain set (`--webtoons`): the standard KID on the features of a user-given
 * Inception ONNX, otherwise a clearly labelled non-standard "face-KID" on face descriptors of the crops.
 * `--baseline` runs a second a2b model on the same photos and compares with a paired bootstrap; a
 * verdict is given only where the 95 % interval of the difference excludes zero.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { type RawImage, decodeUnchecked, encodePng, resizeSquare, resizeTo, svgToPng } from '../media/media.ts';
import type { JobOptions } from '../inference/translate.pipeline.ts';
import { TranslatePipeline } from '../inference/translate.pipeline.ts';
import { AUDIT_THRESHOLDS } from './audit-flags.ts';
import { type FaceAnalysis, FaceAnalyzer, faceApiVersion, identitySimilarity } from './face-analysis.ts';
import { type KidResult, kid, mean, median, pairedBootstrap, type PairedDifference } from './eval-stats.ts';

/**
 * Crop modes passed straight to the pipeline's crop option. `auto`/`center` exist today; the
 * eye-line-levelled crop (issue 16) joins this list when it lands in the pipeline, so the two crops
 * can be compared by identity similarity with one eval run each.
 */
export const EVAL_CROP_MODES = ['auto', 'center'] as const;

const IMAGE_EXT = /\.(jpe?g|png|webp|gif)$/i;

export interface EvalOptions {
  model: string;
  reverseModel?: string;
  photos: string;
  webtoons?: string;
  baseline?: string;
  inception?: string;
  crop?: JobOptions['crop'];
  /** Most photos used (default all). */
  limit?: number;
  /** Bootstrap resamples (default 2000) and seed (default 1). */
  resamples?: number;
  seed?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

/** One photo's outcome for one model. */
export interface EvalCase {
  file: string;
  /** Why the photo could not be translated (e.g. NO_FACE), else null. */
  error: string | null;
  /** Identity similarity input crop vs reconstruction (or vs output when `direct`); null without both faces. */
  identity: number | null;
  inputGender: string | null;
  outputGender: string | null;
  genderFlip: boolean | null;
  inputAge: number | null;
  outputAge: number | null;
  ageDrift: number | null;
  /** Kept for the contact sheet only (not in the JSON). */
  images?: { input: RawImage; output: RawImage; reconstruction: RawImage | null };
}

export interface ModelEval {
  model: string;
  version: string;
  /** `cycle`: input vs a2b→b2a reconstruction (meaningful); `direct`: input vs webtoon output (weak). */
  comparison: 'cycle' | 'direct';
  photos: number;
  translated: number;
  /** Cases where the analyser found a face on both sides. */
  analysed: number;
  identity: { mean: number | null; median: number | null };
  genderFlipRate: number | null;
  ageDrift: { mean: number | null; meanAbsolute: number | null };
  kid: (KidResult & { kind: 'KID' | 'face-KID'; features: string }) | null;
  kidNote: string;
  cases: EvalCase[];
}

export interface EvalComparisonRow {
  metric: string;
  better: 'higher' | 'lower';
  model: number | null;
  baseline: number | null;
  difference: PairedDifference | null;
  verdict: 'better' | 'worse' | 'within noise' | 'not enough data';
}

export interface EvalReport {
  analyser: string;
  crop: string;
  thresholds: typeof AUDIT_THRESHOLDS;
  model: ModelEval;
  baseline: ModelEval | null;
  comparison: EvalComparisonRow[] | null;
  /** The ten worst cases of the model (lowest identity similarity; failures first). */
  worst: EvalCase[];
}

/** The image files of a folder (by extension), sorted. */
export function listImages(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => IMAGE_EXT.test(f) && statSync(path.join(dir, f)).isFile())
    .sort()
    .map((f) => path.join(dir, f));
}

/** Features for KID: Inception ONNX (standard) or face descriptors of the crops (face-KID). */
interface FeatureNet {
  kind: 'KID' | 'face-KID';
  describe: string;
  features(img: RawImage): Promise<Float32Array>;
  close(): Promise<void>;
}

async function inceptionNet(file: string, cfg: Config): Promise<FeatureNet> {
  const { createModel } = await import('../onnx/runtime.ts');
  const model = await createModel(file, { devices: cfg.ORT_PROVIDERS, threads: cfg.ORT_THREADS });
  const inputName = model.inputNames[0];
  const outputName = model.outputNames[0];
  const shape = model.signature(inputName)?.shape ?? [];
  const side = (d: number | string | undefined): number => (typeof d === 'number' && d > 0 ? d : 299);
  const h = side(shape[2]);
  const w = side(shape[3]);
  return {
    kind: 'KID',
    describe: `${path.basename(file)} (output "${outputName}", input [1,3,${h},${w}] RGB in [0,1])`,
    async features(img) {
      const r = await resizeTo(img, w, h);
      const chw = new Float32Array(3 * h * w);
      for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) chw[c * h * w + i] = r.data[i * 3 + c] / 255;
      const out = await model.run({ [inputName]: { data: chw, dims: [1, 3, h, w] } });
      return Float32Array.from(out[outputName].data);
    },
    close: () => model.dispose(),
  };
}

function faceKidNet(analyzer: FaceAnalyzer): FeatureNet {
  return {
    kind: 'face-KID',
    describe: `NON-STANDARD face-KID: 128-d ${faceApiVersion()} descriptors of whole crops (no detection); not comparable with published KID`,
    features: (img) => analyzer.describeCrop(img),
    close: async () => undefined,
  };
}

function caseFromFaces(file: string, a: FaceAnalysis | null, b: FaceAnalysis | null): Omit<EvalCase, 'images'> {
  const t = AUDIT_THRESHOLDS;
  return {
    file,
    error: null,
    identity: a && b ? identitySimilarity(a.descriptor, b.descriptor) : null,
    inputGender: a?.gender ?? null,
    outputGender: b?.gender ?? null,
    genderFlip: a && b ? a.gender !== b.gender && a.genderProbability >= t.genderMinProbability && b.genderProbability >= t.genderMinProbability : null,
    inputAge: a?.age ?? null,
    outputAge: b?.age ?? null,
    ageDrift: a && b ? b.age - a.age : null,
  };
}

async function evaluateModel(
  cfg: Config,
  file: string,
  photos: string[],
  analyzer: FaceAnalyzer,
  reverse: TranslatePipeline | null,
  opts: EvalOptions,
  featureNet: FeatureNet | null,
  targetFeatures: Float32Array[] | null,
  label: string,
): Promise<ModelEval> {
  const pipeline = await TranslatePipeline.create(cfg, { modelFile: file, modelOverrides: { direction: 'a2b' } });
  try {
    const info = await pipeline.registry.resolve('a2b');
    const reverseInfo = reverse ? await reverse.registry.resolve('b2a') : null;
    const cases: EvalCase[] = [];
    const outFeatures: Float32Array[] = [];
    for (const [i, photo] of photos.entries()) {
      opts.onProgress?.(i, photos.length, `${label}: ${path.basename(photo)}`);
      let r;
      try {
        r = await pipeline.translate(readFileSync(photo), { direction: 'a2b', crop: opts.crop ?? 'auto', auditImages: true });
      } catch (err) {
        const code = (err as { code?: string }).code;
        cases.push({ ...caseFromFaces(photo, null, null), error: code ?? (err as Error).message });
        continue;
      }
      const px = r.auditImages!;
      const input: RawImage = { data: Buffer.from(px.input), width: px.width, height: px.height, channels: 3 };
      const output: RawImage = { data: Buffer.from(px.output), width: px.width, height: px.height, channels: 3 };
      let reconstruction: RawImage | null = null;
      if (reverse && reverseInfo) {
        const src = reverseInfo.imgSize === output.width ? output : await resizeSquare(output, reverseInfo.imgSize);
        const back = await reverse.generator.generate(reverseInfo, src);
        reconstruction = back.image.width === input.width ? back.image : await resizeSquare(back.image, input.width);
      }
      const a = await analyzer.largestFace(input);
      const b = await analyzer.largestFace(reconstruction ?? output);
      cases.push({ ...caseFromFaces(photo, a, b), images: { input, output, reconstruction } });
      if (featureNet) outFeatures.push(await featureNet.features(output));
    }
    opts.onProgress?.(photos.length, photos.length, `${label}: done`);
    const ok = cases.filter((c) => c.error === null);
    const ids = ok.map((c) => c.identity).filter((x): x is number => x !== null);
    const flips = ok.map((c) => c.genderFlip).filter((x): x is boolean => x !== null);
    const drifts = ok.map((c) => c.ageDrift).filter((x): x is number => x !== null);
    let kidResult: ModelEval['kid'] = null;
    let kidNote: string;
    if (!featureNet || !targetFeatures) kidNote = 'skipped: no --webtoons folder (the target-domain set KID compares with)';
    else if (outFeatures.length < 2 || targetFeatures.length < 2) kidNote = `skipped: needs ≥ 2 images on each side (outputs ${outFeatures.length}, webtoons ${targetFeatures.length})`;
    else {
      kidResult = { ...kid(outFeatures, targetFeatures, { seed: opts.seed }), kind: featureNet.kind, features: featureNet.describe };
      kidNote = featureNet.kind === 'KID' ? 'standard KID on the given Inception features' : 'NON-STANDARD face-KID (no --inception given)';
    }
    return {
      model: file,
      version: info.version,
      comparison: reverse ? 'cycle' : 'direct',
      photos: photos.length,
      translated: ok.length,
      analysed: ids.length,
      identity: { mean: mean(ids), median: median(ids) },
      genderFlipRate: flips.length ? flips.filter(Boolean).length / flips.length : null,
      ageDrift: { mean: mean(drifts), meanAbsolute: mean(drifts.map(Math.abs)) },
      kid: kidResult,
      kidNote,
      cases,
    };
  } finally {
    await pipeline.dispose();
  }
}

function verdictOf(d: PairedDifference | null, better: 'higher' | 'lower'): EvalComparisonRow['verdict'] {
  if (!d) return 'not enough data';
  if (!d.significant) return 'within noise';
  return (d.difference > 0) === (better === 'higher') ? 'better' : 'worse';
}

/** Compare two evaluations photo by photo (paired bootstrap); KID by its subset spread. */
export function compareEvals(m: ModelEval, b: ModelEval, opts: { resamples?: number; seed?: number } = {}): EvalComparisonRow[] {
  const byFile = new Map(b.cases.map((c) => [c.file, c]));
  const pairs = m.cases.filter((c) => byFile.has(c.file)).map((c) => [c, byFile.get(c.file)!] as const);
  const row = (metric: string, better: 'higher' | 'lower', get: (c: EvalCase) => number | null, mv: number | null, bv: number | null): EvalComparisonRow => {
    const d = pairedBootstrap(
      pairs.map(([x]) => get(x)),
      pairs.map(([, y]) => get(y)),
      opts,
    );
    return { metric, better, model: mv, baseline: bv, difference: d, verdict: verdictOf(d, better) };
  };
  const rows = [
    row('identity similarity', 'higher', (c) => c.identity, m.identity.mean, b.identity.mean),
    row('gender flip', 'lower', (c) => (c.genderFlip === null ? null : Number(c.genderFlip)), m.genderFlipRate, b.genderFlipRate),
    row('|age drift| (years)', 'lower', (c) => (c.ageDrift === null ? null : Math.abs(c.ageDrift)), m.ageDrift.meanAbsolute, b.ageDrift.meanAbsolute),
  ];
  if (m.kid && b.kid) {
    const diff = m.kid.value - b.kid.value;
    const noise = 2 * Math.hypot(m.kid.std, b.kid.std);
    const significant = m.kid.subsets > 1 && b.kid.subsets > 1 && Math.abs(diff) > noise;
    const d: PairedDifference = { difference: diff, interval: [diff - noise, diff + noise], pairs: 0, significant };
    rows.push({
      metric: m.kid.kind,
      better: 'lower',
      model: m.kid.value,
      baseline: b.kid.value,
      difference: d,
      verdict: m.kid.subsets > 1 && b.kid.subsets > 1 ? verdictOf(d, 'lower') : 'not enough data',
    });
  }
  return rows;
}

/** The ten worst cases: failures first, then no face on one side, then the lowest identity similarity. */
export function worstCases(m: ModelEval, n = 10): EvalCase[] {
  const rank = (c: EvalCase): number => (c.error !== null ? -3 : c.identity === null ? -2 : c.identity);
  return [...m.cases].sort((a, b) => rank(a) - rank(b)).slice(0, n);
}

/** Run the whole evaluation. */
export async function runEval(cfg: Config, opts: EvalOptions): Promise<EvalReport> {
  let photos = listImages(opts.photos);
  if (opts.limit !== undefined) photos = photos.slice(0, opts.limit);
  const analyzer = await FaceAnalyzer.create();
  const reverse = opts.reverseModel ? await TranslatePipeline.create(cfg, { modelFile: opts.reverseModel, modelOverrides: { direction: 'b2a' } }) : null;
  const featureNet = opts.webtoons ? (opts.inception ? await inceptionNet(opts.inception, cfg) : faceKidNet(analyzer)) : null;
  try {
    let targetFeatures: Float32Array[] | null = null;
    if (featureNet && opts.webtoons) {
      targetFeatures = [];
      const files = listImages(opts.webtoons);
      for (const [i, f] of files.entries()) {
        opts.onProgress?.(i, files.length, `webtoons: ${path.basename(f)}`);
        targetFeatures.push(await featureNet.features(await decodeUnchecked(readFileSync(f))));
      }
    }
    const model = await evaluateModel(cfg, opts.model, photos, analyzer, reverse, opts, featureNet, targetFeatures, 'model');
    const baseline = opts.baseline ? await evaluateModel(cfg, opts.baseline, photos, analyzer, reverse, opts, featureNet, targetFeatures, 'baseline') : null;
    return {
      analyser: faceApiVersion(),
      crop: opts.crop ?? 'auto',
      thresholds: AUDIT_THRESHOLDS,
      model,
      baseline,
      comparison: baseline ? compareEvals(model, baseline, { resamples: opts.resamples, seed: opts.seed }) : null,
      worst: worstCases(model),
    };
  } finally {
    await featureNet?.close();
    await reverse?.dispose();
    await analyzer.dispose();
  }
}

const f3 = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : x.toFixed(3));
const pct = (x: number | null): string => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);

function summaryLines(e: ModelEval, label: string): string[] {
  const kidText = e.kid ? `${e.kid.kind} ${e.kid.value.toExponential(3)} ± ${e.kid.std.toExponential(2)} (n ${e.kid.n}, m ${e.kid.m})` : e.kidNote;
  return [
    `${label}: ${e.version} (${path.basename(e.model)})`,
    `  photos ${e.photos}, translated ${e.translated}, analysed (face on both sides) ${e.analysed}`,
    `  identity similarity (${e.comparison === 'cycle' ? 'input vs a2b→b2a reconstruction' : 'input vs webtoon output — WEAK: photo-trained analyser on drawings'}): mean ${f3(e.identity.mean)}, median ${f3(e.identity.median)}`,
    `  gender-flip rate ${pct(e.genderFlipRate)}; age drift mean ${f3(e.ageDrift.mean)} y, mean |drift| ${f3(e.ageDrift.meanAbsolute)} y`,
    `  ${kidText}`,
  ];
}

/** The report as text: summaries, the comparison table, the worst cases. */
export function formatEval(r: EvalReport): string {
  const lines = [`webtoon eval — analyser ${r.analyser}, crop ${r.crop}`, ...summaryLines(r.model, 'model')];
  if (r.baseline) lines.push(...summaryLines(r.baseline, 'baseline'));
  if (r.comparison) {
    lines.push('', 'model vs baseline (paired bootstrap, 95 % interval; a verdict only where it excludes 0):');
    const head = ['metric', 'model', 'baseline', 'difference', '95% interval', 'verdict'];
    const body = r.comparison.map((c) => [
      c.metric,
      f3(c.model),
      f3(c.baseline),
      c.difference ? f3(c.difference.difference) : '—',
      c.difference ? `[${f3(c.difference.interval[0])}, ${f3(c.difference.interval[1])}]` : '—',
      c.verdict,
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
    const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ');
    lines.push(line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line));
  }
  lines.push('', 'worst cases (model):');
  for (const c of r.worst) {
    lines.push(
      `  ${path.basename(c.file)}: ${c.error ? `not translated (${c.error})` : `identity ${f3(c.identity)}, gender ${c.inputGender ?? '—'}→${c.outputGender ?? '—'}, age ${f3(c.inputAge)}→${f3(c.outputAge)}`}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The report as JSON-safe data (no pixels). */
export function evalJson(r: EvalReport): unknown {
  const strip = (e: ModelEval | null) => e && { ...e, cases: e.cases.map(({ images: _images, ...c }) => c) };
  return { ...r, model: strip(r.model), baseline: strip(r.baseline), worst: r.worst.map(({ images: _images, ...c }) => c) };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A contact sheet of the worst cases: one row each with the input crop, the webtoon output and (with a
 * reverse model) the reconstruction, and the scores beside them. PNG.
 */
export async function contactSheet(r: EvalReport, tile = 160): Promise<Buffer> {
  const cases = r.worst;
  const cols = r.model.comparison === 'cycle' ? 3 : 2;
  const textW = 420;
  const rowH = tile + 12;
  const headH = 40;
  const width = cols * (tile + 8) + textW + 16;
  const height = headH + Math.max(1, cases.length) * rowH + 8;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="8" y="18" font-family="DejaVu Sans" font-size="14" font-weight="bold">${esc(`worst ${cases.length} of ${r.model.photos}: ${r.model.version}`)}</text>`,
    `<text x="8" y="34" font-family="DejaVu Sans" font-size="11">${esc(cols === 3 ? 'input crop | webtoon output | a2b→b2a reconstruction' : 'input crop | webtoon output (no reverse model: direct scores, weak)')}</text>`,
  ];
  for (const [i, c] of cases.entries()) {
    const y = headH + i * rowH;
    const imgs = c.images ? [c.images.input, c.images.output, ...(cols === 3 && c.images.reconstruction ? [c.images.reconstruction] : [])] : [];
    for (const [k, img] of imgs.entries()) {
      const png = await encodePng(await resizeSquare(img, tile));
      parts.push(`<image x="${8 + k * (tile + 8)}" y="${y}" width="${tile}" height="${tile}" xlink:href="data:image/png;base64,${png.toString('base64')}"/>`);
    }
    const tx = 8 + cols * (tile + 8) + 4;
    const text = c.error
      ? [path.basename(c.file), `not translated: ${c.error}`]
      : [
          path.basename(c.file),
          `identity ${f3(c.identity)}${c.identity === null ? ' (no face found on one side)' : ''}`,
          `gender ${c.inputGender ?? '—'} → ${c.outputGender ?? '—'}${c.genderFlip ? '  FLIPPED' : ''}`,
          `age ${f3(c.inputAge)} → ${f3(c.outputAge)}`,
        ];
    text.forEach((t, k) => parts.push(`<text x="${tx}" y="${y + 18 + k * 18}" font-family="DejaVu Sans" font-size="${k === 0 ? 13 : 12}"${k === 0 ? ' font-weight="bold"' : ''}>${esc(t)}</text>`));
  }
  parts.push('</svg>');
  return svgToPng(parts.join('\n'), '#ffffff', 72);
}
