/**
 * The staged normalisation statistics (src/training/layers/norm-stats.ts) and the norm layers built on them,
 * on the wasm backend, whose reductions sum naively in float32: on a large tensor with a large mean offset
 * (where single-pass `tf.moments` loses ~5e-4 of the layer variance) they must match a float64 reference
 * computed in JS to 1e-5 relative; gradients must equal those of the single-pass formulation.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/training/backend.ts';
import { ilnMix, instanceNorm, NORM_EPS } from '../../src/training/layers/instance-norm.ts';
import { blockedMean, instanceStats, layerStats } from '../../src/training/layers/norm-stats.ts';
import { seededRandom } from '../../src/training/export/random-state.ts';

type Shape4 = [number, number, number, number];

/** NHWC values around `offset`, channel c centred at offset + 0.5·sin(c) with spread 1 + c/C. */
function offsetData(shape: Shape4, offset: number, seed: number): Float32Array {
  const [b, h, w, c] = shape;
  const rnd = seededRandom(seed);
  const out = new Float32Array(b * h * w * c);
  for (let i = 0; i < out.length; i++) {
    const ch = i % c;
    out[i] = offset + 0.5 * Math.sin(ch) + (1 + ch / c) * (2 * rnd() - 1);
  }
  return out;
}

/** float64 statistics of float32 NHWC data: biased instance [B·C] and layer [B] means and variances. */
function referenceStats(d: Float32Array, [b, h, w, c]: Shape4) {
  const hw = h * w;
  const instMean = new Float64Array(b * c);
  const instVar = new Float64Array(b * c);
  const layerMean = new Float64Array(b);
  const layerVar = new Float64Array(b);
  for (let s = 0; s < b; s++) {
    const base = s * hw * c;
    for (let i = 0; i < hw; i++) for (let ch = 0; ch < c; ch++) instMean[s * c + ch] += d[base + i * c + ch];
    let total = 0;
    for (let ch = 0; ch < c; ch++) {
      total += instMean[s * c + ch];
      instMean[s * c + ch] /= hw;
    }
    layerMean[s] = total / (hw * c);
    let ssL = 0;
    for (let i = 0; i < hw; i++) {
      for (let ch = 0; ch < c; ch++) {
        const v = d[base + i * c + ch];
        instVar[s * c + ch] += (v - instMean[s * c + ch]) ** 2;
        ssL += (v - layerMean[s]) ** 2;
      }
    }
    for (let ch = 0; ch < c; ch++) instVar[s * c + ch] /= hw;
    layerVar[s] = ssL / (hw * c);
  }
  return { instMean, instVar, layerMean, layerVar };
}

/** Largest |a − r|/|r| over all elements. */
function maxRel(a: ArrayLike<number>, r: ArrayLike<number>): number {
  expect(a.length).toBe(r.length);
  let m = 0;
  for (let i = 0; i < r.length; i++) m = Math.max(m, Math.abs(a[i] - r[i]) / Math.abs(r[i]));
  return m;
}

/** What the layers computed before the staged statistics: one `tf.moments` per statistic. */
function singlePassIlnMix(x: tf.Tensor4D, rho: tf.Tensor): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  const nI = h * w;
  const nL = h * w * c;
  const inst = tf.moments(x, [1, 2], true);
  const layer = tf.moments(x, [1, 2, 3], true);
  const xI = tf.div(tf.sub(x, inst.mean), tf.sqrt(tf.add(tf.mul(inst.variance, nI / (nI - 1)), NORM_EPS)));
  const xL = tf.div(tf.sub(x, layer.mean), tf.sqrt(tf.add(tf.mul(layer.variance, nL / (nL - 1)), NORM_EPS)));
  const r = tf.reshape(rho, [c]);
  return tf.add(tf.mul(r, xI), tf.mul(tf.sub(1, r), xL)) as tf.Tensor4D;
}

const LARGE: Shape4 = [1, 64, 64, 256];
const LARGE_SPATIAL: Shape4 = [2, 256, 256, 4];
let large: { data: Float32Array; x: tf.Tensor4D };
let largeSpatial: { data: Float32Array; x: tf.Tensor4D };

