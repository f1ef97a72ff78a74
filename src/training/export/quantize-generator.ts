/**
 * `webtoon export … --quantize int8 --calibration <folder>`: calibrate, build the QDQ graph, measure it against
 * the fp32 export on held-out crops, and refuse it below the PSNR floor (see quantize.ts for the method).
 */
import { moduleLogger } from '../../logger.ts';
import type { StateDict } from '../tensors.ts';
import { ExportError } from '../training.errors.ts';
import { buildGeneratorGraph, type GeneratorGraphConfig } from './generator-graph.ts';
import type { ModelOptions } from './graph-builder.ts';
import { loadCalibrationCrops, splitCrops, type CalibrationCrop } from './calibration-images.ts';
import {
  addTapOutputs,
  calibrateMethods,
  DEFAULT_KEEP_FLOAT,
  DEFAULT_PERCENTILE,
  measureQuality,
  observingHook,
  qdqHook,
  type CalibrationRanges,
  type QuantQuality,
  type RangeMethod,
} from './quantize.ts';

const log = moduleLogger('onnx-quantize');

/** Default PSNR floor (dB) of the int8 output against the fp32 output on held-out crops. */
export const DEFAULT_PSNR_FLOOR = 30;
/** Default share of the crops held out from calibration to measure quality. */
export const DEFAULT_EVAL_FRACTION = 0.25;
/** The `quantization` metadata value of our int8 models. */
export const QUANTIZATION_SCHEME = 'qdq-static/u8-activations-per-tensor/s8-weights-per-channel/int32-bias';

/** Options of an int8 export. */
export interface Int8Options {
  /** Folder of images (photos for a2b, webtoon drawings for b2a). */
  calibrationDir?: string;
  /** Crops given directly (NCHW [1,3,S,S] in [-1,1]) instead of a folder. */
  crops?: CalibrationCrop[];
  /** Refuse the model below this PSNR in dB (default {@link DEFAULT_PSNR_FLOOR}). */
  psnrFloor?: number;
  /** Share of crops held out for the quality measurement (default {@link DEFAULT_EVAL_FRACTION}). */
  evalFraction?: number;
  /** Activation range method (default percentile {@link DEFAULT_PERCENTILE}). */
  range?: RangeMethod;
  /** Ops (weight names) kept float (default {@link DEFAULT_KEEP_FLOAT}). */
  keepFloat?: readonly string[];
  /** Intra-op threads for calibration and measurement (0: ONNX Runtime's choice). */
  threads?: number;
}

/** The int8 model and the facts to stamp into its metadata. */
export interface Int8Result {
  modelBytes: Uint8Array;
  stamp: Record<string, string>;
  quality: QuantQuality;
  quantisedOps: string[];
}

/** Metadata keys an int8 model carries (all strings; see docs/onnx-export.md). */
export const INT8_METADATA_KEYS = [
  'quantization',
  'quant_calibration',
  'quant_calibration_crops',
  'quant_eval_crops',
  'quant_psnr_db',
  'quant_mean_abs_diff',
  'quant_max_abs_diff',
  'quant_psnr_floor',
  'quant_float_ops',
  'quant_ops',
] as const;

/**
 * Check int8 options before any work (BAD_OPTION), so a bad flag fails fast and writes nothing.
 */
export function checkInt8Options(o: Int8Options): void {
  if (!o.calibrationDir && !o.crops) {
    throw new ExportError('BAD_OPTION', 'int8 quantisation needs calibration images: give --calibration <folder of images>', {});
  }
  if (o.psnrFloor !== undefined && !(Number.isFinite(o.psnrFloor) && o.psnrFloor > 0)) {
    throw new ExportError('BAD_OPTION', `the PSNR floor must be a positive number of dB, got ${o.psnrFloor}`, { psnrFloor: o.psnrFloor });
  }
  if (o.evalFraction !== undefined && !(o.evalFraction > 0 && o.evalFraction < 1)) {
    throw new ExportError('BAD_OPTION', `the held-out fraction must be between 0 and 1, got ${o.evalFraction}`, { evalFraction: o.evalFraction });
  }
  const p = o.range?.percentile;
  if (o.range?.method === 'percentile' && p !== undefined && !(p > 50 && p <= 100)) {
    throw new ExportError('BAD_OPTION', `the calibration percentile must be in (50, 100], got ${p}`, { percentile: p });
  }
}

/**
 * Quantise one generator to int8 (static QDQ). `fp32Model` is the verified float export it is measured against.
 * @throws ExportError CALIBRATION_NOT_FOUND, CALIBRATION_EMPTY, QUALITY_TOO_LOW (message gives the PSNR).
 */
