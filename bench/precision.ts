/**
 * `npm run bench:inference -- --precision fp32,fp16,int8 [--runs 3] [--batches 1,8] [--threads 2]`: the light generator
 * (ngf 64, 4 blocks, 256², random weights with PyTorch's default init, seed 1) exported by our exporter in
 * each precision, timed in ONE interleaved loop (so every precision sees the same machine load). Prints JSON:
 * per precision, ms/image at batch 1 and 8 (wall, median), CPU ms/image (process CPU time, the figure that
 * machine load distorts least), GFLOP/s, file size, and the quality against fp32 on held-out face crops of
 * the face-api demo photos (int8: the figures its export measured and stamped; fp16: measured here).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readFileSync, statSync } from 'node:fs';
import { createModel, type OrtModel } from '../src/onnx/runtime.ts';
import { exportGenerator } from '../src/training/export/exporter.ts';
import { readOnnxHeader } from '../src/onnx/proto.ts';
import { loadCalibrationCrops, splitCrops } from '../src/training/export/calibration-images.ts';
import { DEFAULT_EVAL_FRACTION } from '../src/training/export/quantize-generator.ts';
import { measureQuality } from '../src/training/export/quantize.ts';
import { randomGeneratorState } from '../src/training/export/random-state.ts';

export type Precision = 'fp32' | 'fp16' | 'int8';
const cfg = { variant: 'pytorch' as const, light: true, ngf: 64, n_blocks: 4, img_size: 256 };
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
/** Calibration photographs (MIT, in the face-api npm package: a dev dependency). */
export const CALIBRATION_PHOTOS = path.join(repoRoot, 'node_modules/@vladmandic/face-api/demo');