beforeAll(async () => {
  const choice = await selectBackend('wasm');
  expect(choice.name).toBe('wasm');
  const d1 = offsetData(LARGE, 50, 11);
  const d2 = offsetData(LARGE_SPATIAL, 50, 12);
  large = { data: d1, x: tf.tensor4d(d1, LARGE) };
  largeSpatial = { data: d2, x: tf.tensor4d(d2, LARGE_SPATIAL) };
});

afterAll(() => {
  tf.dispose([large.x, largeSpatial.x]);
});

describe('layerStats', () => {
  it('matches float64 mean and variance over C·H·W within 1e-5 relative on [1,64,64,256] at +50', () => {
    const ref = referenceStats(large.data, LARGE);
    const [mean, variance] = tf.tidy(() => {
      const sut = layerStats(large.x);
      return [sut.mean.dataSync().slice(), sut.variance.dataSync().slice()];
    });
    expect(maxRel(mean, ref.layerMean)).toBeLessThan(1e-5);
    expect(maxRel(variance, ref.layerVar)).toBeLessThan(1e-5);
  });

  it('gives the same statistics per sample with H·W = 65,536 (the 256² shape) and when reusing instance means', () => {
    const ref = referenceStats(largeSpatial.data, LARGE_SPATIAL);
    const [mean, variance] = tf.tidy(() => {
      const sut = layerStats(largeSpatial.x, instanceStats(largeSpatial.x));
      expect(sut.mean.shape).toEqual([2, 1, 1, 1]);
      return [sut.mean.dataSync().slice(), sut.variance.dataSync().slice()];
    });
    expect(maxRel(mean, ref.layerMean)).toBeLessThan(1e-5);
    expect(maxRel(variance, ref.layerVar)).toBeLessThan(1e-5);
  });
});

describe('instanceStats', () => {
  it.each([
    ['[1,64,64,256]', () => large, LARGE],
    ['[2,256,256,4]', () => largeSpatial, LARGE_SPATIAL],
  ] as const)('matches float64 per-sample, per-channel mean and biased variance within 1e-5 relative on %s at +50', (_, get, shape) => {
    const { data, x } = get();
    const ref = referenceStats(data, shape);
    const [mean, variance, centered] = tf.tidy(() => {
      const sut = instanceStats(x);
      expect(sut.mean.shape).toEqual([shape[0], 1, 1, shape[3]]);
      return [sut.mean.dataSync().slice(), sut.variance.dataSync().slice(), sut.centered.dataSync().slice(0, shape[3])];
    });
    expect(maxRel(mean, ref.instMean)).toBeLessThan(1e-5);
    expect(maxRel(variance, ref.instVar)).toBeLessThan(1e-5);
    for (let ch = 0; ch < shape[3]; ch++) expect(centered[ch]).toBeCloseTo(data[ch] - ref.instMean[ch], 4);
  });
});

describe('blockedMean', () => {
  it.each([
    ['a long axis split into blocks', 1200],
    ['an axis whose blocks are split again', 256 * 256 * 2],
    ['a prime length (one plain mean)', 1031],
    ['a short axis', 7],
  ])('equals the float64 mean for %s', (_, n) => {
    const data = Float32Array.from(offsetData([1, 1, n, 1], 50, n));
    const ref = data.reduce((s, v) => s + v, 0) / n;
    const sut = tf.tidy(() => blockedMean(tf.tensor3d(data, [1, n, 1]), 1));
    expect(sut.shape).toEqual([1, 1, 1]);
    expect(Math.abs(sut.dataSync()[0] - ref) / ref).toBeLessThan(1e-5);
    sut.dispose();
  });
});

