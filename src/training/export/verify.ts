/**
 * Self-verification of an exported generator: run the encoded ONNX model in onnxruntime-node (CPU provider)
 * and a reference implementation on the same seeded random batch, and measure the largest absolute
 * difference over all three outputs.
 */
import { createModel } from '../../onnx/runtime.ts';
import { GENERATOR_IO } from '../../shared/generator-contract.ts';
import { uniformArray } from './random-state.ts';

/** Generator outputs in the ONNX contract's layout (NCHW, flattened row-major). */
export interface GeneratorOutputs {
  output: Float32Array;
  camLogit: Float32Array;
  heatmap: Float32Array;
}

/** A second implementation of the same generator: NCHW float32 in, NCHW outputs back. */
export interface GeneratorReference {
  /** Short description for the metadata, e.g. `tfjs-wasm`. */
  readonly name: string;
  run(input: Float32Array, shape: [number, number, number, number]): Promise<GeneratorOutputs>;
  dispose?(): void;
}

/** Run an encoded generator model in onnxruntime-node on the CPU provider. */
export async function runOnnxGenerator(
  model: Uint8Array | string,
  input: Float32Array,
  shape: [number, number, number, number],
): Promise<GeneratorOutputs & { dims: Record<string, readonly number[]> }> {
  const session = await createModel(model, { devices: ['cpu'], threads: 0, announce: false });
  try {
    const res = await session.run({ [GENERATOR_IO.input]: { data: input, dims: shape } });
    const get = (k: string): { data: Float32Array; dims: number[] } => {
      const t = res[k];
      if (!t) throw new Error(`ONNX model has no output "${k}"`);
      return t;
    };
    const output = get(GENERATOR_IO.output);
    const camLogit = get(GENERATOR_IO.camLogit);
    const heatmap = get(GENERATOR_IO.heatmap);
    return {
      output: output.data as Float32Array,
      camLogit: camLogit.data as Float32Array,
      heatmap: heatmap.data as Float32Array,
      dims: { output: output.dims, cam_logit: camLogit.dims, heatmap: heatmap.dims },
    };
  } finally {
    await session.dispose();
  }
}

/** Largest |a[i] − b[i]|; Infinity when lengths differ or a value is not finite. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Per-output and overall differences of one verification run. */
export interface VerifyResult {
  maxAbsDiff: number;
  perOutput: { output: number; cam_logit: number; heatmap: number };
  batch: number;
  size: number;
  seed: number;
  reference: string;
}

/** Compare the model with the reference on a seeded random batch in [-1, 1]. */
export async function verifyGenerator(
  model: Uint8Array,
  reference: GeneratorReference,
  opts: { size: number; batch?: number; seed?: number },
): Promise<VerifyResult> {
  const batch = opts.batch ?? 2;
  const seed = opts.seed ?? 20_240_607;
  const shape: [number, number, number, number] = [batch, 3, opts.size, opts.size];
  const input = uniformArray(batch * 3 * opts.size * opts.size, seed);
  const onnxOut = await runOnnxGenerator(model, input, shape);
  const refOut = await reference.run(input, shape);
  const perOutput = {
    output: maxAbsDiff(onnxOut.output, refOut.output),
    cam_logit: maxAbsDiff(onnxOut.camLogit, refOut.camLogit),
    heatmap: maxAbsDiff(onnxOut.heatmap, refOut.heatmap),
  };
  return {
    maxAbsDiff: Math.max(perOutput.output, perOutput.cam_logit, perOutput.heatmap),
    perOutput,
    batch,
    size: opts.size,
    seed,
    reference: reference.name,
  };
}
