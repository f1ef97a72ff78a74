/**
 * Which image of a domain each training step sees. Unweighted: the official behaviour, a fresh
 * shuffled pass over the domain per epoch. Weighted (`--sampling-weights`): independent draws with
 * probability proportional to each image's weight (Walker/Vose alias method, O(1) per draw).
 * Every draw is a pure function of (seed, domain, draw number), so resume and prefetch are exact.
 */
import { readFile } from 'node:fs/promises';
import { RNG_PURPOSE, Rng } from './rng.ts';
import { domainFingerprint, type Dataset } from './dataset.ts';
import { TrainingError } from '../training.errors.ts';

/** Walker's alias table over non-negative weights. */
export class AliasTable {
  readonly n: number;
  private readonly prob: Float64Array;
  private readonly alias: Uint32Array;

  /** @throws {RangeError} when no weight is positive or one is negative / not finite. */
  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i];
      if (!Number.isFinite(w) || w < 0) throw new RangeError(`weight ${i} is ${w}; weights must be finite and >= 0`);
      sum += w;
    }
    if (!(sum > 0)) throw new RangeError('at least one weight must be positive');
    this.n = n;
    this.prob = new Float64Array(n);
    this.alias = new Uint32Array(n);
    const scaled = new Float64Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i] * n) / sum;
      (scaled[i] < 1 ? small : large).push(i);
    }
    while (small.length && large.length) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.prob[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      (scaled[l] < 1 ? small : large).push(l);
    }
    for (const i of large) this.prob[i] = 1;
    for (const i of small) this.prob[i] = 1; // only rounding leftovers end here
  }

  /** Draw one index from two uniforms in [0, 1). */
  draw(u1: number, u2: number): number {
    const i = Math.min(this.n - 1, Math.floor(u1 * this.n));
    return u2 < this.prob[i] ? i : this.alias[i];
  }
}

/** Picks the image index for each draw of one domain. */
export class DomainSampler {
  private readonly table?: AliasTable;
  private cachedEpoch = -1;
  private cachedPerm: Uint32Array = new Uint32Array(0);

  /**
   * @param n - number of images in the domain (> 0)
   * @param seed - the run's seed
   * @param domainId - 0 for A, 1 for B (keeps the two domains' streams apart)
   * @param weights - optional per-image weights (length n); absent = shuffled epochs
   */
  constructor(
    readonly n: number,
    private readonly seed: number,
    private readonly domainId: number,
    weights?: ArrayLike<number>,
  ) {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`n must be a positive integer, got ${n}`);
    if (weights) {
      if (weights.length !== n) throw new RangeError(`expected ${n} weights, got ${weights.length}`);
      this.table = new AliasTable(weights);
    }
  }

  /** True when drawing by weights. */
  get weighted(): boolean {
    return this.table !== undefined;
  }

  /**
   * The image index of draw number `draw` (= step·batch + slot, 0-based). `attempt` > 0 asks for a
   * replacement draw after the first pick turned out unreadable.
   */
  indexAt(draw: number, attempt = 0): number {
    if (attempt > 0) {
      const r = Rng.of(this.seed, RNG_PURPOSE.redraw, this.domainId, draw, attempt);
      return this.table ? this.table.draw(r.next(), r.next()) : r.int(this.n);
    }
    if (this.table) {
      const r = Rng.of(this.seed, RNG_PURPOSE.weightedDraw, this.domainId, draw);
      return this.table.draw(r.next(), r.next());
    }
    const epoch = Math.floor(draw / this.n);
    if (epoch !== this.cachedEpoch) {
      this.cachedPerm = Rng.of(this.seed, RNG_PURPOSE.epochOrder, this.domainId, epoch).permutation(this.n);
      this.cachedEpoch = epoch;
    }
    return this.cachedPerm[draw % this.n];
  }
}

