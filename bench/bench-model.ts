/**
 * The generator both inference benchmarks time: light, ngf 64, 4 blocks, 256², random weights (seed 1),
 * exported by our exporter without self-verification (the weights are arbitrary; only speed matters).
 */
import path from 'node:path';
import { exportGenerator } from '../src/training/export/exporter.ts';
import { randomGeneratorState } from '../src/training/export/random-state.ts';

/** Export the benchmark generator into `dir` and return the file's path. */
export async function exportBenchModel(dir: string): Promise<string> {
  const cfg = { variant: 'pytorch' as const, light: true, ngf: 64, n_blocks: 4, img_size: 256 };
  const outPath = path.join(dir, 'light-ngf64-nb4-256.onnx');
  await exportGenerator({
    state: { genA2B: randomGeneratorState(cfg, 1) },
    config: { ...cfg, step: 0 },
    direction: 'a2b',
    outPath,
    version: 'bench-light-256',
    verify: false,
  });
  return outPath;
}
