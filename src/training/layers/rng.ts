/**
 * A small seedable random number generator for reproducible initialisation (`--seed`). It is not
 * PyTorch's generator: a seeded init is reproducible within this project, not bit-equal to torch.
 */

/** Uniform and normal draws from one seeded stream. */
export interface Rng {
  /** A float in [0, 1). */
  uniform(): number;
  /** A standard normal draw (Box–Muller). */
  normal(): number;
}

/**
 * Create a generator from a 32-bit seed (sfc32 seeded by splitmix32). Without a seed, one is drawn
 * from `Math.random`, so unseeded networks still differ from run to run.
 */
export function createRng(seed?: number): Rng {
  let s = (seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  let spare: number | undefined;
  return {
    uniform: () => next() / 2 ** 32,
    normal: () => {
      if (spare !== undefined) {
        const r = spare;
        spare = undefined;
        return r;
      }
      let u = 0;
      while (u === 0) u = next() / 2 ** 32; // log(0) is -inf
      const v = next() / 2 ** 32;
      const mag = Math.sqrt(-2 * Math.log(u));
      spare = mag * Math.sin(2 * Math.PI * v);
      return mag * Math.cos(2 * Math.PI * v);
    },
  };
}
