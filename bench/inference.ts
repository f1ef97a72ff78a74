/**
 * Inference benchmark. Prints one JSON object on stdout:
 *   - generator ms/image at batch 1, 4 and 8 (ONNX Runtime, the configured providers);
 *   - intake + detection ms for a 12-megapixel JPEG (astronaut upscaled to 4000×3000);
 *   - p50/p95 end-to-end latency and throughput with 16 concurrent requests through the real
 *     client (worker thread, queue, dynamic batching);
 *   - peak RSS of the process (main thread + worker).
 *
 *   npm run bench:inference -- [--model file.onnx] [--runs 5] [--requests 48] [--concurrency 16]
 *   npm run bench:inference -- --precision fp32,fp16,int8 [--runs 3] [--batches 1,8] [--threads 2]   (see bench/precision.ts)
 *
 * Without --model it exports a light U-GAT-IT generator (ngf 64, 4 blocks, 256², random weights:
 * speed does not depend on the weights) with our exporter into a temporary folder.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { BlazeFaceDetector } from '../src/inference/blazeface.detector.ts';
import { GeneratorRunner } from '../src/inference/generator.runner.ts';
import { decodeImage, decodeUnchecked, encodeJpeg, resizeTo } from '../src/media/media.ts';
import { createInferenceClient } from '../src/inference/inference.client.ts';
import { DEFAULT_IMG_SIZE, loadModelInfo } from '../src/inference/model.registry.ts';
import { providerFailures } from '../src/onnx/runtime.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const precisionArg = arg('precision');
if (precisionArg !== undefined) {
  const precisions = precisionArg.split(',');
  const bad = precisions.filter((p) => !['fp32', 'fp16', 'int8'].includes(p));
  if (bad.length > 0 || precisions.length === 0) {
    process.stderr.write(`bench:inference: --precision takes fp32, fp16 and/or int8 (comma-separated), got "${precisionArg}"\n`);
    process.exit(2);
  }
  const batchList = (arg('batches') ?? '1,8').split(',').map(Number);
  const runCount = Number(arg('runs') ?? 3);
  if (!batchList.every((b) => Number.isInteger(b) && b > 0) || !(Number.isInteger(runCount) && runCount > 0)) {
    process.stderr.write(`bench:inference: --batches takes positive integers (comma-separated) and --runs a positive integer, got "${arg('batches')}" and "${arg('runs')}"\n`);
    process.exit(2);
  }
  const { benchPrecisions } = await import('./precision.ts');
  const out = await benchPrecisions({
    precisions: precisions as ('fp32' | 'fp16' | 'int8')[],
    runs: runCount,
    threads: Number(arg('threads') ?? 2),
    batches: batchList,
  });
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  process.exit(0);
}

const runs = Number(arg('runs') ?? 5);
const requests = Number(arg('requests') ?? 48);
const concurrency = Number(arg('concurrency') ?? 16);
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// The bundled public-domain photo (256²; upscaled below), so the bench runs from a clone alone.
const astronaut = path.resolve(repoRoot, 'assets/demo/astronaut.jpg');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const r1 = (n: number): number => Math.round(n * 10) / 10;

async function defaultModel(): Promise<string> {
  const { exportBenchModel } = await import('./bench-model.ts');
  return exportBenchModel(await mkdtemp(path.join(os.tmpdir(), 'webtoon-bench-')));
}

const modelArg = arg('model');
const modelFile = modelArg ? path.resolve(modelArg) : await defaultModel();
const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' });
const session = { devices: config.ORT_PROVIDERS, threads: config.ORT_THREADS };
const info = await loadModelInfo(modelFile, { direction: 'a2b', version: 'bench', imgSize: DEFAULT_IMG_SIZE });

// 1. Generator alone, per batch size.
const base = await decodeUnchecked(readFileSync(astronaut));
const crop = await resizeTo(base, info.imgSize, info.imgSize);
const runner = new GeneratorRunner(session, { maxBatch: 8, maxWaitMs: 0 });
await runner.runBatch(info, [crop]); // load + warm up
const generator: Record<string, number> = {};
for (const batch of [1, 4, 8]) {
  const crops = Array.from({ length: batch }, () => crop);
  await runner.runBatch(info, crops);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await runner.runBatch(info, crops);
    times.push((performance.now() - t) / batch);
  }
  generator[`batch${batch}`] = r1(median(times));
}
await runner.dispose();

// 2. Intake + detection of a 12-megapixel JPEG.
const big = await encodeJpeg(await resizeTo(base, 4000, 3000), 90);
const blaze = await BlazeFaceDetector.create(session);
const limits = { maxBytes: config.MAX_IMAGE_BYTES, maxPixels: config.MAX_IMAGE_PIXELS, minSide: config.MIN_FACE_PX };
const intake: number[] = [];
const detect: number[] = [];
let faces = 0;
for (let i = 0; i < Math.max(3, Math.min(runs, 5)); i++) {
  const t0 = performance.now();
  const { image } = await decodeImage(big, limits);
  const t1 = performance.now();
  faces = (await blaze.detect(image)).length;
  const t2 = performance.now();
  intake.push(t1 - t0);
  detect.push(t2 - t1);
}
await blaze.dispose();

// 3. End to end through the client with `concurrency` requests in flight.
const client = await createInferenceClient(
  { ...config, QUEUE_MAX: Math.max(config.QUEUE_MAX, concurrency) },
  { modelFile, modelOverrides: { direction: 'a2b', version: 'bench' } },
);
const photo = readFileSync(astronaut);
await client.translate(photo, { direction: 'a2b' }); // warm up
const latencies: number[] = [];
const batchSizes: number[] = [];
let next = 0;
const wall0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      next++;
      const t = performance.now();
      const r = await client.translate(photo, { direction: 'a2b' });
      latencies.push(performance.now() - t);
      batchSizes.push(r.batchSize ?? 1);
    }
  }),
);
const wall = performance.now() - wall0;
await client.close();

const result = {
  model: { file: modelFile, imgSize: info.imgSize, light: info.light, version: info.version, bytes: info.bytes },
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadAverage1m: r1(os.loadavg()[0]) },
  providers: config.ORT_PROVIDERS,
  providerFailures: Object.fromEntries(providerFailures()),
  ortThreads: config.ORT_THREADS,
  generatorMsPerImage: generator,
  batchingSpeedup8vs1: r1((generator.batch1 / generator.batch8) * 100) / 100,
  intake12MP: { bytes: big.length, width: 4000, height: 3000, decodeMs: r1(median(intake)), detectMs: r1(median(detect)), totalMs: r1(median(intake) + median(detect)), faces },
  endToEnd: {
    requests,
    concurrency,
    p50Ms: r1(percentile(latencies, 50)),
    p95Ms: r1(percentile(latencies, 95)),
    throughputPerSec: r1((requests / wall) * 1000 * 100) / 100,
    meanBatchSize: r1(batchSizes.reduce((a, b) => a + b, 0) / batchSizes.length),
    batchMax: config.BATCH_MAX_SIZE,
    batchWaitMs: config.BATCH_MAX_WAIT_MS,
  },
  peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  pytorchReference: {
    msPerImage: null,
    note: 'PyPI is unreachable here: the comparison with PyTorch (Debian python3-torch, an implementation proven identical to the official one) is npm run bench:compare.',
  },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