/** Multiply-adds ×2 of every Conv and Gemm of a light generator at side `s` (the rest is < 1 %). */
export function generatorFlops(c: { ngf: number; n_blocks: number }, s: number): number {
  const conv = (cin: number, cout: number, k: number, side: number): number => 2 * cin * cout * k * k * side * side;
  const n = c.ngf;
  let f = conv(3, n, 7, s) + conv(n, 2 * n, 3, s / 2) + conv(2 * n, 4 * n, 3, s / 4);
  f += c.n_blocks * 2 * conv(4 * n, 4 * n, 3, s / 4); // encoder blocks
  f += conv(8 * n, 4 * n, 1, s / 4); // conv1x1 after CAM
  f += c.n_blocks * 2 * conv(4 * n, 4 * n, 3, s / 4); // decoder blocks
  f += conv(4 * n, 2 * n, 3, s / 2) + conv(2 * n, n, 3, s) + conv(n, 3, 7, s);
  f += 2 * (4 * n) * (4 * n) * 4; // MLP
  return f;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const r1 = (n: number): number => Math.round(n * 10) / 10;
const r3 = (n: number): number => Math.round(n * 1000) / 1000;

/** Export the benchmark generator in each precision into `dir`. */
export async function exportPrecisions(dir: string, precisions: readonly Precision[], threads: number): Promise<Record<Precision, string>> {
  const state = { genA2B: randomGeneratorState(cfg, 1) };
  const out = {} as Record<Precision, string>;
  for (const p of precisions) {
    out[p] = path.join(dir, `light-ngf64-nb4-256-${p}.onnx`);
    process.stderr.write(`bench: exporting ${p} …\n`);
    await exportGenerator({
      state,
      config: { ...cfg, step: 0 },
      direction: 'a2b',
      outPath: out[p],
      version: `bench-${p}`,
      verify: false,
      fp16: p === 'fp16',
      // the bench reports the measured PSNR whatever it is; the export's own floor is for real models
      int8: p === 'int8' ? { calibrationDir: CALIBRATION_PHOTOS, psnrFloor: 1, threads } : undefined,
    });
  }
  return out;
}

/** Time every precision, interleaved, at each batch size; then measure quality against fp32. */
export async function benchPrecisions(opts: { precisions: Precision[]; runs: number; threads: number; batches?: number[] }): Promise<Record<string, unknown>> {
  const batches = opts.batches ?? [1, 8];
  const started = performance.now();
  const loadavgStart = r1(os.loadavg()[0]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'webtoon-precision-'));
  try {
    const files = await exportPrecisions(dir, opts.precisions, opts.threads);
    const models = new Map<Precision, OrtModel>();
    for (const p of opts.precisions) models.set(p, await createModel(files[p], { devices: ['cpu'], threads: opts.threads }));
    const wall = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    for (const b of batches) {
      const input = new Float32Array(b * 3 * 256 * 256).map((_, i) => Math.sin(i * 0.001));
      const feed = { input: { data: input, dims: [b, 3, 256, 256] } };
      // one warm-up run per session (at the first batch size: a batch-8 warm-up alone costs 8 images); the
      // first run at a new batch size pays a little allocation, which the median of the runs absorbs
      if (b === batches[0]) for (const m of models.values()) await m.run(feed);
      for (let r = 0; r < opts.runs; r++) {
        for (const [p, m] of models) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          await m.run(feed);
          const t = performance.now() - t0;
          const c = process.cpuUsage(c0);
          (wall.get(`${p}/${b}`) ?? wall.set(`${p}/${b}`, []).get(`${p}/${b}`)!).push(t / b);
          (cpu.get(`${p}/${b}`) ?? cpu.set(`${p}/${b}`, []).get(`${p}/${b}`)!).push((c.user + c.system) / 1000 / b);
        }
      }
    }
    await Promise.all([...models.values()].map((m) => m.dispose()));

    // quality against fp32 on the same held-out crops the int8 export measured on
    const { crops } = await loadCalibrationCrops(CALIBRATION_PHOTOS, { direction: 'a2b', size: 256, threads: opts.threads });
    const { evaluation } = splitCrops(crops, DEFAULT_EVAL_FRACTION);
    const flops = generatorFlops(cfg, 256);
    const result: Record<string, unknown> = {};
    for (const p of opts.precisions) {
      const md = readOnnxHeader(readFileSync(files[p])).metadata;
      const per: Record<string, unknown> = { fileMB: r1(statSync(files[p]).size / 1024 / 1024) };
      for (const b of batches) {
        const w = median(wall.get(`${p}/${b}`) ?? []);
        const c = median(cpu.get(`${p}/${b}`) ?? []);
        per[`batch${b}`] = { msPerImage: r1(w), cpuMsPerImage: r1(c), gflopsPerSecond: r1(flops / (w / 1000) / 1e9), runsMs: wall.get(`${p}/${b}`)?.map(r1) };
      }
      if (p === 'int8') {
        per.quality = {
          against: 'fp32 export, held-out face crops (recorded in the model metadata at export)',
          psnrDb: Number(md.quant_psnr_db),
          meanAbsDiff: Number(md.quant_mean_abs_diff),
          maxAbsDiff: Number(md.quant_max_abs_diff),
          heldOutCrops: Number(md.quant_eval_crops),
          calibrationCrops: Number(md.quant_calibration_crops),
          calibration: md.quant_calibration,
          floatOps: md.quant_float_ops,
        };
      } else if (p === 'fp16' && files.fp32) {
        const q = await measureQuality(files.fp32, files.fp16, evaluation.map((c) => c.data), 256, opts.threads);
        per.quality = { against: 'fp32 export, held-out face crops', psnrDb: r3(q.psnrDb), meanAbsDiff: r3(q.meanAbsDiff), maxAbsDiff: r3(q.maxAbsDiff), heldOutCrops: q.crops };
      } else {
        per.quality = { against: 'itself (the reference)', psnrDb: null };
      }
      result[p] = per;
    }
    if (result.fp32 && result.int8) {
      const f = result.fp32 as Record<string, { msPerImage: number; cpuMsPerImage: number }>;
      const i = result.int8 as Record<string, { msPerImage: number; cpuMsPerImage: number }>;
      result.int8SpeedupOverFp32 = Object.fromEntries(
        batches.map((b) => [`batch${b}`, { wall: r3(f[`batch${b}`].msPerImage / i[`batch${b}`].msPerImage), cpu: r3(f[`batch${b}`].cpuMsPerImage / i[`batch${b}`].cpuMsPerImage) }]),
      );
    }
    return {
      model: 'light U-GAT-IT generator, ngf 64, 4 blocks, 256², random weights (PyTorch default init, seed 1)',
      gflopPerImage: r1(flops / 1e9),
      threads: opts.threads,
      runs: opts.runs,
      date: new Date().toISOString(),
      elapsedSeconds: Math.round((performance.now() - started) / 1000),
      machine: {
        cpus: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        loadavg1: { start: loadavgStart, end: r1(os.loadavg()[0]) },
        shared: 'medians of interleaved runs; cpuMsPerImage is the process CPU time per image',
      },
      perPrecision: result,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
