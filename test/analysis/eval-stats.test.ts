import { describe, expect, it } from 'vitest';
import { kid, mean, median, mmd2Unbiased, pairedBootstrap, seededRandom } from '../../src/analysis/eval-stats.ts';

function gaussianRows(n: number, d: number, shift: number, seed: number): Float32Array[] {
  const rand = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => normal() + shift));
}

describe('mean and median', () => {
  it('handle odd, even and empty lists', () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(mean([])).toBeNull();
    expect(median([])).toBeNull();
  });
});

describe('mmd2Unbiased', () => {
  it('matches a hand computation with the cubic polynomial kernel', () => {
    // d = 1: k(x, y) = (x·y + 1)³
    const x = [Float32Array.of(0), Float32Array.of(1)];
    const y = [Float32Array.of(1), Float32Array.of(2)];
    const kxx = (0 * 1 + 1) ** 3; // 1
    const kyy = (1 * 2 + 1) ** 3; // 27
    const kxy = ((0 + 1) ** 3 + (0 + 1) ** 3 + (1 + 1) ** 3 + (2 + 1) ** 3) / 4; // 37/4
    expect(mmd2Unbiased(x, y)).toBeCloseTo(kxx + kyy - 2 * kxy, 10);
  });
});

describe('kid', () => {
  it('is near 0 for two samples of one distribution and clearly positive for shifted ones', () => {
    const a = gaussianRows(60, 8, 0, 1);
    const b = gaussianRows(60, 8, 0, 2);
    const c = gaussianRows(60, 8, 1, 3);
    const same = kid(a, b, { subsets: 20, subsetSize: 40 });
    const shifted = kid(a, c, { subsets: 20, subsetSize: 40 });
    expect(Math.abs(same.value)).toBeLessThan(3 * same.std + 0.05);
    expect(shifted.value).toBeGreaterThan(10 * Math.abs(same.value));
    expect(shifted).toMatchObject({ subsets: 20, subsetSize: 40, n: 60, m: 60 });
  });

  it('uses one exact estimate when every row fits in a subset, and refuses fewer than 2 rows', () => {
    const r = kid(gaussianRows(5, 4, 0, 1), gaussianRows(5, 4, 0, 2));
    expect(r).toMatchObject({ subsets: 1, subsetSize: 5, std: 0 });
    expect(() => kid([Float32Array.of(1)], gaussianRows(3, 1, 0, 1))).toThrow(/at least 2/);
  });
});

describe('pairedBootstrap', () => {
  it('calls a consistent paired difference significant, and a zero-mean one not', () => {
    const rand = seededRandom(9);
    const base = Array.from({ length: 30 }, () => rand());
    const better = base.map((x) => x + 0.05 + (rand() - 0.5) * 0.01);
    const noisy = base.map((x) => x + (rand() - 0.5) * 0.1);
    const sig = pairedBootstrap(better, base)!;
    expect(sig.significant).toBe(true);
    expect(sig.interval[0]).toBeGreaterThan(0.04);
    expect(sig.difference).toBeCloseTo(0.05, 2);
    expect(pairedBootstrap(noisy, base)!.significant).toBe(false);
  });

  it('leaves out incomplete pairs and needs two complete ones', () => {
    expect(pairedBootstrap([1, null, 3], [0, 1, 1])!.pairs).toBe(2);
    expect(pairedBootstrap([1, null], [0, 1])).toBeNull();
  });
});
