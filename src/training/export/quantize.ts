/**
 * Static int8 quantisation of an exported generator, written by our exporter (no onnxruntime Python tools):
 *
 * 1. **Calibration model.** The float32 graph is built once more with an observing hook that makes the input
 *    and the output of every Conv and MLP Gemm an extra graph output.
 * 2. **Ranges.** Real face crops run through it in onnxruntime; each tapped tensor gets a range: the plain
 *    min/max, or (default) a high percentile of a strided sample of its values per image, widest over images.
 * 3. **QDQ graph.** The graph is built again with `QuantizeLinear → DequantizeLinear` on each op's input and
 *    output (uint8, asymmetric, the calibrated range), int8 weights with one symmetric scale per output
 *    channel, and an int32 bias (scale = input scale × weight scale). ONNX Runtime's graph optimiser fuses
 *    `DQ → Conv → Q` into `QLinearConv` (u8 activations × s8 weights: VNNI's `vpdpbusd` on AVX-512 machines).
 *    Normalisation (IN, ILN, AdaILN), CAM, residual adds, Resize and tanh stay float.
 * 4. **Quality.** Held-out crops (never used for calibration) run through both models; PSNR and the mean and
 *    max absolute difference of `output` in pixel units (0..255) are measured and returned for the metadata.
 *
 * Written here rather than taken from a library: the only quantiser that writes QDQ ONNX is onnxruntime's
 * Python package (not installable here, and not TypeScript), and the graph is our own exporter's.
 */
import { createModel } from '../../onnx/runtime.ts';
import type { NamedTensor } from '../tensors.ts';
import type { GraphBuilder } from './graph-builder.ts';
import { attr, DataType } from './graph-builder.ts';
import type { LinearOpHook } from './generator-graph.ts';

/** A calibrated activation range. */
export interface ActivationRange {
  min: number;
  max: number;
}

/** Calibrated ranges per op (keyed by its weight name): its input and its output. */
export type CalibrationRanges = Map<string, { input: ActivationRange; output: ActivationRange }>;

/** How activation ranges are taken from the calibration runs. */
export interface RangeMethod {
  /** `minmax`: exact extremes; `percentile`: the p-th / (100−p)-th percentile per image, widest over images. */
  method: 'minmax' | 'percentile';
  /** Percentile for `percentile` (default {@link DEFAULT_PERCENTILE}). */
  percentile?: number;
}

/**
 * Default range percentile. Light ngf 64 / 256², 17 calibration / 5 held-out face crops (`bench:int8-layers`):
 * 99.99 → 30.97 dB, 99.9 → 30.33, min/max → 28.52, 99 → 24.04: clipping costs more than coarser steps.
 */
export const DEFAULT_PERCENTILE = 99.99;
/** Values sampled (strided) per tensor and image for a percentile. */
const PERCENTILE_SAMPLE = 1 << 16;

/** One tensor tapped for calibration. */
export interface Tap {
  op: string;
  side: 'input' | 'output';
  tensor: string;
}

/**
 * A hook that leaves the graph as it is and records the input and output tensor of every Conv/Gemm; the
 * caller declares them as graph outputs ({@link addTapOutputs}).
 */
export function observingHook(): { hook: LinearOpHook; taps: Tap[] } {
  const taps: Tap[] = [];
  const hook: LinearOpHook = {
    input: (_g, x, op, move) => {
      const moved = move ? move(x) : x;
      taps.push({ op, side: 'input', tensor: moved });
      return moved;
    },
    weight: () => undefined,
    bias: () => undefined,
    output: (_g, y, op) => {
      taps.push({ op, side: 'output', tensor: y });
      return y;
    },
  };
  return { hook, taps };
}

/** Declare every tapped tensor a graph output (float32, rank unknown to the graph: dims are left open). */
export function addTapOutputs(g: GraphBuilder, taps: readonly Tap[]): void {
  const seen = new Set<string>();
  for (const t of taps) {
    if (seen.has(t.tensor)) continue;
    seen.add(t.tensor);
    g.output(t.tensor, t.tensor, DataType.FLOAT, t.op.startsWith('FC.') || t.op === 'gamma.weight' || t.op === 'beta.weight' ? [null, null] : [null, null, null, null]);
  }
}

/** Range of one tensor's values: exact extremes, or the percentile pair of a strided sample. */
export function tensorRange(data: Float32Array, how: RangeMethod): ActivationRange {
  if (how.method === 'minmax' || data.length <= 64) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { min, max };
  }
  const p = how.percentile ?? DEFAULT_PERCENTILE;
  const stride = Math.max(1, Math.floor(data.length / PERCENTILE_SAMPLE));
  const sample = new Float32Array(Math.ceil(data.length / stride));
  for (let i = 0, j = 0; i < data.length; i += stride, j++) sample[j] = data[i];
  sample.sort();
  const at = (q: number): number => sample[Math.min(sample.length - 1, Math.max(0, Math.round(q * (sample.length - 1))))];
  return { min: at(1 - p / 100), max: at(p / 100) };
}