describe('norm layers on a large tensor', () => {
  it('instanceNorm matches the float64 (x − μ)/√(σ² + ε) with the biased variance within 2e-5 absolute', () => {
    const [b, h, w, c] = LARGE_SPATIAL;
    const ref = referenceStats(largeSpatial.data, LARGE_SPATIAL);
    const sut = tf.tidy(() => instanceNorm(largeSpatial.x).dataSync().slice());
    let worst = 0;
    for (let i = 0; i < sut.length; i++) {
      const k = Math.floor(i / (h * w * c)) * c + (i % c);
      const want = (largeSpatial.data[i] - ref.instMean[k]) / Math.sqrt(ref.instVar[k] + NORM_EPS);
      worst = Math.max(worst, Math.abs(sut[i] - want));
    }
    expect(b * h * w * c).toBe(sut.length);
    expect(worst).toBeLessThan(2e-5);
  });

  it('ilnMix matches the float64 ρ·x̂_I + (1−ρ)·x̂_L with unbiased variances within 2e-5 absolute', () => {
    const [, h, w, c] = LARGE;
    const nI = h * w;
    const nL = nI * c;
    const rho = Float32Array.from({ length: c }, (_, ch) => ch / (c - 1));
    const ref = referenceStats(large.data, LARGE);
    const sut = tf.tidy(() => ilnMix(large.x, tf.tensor4d(rho, [1, c, 1, 1])).dataSync().slice());
    const sL = Math.sqrt((ref.layerVar[0] * nL) / (nL - 1) + NORM_EPS);
    let worst = 0;
    for (let i = 0; i < sut.length; i++) {
      const ch = i % c;
      const v = large.data[i];
      const xI = (v - ref.instMean[ch]) / Math.sqrt((ref.instVar[ch] * nI) / (nI - 1) + NORM_EPS);
      const xL = (v - ref.layerMean[0]) / sL;
      worst = Math.max(worst, Math.abs(sut[i] - (rho[ch] * xI + (1 - rho[ch]) * xL)));
    }
    expect(worst).toBeLessThan(2e-5);
  });

  it('ilnMix has the gradients (input and ρ) of the single-pass tf.moments formulation', () => {
    const x = tf.tensor4d(offsetData([2, 6, 5, 3], 0.5, 21), [2, 6, 5, 3]);
    const rho = tf.tensor4d([0.1, 0.6, 0.9], [1, 3, 1, 1]);
    const weights = tf.randomNormal([2, 6, 5, 3], 0, 1, 'float32', 22);
    const loss = (f: typeof ilnMix) => (a: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, r), weights));
    const [sutDx, sutDrho] = tf.grads(loss(ilnMix))([x, rho]);
    const [refDx, refDrho] = tf.grads(loss(singlePassIlnMix))([x, rho]);
    const maxAbs = (a: tf.Tensor, r: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, r))).dataSync()[0]);
    expect(tf.tidy(() => tf.max(tf.abs(refDx)).dataSync()[0])).toBeGreaterThan(0.1);
    expect(maxAbs(sutDx, refDx)).toBeLessThan(1e-4);
    expect(maxAbs(sutDrho, refDrho)).toBeLessThan(1e-4);
    tf.dispose([x, rho, weights, sutDx, sutDrho, refDx, refDrho]);
  });

  it('instanceNorm has the input gradient of the single-pass tf.moments formulation', () => {
    const x = tf.tensor4d(offsetData([2, 6, 5, 3], 0.5, 23), [2, 6, 5, 3]);
    const weights = tf.randomNormal([2, 6, 5, 3], 0, 1, 'float32', 24);
    const sut = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(instanceNorm(a as tf.Tensor4D), weights)))(x);
    const ref = tf.grad((a: tf.Tensor) => {
      const m = tf.moments(a, [1, 2], true);
      return tf.sum(tf.mul(tf.div(tf.sub(a, m.mean), tf.sqrt(tf.add(m.variance, NORM_EPS))), weights));
    })(x);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(sut, ref))).dataSync()[0])).toBeLessThan(1e-4);
    tf.dispose([x, weights, sut, ref]);
  });

  it('leaves no tensors behind', () => {
    const rho = tf.fill([1, LARGE[3], 1, 1], 0.5);
    const before = tf.memory().numTensors;
    tf.dispose(instanceNorm(largeSpatial.x));
    tf.dispose(ilnMix(large.x, rho));
    tf.dispose(Object.values(layerStats(large.x)));
    expect(tf.memory().numTensors).toBe(before);
    rho.dispose();
  });
});
