/**
 * Seeded random tensors: the verification batch and random generator weights (tiny test models for the
 * inference code, graph tests before real checkpoints exist). Deterministic for a given seed.
 */
import { numel, type StateDict } from '../tensors.ts';
import { expectedGeneratorShapes, type GeneratorGraphConfig } from './generator-graph.ts';
import { seededRandom } from '../../shared/seeded-random.ts';

export { seededRandom };

/** `n` values uniform in [lo, hi). */
export function uniformArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rnd = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rnd();
  return out;
}

/**
 * Random weights for a PyTorch-variant generator, scaled like PyTorch's default init (uniform ±1/√fan_in)
 * so activations stay in a sane range; ρ in [0,1], ILN γ around 1 and β around 0.
 */
export function randomGeneratorState(cfg: GeneratorGraphConfig, seed = 1): StateDict {
  const state: StateDict = new Map();
  let s = seed;
  for (const [name, shape] of expectedGeneratorShapes(cfg)) {
    const n = numel(shape);
    let data: Float32Array;
    if (name.endsWith('.rho')) data = uniformArray(n, ++s, 0, 1);
    else if (name.endsWith('.gamma')) data = uniformArray(n, ++s, 0.8, 1.2);
    else if (name.endsWith('.beta') || name.endsWith('.bias')) data = uniformArray(n, ++s, -0.1, 0.1);
    else {
      const fanIn = n / shape[0];
      const bound = 1 / Math.sqrt(fanIn);
      data = uniformArray(n, ++s, -bound, bound);
    }
    state.set(name, { shape: [...shape], data });
  }
  return state;
}