/** A parsed `--sampling-weights` file, matched against one domain's images. */
export interface SamplingWeights {
  domain: 'A' | 'B';
  /** One weight per image of `trainA`/`trainB`, in the dataset's sorted order. */
  weights: Float64Array;
  /** Images that got an explicit weight from the file. */
  matched: number;
  /** Paths in the file that are not training images of that domain (warned about, ignored). */
  unknownPaths: string[];
  /** The weight given to images the file does not list. */
  defaultWeight: number;
}

function normaliseRel(p: string): string {
  return p.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

/**
 * Read and validate a sampling-weights file:
 * `{ "domain": "A"|"B", "weights": { "<path relative to the dataset dir>": w ≥ 0, ... }, "default": 1 }`,
 * optionally `"dataset": { "fingerprint": ... }` (written by `webtoon rebalance`): then the split must be
 * the one the file was made for.
 * @throws {TrainingError} SAMPLING_WEIGHTS_INVALID for unreadable JSON, a bad domain, a negative or
 *   non-numeric weight, a file made for another dataset (fingerprint), or when every image of the
 *   domain ends up with weight 0.
 */
export async function loadSamplingWeights(file: string, ds: Dataset): Promise<SamplingWeights> {
  const fail = (message: string, details: Record<string, unknown> = {}): never => {
    throw new TrainingError('SAMPLING_WEIGHTS_INVALID', `sampling weights ${file}: ${message}`, { file, ...details });
  };
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    return fail(`cannot read it as JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('expected a JSON object');
  const obj = raw as Record<string, unknown>;
  if (obj.domain !== 'A' && obj.domain !== 'B') {
    return fail(`"domain" must be "A" or "B", got ${JSON.stringify(obj.domain)}`);
  }
  const domain = obj.domain;
  const defaultWeight = obj.default === undefined ? 1 : obj.default;
  if (typeof defaultWeight !== 'number' || !Number.isFinite(defaultWeight) || defaultWeight < 0) {
    return fail(`"default" must be a number >= 0, got ${JSON.stringify(obj.default)}`);
  }
  if (typeof obj.weights !== 'object' || obj.weights === null || Array.isArray(obj.weights)) {
    return fail('"weights" must be an object mapping image paths to numbers');
  }
  const split = domain === 'A' ? 'trainA' : 'trainB';
  if (obj.dataset !== undefined) {
    const stamp = obj.dataset as { fingerprint?: unknown; images?: unknown };
    if (typeof stamp !== 'object' || stamp === null || typeof stamp.fingerprint !== 'string') return fail('"dataset.fingerprint" must be a string');
    const now = await domainFingerprint(ds, split);
    if (stamp.fingerprint !== now) {
      return fail(
        `made for another dataset: its ${split} fingerprint is ${stamp.fingerprint.slice(0, 12)} (${String(stamp.images)} images), ${ds.root}/${split} is ${now.slice(0, 12)} (${ds.files[split].length} images); run webtoon rebalance again`,
        { expected: stamp.fingerprint, actual: now },
      );
    }
  }
  const files = ds.files[split];
  const indexOf = new Map(files.map((f, i) => [f, i]));
  const weights = new Float64Array(files.length).fill(defaultWeight);
  const unknownPaths: string[] = [];
  let matched = 0;
  for (const [key, w] of Object.entries(obj.weights as Record<string, unknown>)) {
    if (typeof w !== 'number' || !Number.isFinite(w)) return fail(`weight of "${key}" must be a number, got ${JSON.stringify(w)}`, { path: key });
    if (w < 0) return fail(`weight of "${key}" is negative (${w}); weights must be >= 0`, { path: key, weight: w });
    const i = indexOf.get(normaliseRel(key));
    if (i === undefined) {
      unknownPaths.push(key);
      continue;
    }
    weights[i] = w;
    matched++;
  }
  if (!weights.some((w) => w > 0)) {
    return fail(`every image of domain ${domain} has weight 0; nothing could be drawn`, { domain });
  }
  return { domain, weights, matched, unknownPaths, defaultWeight };
}