export async function quantizeGenerator(args: {
  generator: StateDict;
  cfg: GeneratorGraphConfig;
  direction: 'a2b' | 'b2a';
  fp32Model: Uint8Array;
  modelOptions: ModelOptions;
  options: Int8Options;
}): Promise<Int8Result> {
  const { generator, cfg, options: o } = args;
  checkInt8Options(o);
  const size = cfg.img_size;
  const threads = o.threads ?? 0;
  let crops = o.crops;
  if (!crops) {
    const loaded = await loadCalibrationCrops(o.calibrationDir as string, { direction: args.direction, size, threads });
    if (loaded.skipped.length > 0) log.warn({ skipped: loaded.skipped }, 'calibration files skipped');
    crops = loaded.crops;
  }
  if (crops.length < 2) {
    throw new ExportError(
      'CALIBRATION_EMPTY',
      `int8 quantisation needs at least 2 crops (some for calibration, some held out to measure quality); ${o.calibrationDir ?? 'the given crops'} gave ${crops.length}`,
      { dir: o.calibrationDir, crops: crops.length },
    );
  }
  const { calibration, evaluation } = splitCrops(crops, o.evalFraction ?? DEFAULT_EVAL_FRACTION);
  const range: RangeMethod = o.range ?? { method: 'percentile', percentile: DEFAULT_PERCENTILE };
  log.info({ calibration: calibration.length, evaluation: evaluation.length, range }, 'calibrating int8 ranges');

  const [ranges] = await calibrateGenerator(generator, cfg, calibration.map((c) => c.data), [range], threads, args.modelOptions);
  const keepFloat = new Set(o.keepFloat ?? DEFAULT_KEEP_FLOAT);
  const { modelBytes, quantised } = buildInt8Model(generator, cfg, ranges, keepFloat, { ...args.modelOptions, metadata: { ...args.modelOptions.metadata, precision: 'int8' } });

  log.info({ crops: evaluation.length }, 'measuring int8 against fp32 on held-out crops');
  const quality = await measureQuality(args.fp32Model, modelBytes, evaluation.map((c) => c.data), size, threads);
  const floor = o.psnrFloor ?? DEFAULT_PSNR_FLOOR;
  const rangeText = range.method === 'minmax' ? 'minmax' : `percentile-${range.percentile ?? DEFAULT_PERCENTILE}`;
  if (!(quality.psnrDb >= floor)) {
    throw new ExportError(
      'QUALITY_TOO_LOW',
      `the int8 model reaches ${quality.psnrDb.toFixed(2)} dB PSNR against fp32 on ${quality.crops} held-out crops (mean abs diff ${quality.meanAbsDiff.toFixed(2)} of 255), below the floor of ${floor} dB; nothing was written (try more calibration images, --calibration-method minmax, or a lower --psnr-floor)`,
      { psnrDb: quality.psnrDb, meanAbsDiff: quality.meanAbsDiff, maxAbsDiff: quality.maxAbsDiff, floor, evalCrops: quality.crops },
    );
  }
  const floatOps = [...keepFloat].filter((op) => ranges.has(op));
  const stamp: Record<string, string> = {
    quantization: QUANTIZATION_SCHEME,
    quant_calibration: rangeText,
    quant_calibration_crops: String(calibration.length),
    quant_eval_crops: String(evaluation.length),
    quant_psnr_db: String(Math.round(quality.psnrDb * 1000) / 1000),
    quant_mean_abs_diff: String(Math.round(quality.meanAbsDiff * 10000) / 10000),
    quant_max_abs_diff: String(Math.round(quality.maxAbsDiff * 10000) / 10000),
    quant_psnr_floor: String(floor),
    quant_float_ops: floatOps.join(','),
    quant_ops: String(quantised.length),
  };
  return { modelBytes, stamp, quality, quantisedOps: quantised };
}

/**
 * Calibrate the activation ranges of every Conv/Gemm of a generator, one result per range method: the float
 * graph with each op's input and output as extra outputs runs once on `crops` (NCHW `[1, 3, S, S]` in [-1, 1]).
 */
export async function calibrateGenerator(
  generator: StateDict,
  cfg: GeneratorGraphConfig,
  crops: readonly Float32Array[],
  methods: readonly RangeMethod[],
  threads: number,
  modelOptions: ModelOptions,
): Promise<CalibrationRanges[]> {
  const observer = observingHook();
  const calibGraph = buildGeneratorGraph(generator, cfg, { linearHook: observer.hook }).builder;
  addTapOutputs(calibGraph, observer.taps);
  return calibrateMethods(calibGraph.toModelBytes({ ...modelOptions, metadata: {} }), observer.taps, crops, cfg.img_size, methods, threads);
}

/** The QDQ model of a generator for calibrated `ranges`, with the ops named in `keepFloat` left float. */
export function buildInt8Model(
  generator: StateDict,
  cfg: GeneratorGraphConfig,
  ranges: CalibrationRanges,
  keepFloat: ReadonlySet<string>,
  modelOptions: ModelOptions,
): { modelBytes: Uint8Array; quantised: string[] } {
  const qdq = qdqHook(ranges, { keepFloat });
  const modelBytes = buildGeneratorGraph(generator, cfg, { linearHook: qdq.hook }).builder.toModelBytes(modelOptions);
  return { modelBytes, quantised: qdq.quantised };
}
