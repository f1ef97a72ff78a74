/**
 * Statistics of `webtoon eval`, pure and seeded: mean/median, the Kernel Inception Distance and a paired
 * bootstrap interval. Written here rather than taken from a library because each is a few lines and
 * the exact definitions matter (KID must be the unbiased estimator of Bińkowski et al. 2018, as
 * torch-fidelity and clean-fid compute it, so figures compare).
 */
import { seededRandom } from '../shared/seeded-random.ts';

export { seededRandom };

export function mean(xs: readonly number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

export function median(xs: readonly number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Polynomial kernel of KID: k(x, y) = (x·y / d + 1)³. */
function kernel(x: Float32Array, y: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < x.length; i++) dot += x[i] * y[i];
  return (dot / x.length + 1) ** 3;
}

/** Unbiased MMD² between two feature sets with the KID kernel (each set needs ≥ 2 rows). */
export function mmd2Unbiased(x: readonly Float32Array[], y: readonly Float32Array[]): number {
  const n = x.length;
  const m = y.length;
  let kxx = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) kxx += kernel(x[i], x[j]);
  let kyy = 0;
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) kyy += kernel(y[i], y[j]);
  let kxy = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) kxy += kernel(x[i], y[j]);
  return (2 * kxx) / (n * (n - 1)) + (2 * kyy) / (m * (m - 1)) - (2 * kxy) / (n * m);
}

export interface KidResult {
  /** Mean of the unbiased MMD² over the subsets. */
  value: number;
  /** Standard deviation over the subsets (0 with one subset). */
  std: number;
  subsets: number;
  subsetSize: number;
  n: number;
  m: number;
}

/**
 * Kernel Inception Distance between features of generated images `x` and of target-domain images `y`:
 * the unbiased MMD² averaged over `subsets` random subsets of `subsetSize` rows from each side (both
 * default as torch-fidelity: 100 subsets of up to 1000). When a side has fewer rows than the subset
 * size, the subset size shrinks to the smaller side.
 * @throws {RangeError} when either side has fewer than 2 rows or the dimensions differ.
 */
export function kid(x: readonly Float32Array[], y: readonly Float32Array[], opts: { subsets?: number; subsetSize?: number; seed?: number } = {}): KidResult {
  if (x.length < 2 || y.length < 2) throw new RangeError(`KID needs at least 2 feature rows on each side, got ${x.length} and ${y.length}`);
  if (x[0].length !== y[0].length) throw new RangeError(`KID: feature sizes differ (${x[0].length} vs ${y[0].length})`);
  const size = Math.min(opts.subsetSize ?? 1000, x.length, y.length);
  const rand = seededRandom(opts.seed ?? 1);
  // With every row in each subset there is nothing to resample: one exact estimate.
  const subsets = size === x.length && size === y.length ? 1 : (opts.subsets ?? 100);
  const pick = <T>(rows: readonly T[]): T[] => {
    const idx = rows.map((_, i) => i);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return idx.slice(0, size).map((i) => rows[i]);
  };
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) values.push(mmd2Unbiased(pick(x), pick(y)));
  const mu = mean(values)!;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mu) ** 2, 0) / (values.length - 1)) : 0;
  return { value: mu, std, subsets, subsetSize: size, n: x.length, m: y.length };
}

export interface PairedDifference {
  /** mean(a) − mean(b) over the pairs where both are defined. */
  difference: number;
  /** 95 % percentile bootstrap interval of the difference. */
  interval: [number, number];
  pairs: number;
  /** True when the interval excludes 0: the difference is larger than its noise. */
  significant: boolean;
}

/**
 * Paired bootstrap of mean(a) − mean(b): resample the pairs with replacement `resamples` times (seeded)
 * and take the 2.5 % and 97.5 % quantiles. Pairs where either side is null are left out.
 * Returns null with fewer than 2 complete pairs.
 */
export function pairedBootstrap(a: readonly (number | null)[], b: readonly (number | null)[], opts: { resamples?: number; seed?: number } = {}): PairedDifference | null {
  const d: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x !== null && y !== null) d.push(x - y);
  }
  if (d.length < 2) return null;
  const rand = seededRandom(opts.seed ?? 1);
  const resamples = opts.resamples ?? 2000;
  const means: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[Math.floor(rand() * d.length)];
    means.push(s / d.length);
  }
  means.sort((p, q) => p - q);
  const interval: [number, number] = [quantile(means, 0.025), quantile(means, 0.975)];
  return { difference: mean(d)!, interval, pairs: d.length, significant: interval[0] > 0 || interval[1] < 0 };
}
