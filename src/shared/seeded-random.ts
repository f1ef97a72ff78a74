/**
 * mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). Used where a run must be
 * reproducible from a seed (random test weights, eval bootstrap); the trainer's own RNG
 * (training/data/rng.ts) keeps its state in a class so it can be checkpointed.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
