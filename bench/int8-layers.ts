/**
 * `npm run bench:int8-layers -- [--ngf 64] [--size 256] [--methods percentile:99.9,percentile:99.99,minmax]
 *   [--eval-crops 5] [--eval-photos <folder>] [--threads 2] [--skip-layers]`: where int8 loses quality. The light generator (4 blocks,
 * random weights with PyTorch's default init, seed 1, as `bench:inference --precision`) is calibrated ONCE on
 * the face crops of the face-api demo photos (the export's split: every 4th crop held out), then, against our
 * fp32 output on the held-out crops, it prints as JSON:
 *   - `layers`: PSNR with ONLY that Conv/Gemm quantised (first method), sorted worst first: the per-layer error;
 *   - `configs`: PSNR of whole-model variants: every range method with the default float set, and the first
 *     method with more ops kept float (the γ/β MLP, the upsampling convs), with the number of quantised ops.
 * `--eval-photos` measures on the face crops of other photographs instead of the held-out crops (calibration
 * stays the export's 17 crops), e.g. `../shared/data/photos`. Timing is `bench:inference --precision`'s job.
 */
import os from 'node:os';
import { createModel, type OrtModel } from '../src/onnx/runtime.ts';
import { loadCalibrationCrops, splitCrops } from '../src/training/export/calibration-images.ts';
import { buildGeneratorGraph, ONNX_IR_VERSION, ONNX_OPSET } from '../src/training/export/generator-graph.ts';
import { buildInt8Model, calibrateGenerator, DEFAULT_EVAL_FRACTION } from '../src/training/export/quantize-generator.ts';
import { DEFAULT_KEEP_FLOAT, outputQuality, type CalibrationRanges, type RangeMethod } from '../src/training/export/quantize.ts';
import { randomGeneratorState } from '../src/training/export/random-state.ts';
import { CALIBRATION_PHOTOS } from './precision.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const ngf = Number(arg('ngf', '64'));
const size = Number(arg('size', '256'));
const threads = Number(arg('threads', '2'));
const evalCrops = Number(arg('eval-crops', '5'));
const skipLayers = process.argv.includes('--skip-layers');
const evalPhotos = arg('eval-photos', '');
const methodNames = arg('methods', 'percentile:99.9,percentile:99.99,minmax').split(',');

/** `minmax` or `percentile:<p>` (the CLI's `--calibration-method` spelling). */
function parseMethod(s: string): RangeMethod {
  if (s === 'minmax') return { method: 'minmax' };
  const m = /^percentile(?::([\d.]+))?$/.exec(s);
  if (!m) throw new Error(`unknown range method ${s}: use minmax or percentile:<p>`);
  return { method: 'percentile', percentile: m[1] ? Number(m[1]) : undefined };
}
const methods = methodNames.map(parseMethod);
const r2 = (n: number): number => Math.round(n * 100) / 100;
const note = (o: unknown): void => void process.stderr.write(`${JSON.stringify(o)}\n`);

const cfg = { variant: 'pytorch' as const, light: true, ngf, n_blocks: 4, img_size: size };
const state = randomGeneratorState(cfg, 1);
const modelOptions = { irVersion: ONNX_IR_VERSION, opsetVersion: ONNX_OPSET, producerName: 'bench', producerVersion: '1', metadata: {} };

const { crops } = await loadCalibrationCrops(CALIBRATION_PHOTOS, { direction: 'a2b', size, threads });
const split = splitCrops(crops, DEFAULT_EVAL_FRACTION);
const evalSource = evalPhotos ? (await loadCalibrationCrops(evalPhotos, { direction: 'a2b', size, threads })).crops : split.evaluation;
const evaluation = evalSource.slice(0, evalCrops).map((c) => c.data);
note({ calibrationCrops: split.calibration.length, evalCrops: evalSource.slice(0, evalCrops).map((c) => c.source) });