/**
 * Run the calibration model on each crop (batch 1) and return the ranges per op: widest over the crops.
 * @param crops NCHW float32 crops in [-1, 1], each `[1, 3, size, size]`.
 */
export async function calibrate(
  calibrationModel: Uint8Array,
  taps: readonly Tap[],
  crops: readonly Float32Array[],
  size: number,
  how: RangeMethod,
  threads = 0,
): Promise<CalibrationRanges> {
  return (await calibrateMethods(calibrationModel, taps, crops, size, [how], threads))[0];
}

/** {@link calibrate} for several range methods from one pass over the crops (one result per method, in order). */
export async function calibrateMethods(
  calibrationModel: Uint8Array,
  taps: readonly Tap[],
  crops: readonly Float32Array[],
  size: number,
  methods: readonly RangeMethod[],
  threads = 0,
): Promise<CalibrationRanges[]> {
  const model = await createModel(calibrationModel, { devices: ['cpu'], threads, announce: false });
  const results: CalibrationRanges[] = methods.map(() => new Map());
  try {
    for (const crop of crops) {
      const out = await model.run({ input: { data: crop, dims: [1, 3, size, size] } });
      for (const t of taps) {
        methods.forEach((how, m) => {
          const r = tensorRange(out[t.tensor].data, how);
          let entry = results[m].get(t.op);
          if (!entry) {
            entry = { input: { min: Infinity, max: -Infinity }, output: { min: Infinity, max: -Infinity } };
            results[m].set(t.op, entry);
          }
          const side = entry[t.side];
          side.min = Math.min(side.min, r.min);
          side.max = Math.max(side.max, r.max);
        });
      }
    }
  } finally {
    await model.dispose();
  }
  return results;
}

/** uint8 asymmetric parameters covering `r` (and 0, so zero padding and ReLU zeros are exact). */
export function uint8Params(r: ActivationRange): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, r.min);
  const hi = Math.max(0, r.max);
  const scale = hi - lo > 1e-12 ? (hi - lo) / 255 : 1e-8;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/** Symmetric int8 per output channel (axis 0): q = round(w / s_c), s_c = max|w_c| / 127. */
export function quantizeWeightPerChannel(w: NamedTensor): { q: Int8Array; scales: Float32Array } {
  const channels = w.shape[0];
  const per = w.data.length / channels;
  const q = new Int8Array(w.data.length);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let m = 0;
    for (let i = c * per; i < (c + 1) * per; i++) m = Math.max(m, Math.abs(w.data[i]));
    const s = m > 0 ? m / 127 : 1;
    scales[c] = s;
    for (let i = c * per; i < (c + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w.data[i] / s)));
  }
  return { q, scales };
}

/**
 * Convs kept in float by default:
 * - the 7×7 stem (3 input channels) and the 7×7 output conv (3 output channels): they touch the image itself,
 *   and as QLinearConv the 3-channel output conv ran ~15× slower than the float Conv in ONNX Runtime 1.30
 *   (measured: 912 ms vs 58 ms at 128², light ngf 64), more than all the others;
 * - the two stride-2 encoder convs and the CAM's conv1x1: quantised alone, they lose the most of all layers
 *   (light ngf 64 / 256², `npm run bench:int8-layers`: 35.6, 36.9 and 39.6 dB against fp32, where a decoder
 *   residual conv alone loses 59–65 dB), and together they are only ~6 of the generator's 105 GFLOP.
 */
export const DEFAULT_KEEP_FLOAT: readonly string[] = ['DownBlock.1.weight', 'DownBlock.5.weight', 'DownBlock.9.weight', 'conv1x1.weight', 'UpBlock2.11.weight'];

/** Which ops to quantise; the rest of the Conv/Gemm ops stay float. */
export interface QdqOptions {
  /** Ops (weight names) left in float; default {@link DEFAULT_KEEP_FLOAT}. */
  keepFloat?: ReadonlySet<string>;
}

/**
 * A hook that inserts QuantizeLinear/DequantizeLinear around every calibrated Conv and Gemm, with int8
 * per-channel weights and int32 biases. `quantised` lists the ops it rewrote.
 */
