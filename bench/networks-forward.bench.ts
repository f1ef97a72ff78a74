/**
 * Forward time of a U-GAT-IT generator on the tfjs backends present (default: light, ngf 64,
 * 4 blocks, 256², batch 1 — the serving shape). Prints one JSON object on stdout.
 *   npm run bench:networks -- [--backends wasm,cpu] [--size 256] [--ngf 64] [--blocks 4] [--runs 2]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendPreference } from '../src/training/backend.ts';
import { createGenerator } from '../src/training/networks/index.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const backends = arg('backends', 'wasm,cpu').split(',') as BackendPreference[];
const size = Number(arg('size', '256'));
const ngf = Number(arg('ngf', '64'));
const nBlocks = Number(arg('blocks', '4'));
const runs = Number(arg('runs', '2'));

const results: Record<string, unknown> = {};
for (const pref of backends) {
  const { name } = await selectBackend(pref);
  const gen = createGenerator({ light: true, ngf, nBlocks, imgSize: size }, undefined, { seed: 1 });
  const x = tf.randomUniform([1, size, size, 3], -1, 1) as tf.Tensor4D;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const out = gen.apply(x);
    await out.image.data();
    times.push(performance.now() - t0);
    tf.dispose([out.image, out.camLogit, out.heatmap]);
  }
  results[pref] = { backend: name, ms: times.map((t) => Math.round(t)), best_ms: Math.round(Math.min(...times)) };
  x.dispose();
  gen.dispose();
}
console.log(JSON.stringify({ bench: 'generator-forward', light: true, ngf, n_blocks: nBlocks, img_size: size, batch: 1, results }));