const t0 = performance.now();
const rangesPerMethod = await calibrateGenerator(state, cfg, split.calibration.map((c) => c.data), methods, threads, modelOptions);
note({ calibrated: methodNames, seconds: r2((performance.now() - t0) / 1000) });

const feeds = evaluation.map((data) => ({ input: { data, dims: [1, 3, size, size] } }));
async function outputsOf(bytes: Uint8Array): Promise<Float32Array[]> {
  const m: OrtModel = await createModel(bytes, { devices: ['cpu'], threads });
  try {
    const out: Float32Array[] = [];
    for (const f of feeds) out.push((await m.run(f)).output.data);
    return out;
  } finally {
    await m.dispose();
  }
}
const reference = await outputsOf(buildGeneratorGraph(state, cfg).builder.toModelBytes(modelOptions));

/** Pooled PSNR and mean abs difference (pixel units) of a variant against the fp32 outputs. */
async function measure(ranges: CalibrationRanges, keepFloat: ReadonlySet<string>): Promise<{ psnrDb: number; meanAbsDiff: number; quantisedOps: number }> {
  const { modelBytes, quantised } = buildInt8Model(state, cfg, ranges, keepFloat, modelOptions);
  const outs = await outputsOf(modelBytes);
  let sumSq = 0;
  let sumAbs = 0;
  let n = 0;
  outs.forEach((o, i) => {
    const q = outputQuality(reference[i], o);
    sumSq += q.sumSq;
    sumAbs += q.meanAbsDiff * q.n;
    n += q.n;
  });
  return { psnrDb: r2(10 * Math.log10((255 * 255) / (sumSq / n))), meanAbsDiff: r2(sumAbs / n), quantisedOps: quantised.length };
}

const allOps = [...rangesPerMethod[0].keys()];
const defaultFloat = new Set(DEFAULT_KEEP_FLOAT);
const mlp = allOps.filter((op) => op.startsWith('FC.') || op === 'gamma.weight' || op === 'beta.weight');
const upsampling = ['UpBlock2.2.weight', 'UpBlock2.7.weight'];

const configs: Record<string, unknown> = {};
for (const [m, ranges] of rangesPerMethod.entries()) {
  configs[`${methodNames[m]} / default float ops`] = await measure(ranges, defaultFloat);
  note({ config: methodNames[m], ...(configs[`${methodNames[m]} / default float ops`] as object) });
}
for (const [label, extra] of [
  ['+ MLP float', mlp],
  ['+ MLP and upsampling float', [...mlp, ...upsampling]],
] as const) {
  const key = `${methodNames[0]} / default ${label}`;
  configs[key] = await measure(rangesPerMethod[0], new Set([...defaultFloat, ...extra]));
  note({ config: key, ...(configs[key] as object) });
}

const layers: { op: string; psnrDb: number; meanAbsDiff: number }[] = [];
if (!skipLayers) {
  for (const op of allOps.filter((o) => !defaultFloat.has(o))) {
    const r = await measure(rangesPerMethod[0], new Set(allOps.filter((o) => o !== op)));
    layers.push({ op, psnrDb: r.psnrDb, meanAbsDiff: r.meanAbsDiff });
    note({ layer: op, psnrDb: r.psnrDb });
  }
  layers.sort((a, b) => a.psnrDb - b.psnrDb);
}

process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'int8-layers',
      date: new Date().toISOString(),
      model: `light U-GAT-IT generator, ngf ${ngf}, 4 blocks, ${size}², random weights (PyTorch default init, seed 1)`,
      calibration: { photos: 'face-api demo photos (MIT)', crops: split.calibration.length },
      evaluation: { photos: evalPhotos || 'held-out crops of the same folder', crops: evalSource.slice(0, evalCrops).map((c) => c.source) },
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadavg1: r2(os.loadavg()[0]) },
      configs,
      layersOnlyThisOneQuantised: layers,
    },
    null,
    2,
  )}\n`,
);
process.exit(0);