export function qdqHook(ranges: CalibrationRanges, opts: QdqOptions = {}): { hook: LinearOpHook; quantised: string[] } {
  const quantised: string[] = [];
  const weightScales = new Map<string, Float32Array>();
  const keep = opts.keepFloat ?? new Set(DEFAULT_KEEP_FLOAT);
  const active = (op: string): boolean => ranges.has(op) && !keep.has(op);
  // Q → (move: Resize/Pad on uint8) → DQ
  const qdq = (g: GraphBuilder, x: string, r: ActivationRange, hint: string, move?: (t: string) => string): string => {
    const { scale, zeroPoint } = uint8Params(r);
    const s = g.initializer(`${hint}_scale`, [], Float32Array.of(scale));
    const z = g.initializerInt(`${hint}_zero_point`, [], Uint8Array.of(zeroPoint));
    const q = g.op('QuantizeLinear', [x, s, z], {}, `${hint}_q`);
    return g.op('DequantizeLinear', [move ? move(q) : q, s, z], {}, `${hint}_dq`);
  };
  const hook: LinearOpHook = {
    input: (g, x, op, move) => {
      if (!active(op)) return move ? move(x) : x;
      quantised.push(op);
      return qdq(g, x, (ranges.get(op) as { input: ActivationRange }).input, `${op}.input`, move);
    },
    weight: (g, op, w) => {
      if (!active(op)) return undefined;
      const { q, scales } = quantizeWeightPerChannel(w);
      weightScales.set(op, scales);
      const wq = g.initializerInt(`${op}.int8`, w.shape, q);
      const s = g.initializer(`${op}.scale`, [scales.length], scales);
      const z = g.initializerInt(`${op}.zero_point`, [scales.length], new Int8Array(scales.length));
      return g.op('DequantizeLinear', [wq, s, z], { axis: attr.int(0) }, op);
    },
    // int32 bias with scale s_x · s_w[c] (zero point 0), as QLinearConv needs; asked for after weight()
    bias: (g, op, b) => {
      const ws = weightScales.get(op);
      if (!active(op) || !ws) return undefined;
      const sx = uint8Params((ranges.get(op) as { input: ActivationRange }).input).scale;
      const scales = ws.map((v) => sx * v);
      const q = Int32Array.from(b.data, (v, c) => Math.round(v / scales[c]));
      const bq = g.initializerInt(`${op}.bias.int32`, b.shape, q);
      const s = g.initializer(`${op}.bias.scale`, [scales.length], scales);
      const z = g.initializerInt(`${op}.bias.zero_point`, [scales.length], new Int32Array(scales.length));
      return g.op('DequantizeLinear', [bq, s, z], { axis: attr.int(0) }, `${op}.bias`);
    },
    // Q → DQ → Clip to the representable range (a no-op on the values): with Clip as the single consumer of
    // the DQ, ONNX Runtime does not duplicate the DQ for each float consumer (ILN reads its input 4 times).
    output: (g, y, op) => {
      if (!active(op)) return y;
      const r = (ranges.get(op) as { output: ActivationRange }).output;
      const { scale, zeroPoint } = uint8Params(r);
      const dq = qdq(g, y, r, `${op}.output`);
      const lo = g.initializer(`${op}.output_lo`, [], Float32Array.of(Math.fround(scale * (0 - zeroPoint))));
      const hi = g.initializer(`${op}.output_hi`, [], Float32Array.of(Math.fround(scale * (255 - zeroPoint))));
      return g.op('Clip', [dq, lo, hi], {}, `${op}.output_clip`);
    },
  };
  return { hook, quantised };
}

/** int8 vs fp32 on held-out crops, `output` in pixel units (0..255). */
export interface QuantQuality {
  psnrDb: number;
  meanAbsDiff: number;
  maxAbsDiff: number;
  crops: number;
}

/**
 * PSNR (peak 255) and mean / max absolute difference of two generator outputs in [-1, 1], compared as
 * pixels `(y + 1) · 127.5` (unrounded). Identical outputs give Infinity dB.
 */
export function outputQuality(reference: Float32Array, test: Float32Array): Omit<QuantQuality, 'crops'> & { sumSq: number; n: number } {
  if (reference.length !== test.length) throw new Error(`outputs differ in length: ${reference.length} vs ${test.length}`);
  let sumSq = 0;
  let sumAbs = 0;
  let maxAbs = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = (reference[i] - test[i]) * 127.5;
    sumSq += d * d;
    const a = Math.abs(d);
    sumAbs += a;
    if (!(a <= maxAbs)) maxAbs = a; // NaN propagates
  }
  const n = reference.length;
  return { psnrDb: psnrFromMse(sumSq / n), meanAbsDiff: sumAbs / n, maxAbsDiff: maxAbs, sumSq, n };
}

function psnrFromMse(mse: number): number {
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/**
 * Run both models on each crop (batch 1) and measure the int8 `output` against the fp32 one over all crops
 * together (PSNR of the pooled squared error).
 */
export async function measureQuality(
  fp32Model: Uint8Array | string,
  int8Model: Uint8Array | string,
  crops: readonly Float32Array[],
  size: number,
  threads = 0,
): Promise<QuantQuality> {
  const a = await createModel(fp32Model, { devices: ['cpu'], threads, announce: false });
  const b = await createModel(int8Model, { devices: ['cpu'], threads, announce: false });
  let sumSq = 0;
  let sumAbs = 0;
  let maxAbs = 0;
  let n = 0;
  try {
    for (const crop of crops) {
      const feed = { input: { data: crop, dims: [1, 3, size, size] } };
      const ya = (await a.run(feed)).output.data;
      const yb = (await b.run(feed)).output.data;
      const q = outputQuality(ya, yb);
      sumSq += q.sumSq;
      sumAbs += q.meanAbsDiff * q.n;
      maxAbs = Math.max(maxAbs, q.maxAbsDiff);
      n += q.n;
    }
  } finally {
    await Promise.all([a.dispose(), b.dispose()]);
  }
  return { psnrDb: psnrFromMse(sumSq / n), meanAbsDiff: sumAbs / n, maxAbsDiff: maxAbs, crops: crops.length };
}
