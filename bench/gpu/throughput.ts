/**
 * GPU throughput of the light 256² generator (ngf 64, 4 blocks, random weights) on every GPU path that loads
 * on the host, in images per second at batch 1, 8 and 32. Prepared for a GPU session (run by run.sh); not run
 * on the CPU-only build machines, where every GPU path reports why it could not load.
 *
 *   npx tsx bench/gpu/throughput.ts [--batches 1,8,32] [--seconds 5] [--paths cuda-fp32,cuda-fp16,webgpu-fp32,webgpu-fp16]
 *
 * - cuda-*: onnxruntime-node's CUDA execution provider (needs libonnxruntime_providers_cuda.so, which the
 *   package downloads at install only with ONNXRUNTIME_NODE_INSTALL=cuda12; carry it to the host).
 * - webgpu-*: onnxruntime-node 1.30's built-in WebGPU EP (Dawn, Vulkan backend on Linux: needs libvulkan.so.1
 *   and the NVIDIA Vulkan ICD). Outputs stay on the device (`preferredOutputLocation: 'gpu-buffer'`).
 * - fp16 = our `--fp16` export (fp16 weights, fp32 arithmetic and I/O).
 * Prints one JSON object: per path and batch, images/s (median over timed runs), or the load error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { exportGenerator } from '../../src/training/export/exporter.ts';
import { randomGeneratorState } from '../../src/training/export/random-state.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const batches = arg('batches', '1,8,32').split(',').map(Number);
const seconds = Number(arg('seconds', '5'));
const paths = arg('paths', 'cuda-fp32,cuda-fp16,webgpu-fp32,webgpu-fp16').split(',');
const cfg = { variant: 'pytorch' as const, light: true, ngf: 64, n_blocks: 4, img_size: 256 };

const dir = await mkdtemp(path.join(os.tmpdir(), 'webtoon-gpu-'));
const files: Record<string, string> = {};
for (const precision of ['fp32', 'fp16']) {
  files[precision] = path.join(dir, `${precision}.onnx`);
  await exportGenerator({ state: { genA2B: randomGeneratorState(cfg, 1) }, config: { ...cfg, step: 0 }, direction: 'a2b', outPath: files[precision], fp16: precision === 'fp16', verify: false, version: `gpu-${precision}` });
}

const results: Record<string, unknown> = {};
for (const p of paths) {
  const [ep, precision] = p.split('-');
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(ep === 'webgpu' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
  };
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(files[precision], options);
  } catch (err) {
    results[p] = { error: String((err as Error).message).split('\n')[0] };
    continue;
  }
  const perBatch: Record<string, unknown> = {};
  for (const b of batches) {
    const input = new ort.Tensor('float32', new Float32Array(b * 3 * 256 * 256).fill(0.1), [b, 3, 256, 256]);
    const once = async (): Promise<void> => {
      const out = await session.run({ input });
      for (const t of Object.values(out)) t.dispose();
    };
    await once(); // warm-up (kernel selection, shader compilation)
    const times: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end || times.length < 3) {
      const t = performance.now();
      await once();
      times.push(performance.now() - t);
    }
    times.sort((x, y) => x - y);
    const med = times[Math.floor(times.length / 2)];
    perBatch[`batch${b}`] = { imagesPerSecond: Math.round((b / med) * 1000 * 10) / 10, msPerBatch: Math.round(med * 100) / 100, runs: times.length };
  }
  await session.release();
  results[p] = perBatch;
}
await rm(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ bench: 'gpu-throughput', date: new Date().toISOString(), host: os.hostname(), batches, results }, null, 2)}\n`);
