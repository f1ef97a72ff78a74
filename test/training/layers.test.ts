/**
 * The U-GAT-IT building blocks against hand-written references (plain JS arrays or independent tfjs
 * formulations), forward and gradient, on the cpu backend (wasm is covered in layers-conv2d.test.ts and
 * networks.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/training/backend.ts';
import { AdaILN } from '../../src/training/layers/ada-iln.ts';
import { camAttention } from '../../src/training/layers/cam.ts';
import { ILN } from '../../src/training/layers/iln.ts';
import { constantTensor, kaimingUniformA5, unitNormalVector } from '../../src/training/layers/init.ts';
import { ilnMix, instanceNorm } from '../../src/training/layers/instance-norm.ts';
import { linear } from '../../src/training/layers/linear.ts';
import { hwioLayout, hwioVectorLayout } from '../../src/training/layers/param-layout.ts';
import { ParamStore } from '../../src/training/layers/param-store.ts';
import { reflectionPad } from '../../src/training/layers/reflection-pad.ts';
import { createRng } from '../../src/training/layers/rng.ts';
import { SpectralNorm } from '../../src/training/layers/spectral-norm.ts';
import { upsampleNearest2x } from '../../src/training/layers/upsample-nearest.ts';
import { NetworkError } from '../../src/training/training.errors.ts';

const maxAbs = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const rand = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** Reflect index map of PyTorch's ReflectionPad: −i → i, n−1+i → n−1−i. */
function reflectIndex(n: number, p: number): number[] {
  return Array.from({ length: n + 2 * p }, (_, i) => {
    const j = i - p;
    return j < 0 ? -j : j >= n ? 2 * (n - 1) - j : j;
  });
}

/** Per-(b,c) statistics over H·W from plain arrays, NHWC. */
function channelStats(x: tf.Tensor4D, b: number, c: number, unbiased: boolean): { mean: number; variance: number } {
  const [, h, w, ch] = x.shape;
  const d = x.dataSync();
  const vals: number[] = [];
  for (let i = 0; i < h * w; i++) vals.push(d[(b * h * w + i) * ch + c]);
  const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
  const ss = vals.reduce((s, v) => s + (v - mean) ** 2, 0);
  return { mean, variance: ss / (unbiased ? vals.length - 1 : vals.length) };
}

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('createRng', () => {
  it('repeats the same stream for the same seed and differs for another', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(sa);
  });

  it('draws standard normals with mean ≈ 0 and std ≈ 1', () => {
    const sut = createRng(1);
    const xs = Array.from({ length: 20000 }, () => sut.normal());
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(std - 1)).toBeLessThan(0.03);
  });
});

describe('init', () => {
  it('kaimingUniformA5 stays within ±1/√fan_in and fills the range', () => {
    const sut = kaimingUniformA5([16, 8, 3, 3], createRng(3));
    const bound = 1 / Math.sqrt(8 * 9);
    expect(Math.max(...sut.data.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...sut.data)).toBeGreaterThan(bound * 0.9);
    expect(Math.min(...sut.data)).toBeLessThan(-bound * 0.9);
  });

  it('unitNormalVector has unit length', () => {
    const sut = unitNormalVector(37, createRng(4));
    expect(Math.hypot(...sut.data)).toBeCloseTo(1, 6);
  });
});

describe('reflectionPad', () => {
  it('matches PyTorch ReflectionPad2d (index reflection without repeating the edge)', () => {
    const x = rand([2, 5, 6, 3], 1) as tf.Tensor4D;
    const ref = tf.gather(tf.gather(x, reflectIndex(5, 2), 1), reflectIndex(6, 2), 2);
    const sut = reflectionPad(x, 2);
    expect(sut.shape).toEqual([2, 9, 10, 3]);
    expect(maxAbs(sut, ref)).toBe(0);
  });

  it('sends the reflected borders’ gradient back to the pixels they copy (tfjs’ own MirrorPad gradient drops it)', () => {
    const x = rand([2, 7, 5, 2], 2) as tf.Tensor4D;
    for (const p of [1, 3]) {
      const w = rand([2, 7 + 2 * p, 5 + 2 * p, 2], 10 + p);
      const sut = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reflectionPad(t as tf.Tensor4D, p), w)))(x);
      const ref = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(tf.gather(t, reflectIndex(7, p), 1), reflectIndex(5, p), 2), w)))(x);
      expect(maxAbs(sut, ref)).toBeLessThan(1e-5);
    }
  });

  it('counts each source pixel as often as it appears in the padded image', () => {
    const g = tf.grad((t: tf.Tensor) => tf.sum(reflectionPad(t as tf.Tensor4D, 1)))(tf.zeros([1, 4, 3, 1]));
    // rows 4, p 1: padded rows copy [1,0,1,2,3,2] → counts [1,2,2,1]; columns 3: [1,0,1,2,1] → [1,3,1]
    expect(Array.from(g.dataSync())).toEqual([1, 3, 1, 2, 6, 2, 2, 6, 2, 1, 3, 1]);
  });
});

describe('upsampleNearest2x', () => {
  it('replicates every pixel into a 2×2 block', () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const sut = upsampleNearest2x(x);
    expect(Array.from(sut.dataSync())).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });

  it('has the 2×2 block sums of the upstream gradient as its gradient, also for batches > 1 (tfjs cpu’s own kernel gets those wrong)', () => {
    const x = rand([2, 3, 4, 2], 3);
    const w = rand([2, 6, 8, 2], 4);
    const sut = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(upsampleNearest2x(t as tf.Tensor4D), w)))(x);
    const ref = tf.sum(tf.reshape(tf.transpose(tf.reshape(w, [2, 3, 2, 4, 2, 2]), [0, 1, 3, 5, 2, 4]), [2, 3, 4, 2, 4]), 4);
    expect(maxAbs(sut, ref)).toBeLessThan(1e-5);
  });
});

describe('instanceNorm', () => {
  it('normalises each sample and channel with the biased variance and ε = 1e-5', () => {
    const x = tf.add(tf.mul(rand([2, 6, 5, 3], 5), 3), 2) as tf.Tensor4D;
    const sut = instanceNorm(x).dataSync();
    const d = x.dataSync();
    for (const [b, c] of [[0, 0], [1, 2]]) {
      const { mean, variance } = channelStats(x, b, c, false);
      const i = (b * 30 + 7) * 3 + c;
      expect(sut[i]).toBeCloseTo((d[i] - mean) / Math.sqrt(variance + 1e-5), 5);
    }
  });
});

describe('ilnMix', () => {
  it('is the instance norm with UNBIASED variance at ρ = 1', () => {
    const x = tf.add(tf.mul(rand([2, 4, 4, 3], 6), 2), 1) as tf.Tensor4D;
    const sut = ilnMix(x, tf.ones([1, 3, 1, 1])).dataSync();
    const d = x.dataSync();
    const { mean, variance } = channelStats(x, 1, 2, true);
    const i = (1 * 16 + 5) * 3 + 2;
    expect(sut[i]).toBeCloseTo((d[i] - mean) / Math.sqrt(variance + 1e-5), 5);
  });

  it('is the layer norm with UNBIASED variance at ρ = 0 and mixes per channel in between', () => {
    const x = rand([1, 3, 3, 2], 7) as tf.Tensor4D;
    const d = Array.from(x.dataSync());
    const mean = d.reduce((s, v) => s + v, 0) / d.length;
    const variance = d.reduce((s, v) => s + (v - mean) ** 2, 0) / (d.length - 1);
    const ln = ilnMix(x, tf.zeros([1, 2, 1, 1])).dataSync();
    expect(ln[3]).toBeCloseTo((d[3] - mean) / Math.sqrt(variance + 1e-5), 5);
    const rho = tf.tensor4d([0.25, 0.75], [1, 2, 1, 1]);
    const inst = ilnMix(x, tf.ones([1, 2, 1, 1]));
    const mixed = ilnMix(x, rho);
    const ref = tf.add(tf.mul(tf.reshape(rho, [2]), inst), tf.mul(tf.sub(1, tf.reshape(rho, [2])), tf.tensor(ln, x.shape)));
    expect(maxAbs(mixed, ref)).toBeLessThan(1e-6);
  });
});

describe('ILN', () => {
  it('registers rho, gamma, beta as [1,C,1,1] with ρ=0, γ=1, β=0 and applies ilnMix·γ+β', () => {
    const params = new ParamStore('iln-test');
    const sut = new ILN(params, 'UpBlock2.3', 4);
    const sd = params.stateDict();
    expect([...sd.keys()]).toEqual(['UpBlock2.3.rho', 'UpBlock2.3.gamma', 'UpBlock2.3.beta']);
    expect(sd.get('UpBlock2.3.rho')).toEqual(constantTensor([1, 4, 1, 1], 0));
    expect(sd.get('UpBlock2.3.gamma')).toEqual(constantTensor([1, 4, 1, 1], 1));
    sut.gamma.assign(tf.tensor4d([1, 2, 3, 4], [1, 4, 1, 1]));
    sut.beta.assign(tf.tensor4d([0, 1, 0, -1], [1, 4, 1, 1]));
    const x = rand([2, 3, 3, 4], 8) as tf.Tensor4D;
    const ref = tf.add(tf.mul(ilnMix(x, sut.rho), tf.tensor1d([1, 2, 3, 4])), tf.tensor1d([0, 1, 0, -1]));
    expect(maxAbs(sut.apply(x), ref)).toBeLessThan(1e-6);
    params.dispose();
  });
});

describe('AdaILN', () => {
  it('initialises ρ to 0.9 and scales/shifts each sample with its own γ, β', () => {
    const params = new ParamStore('adailn-test');
    const sut = new AdaILN(params, 'UpBlock1_1.norm1', 3);
    expect(Array.from(params.stateDict().get('UpBlock1_1.norm1.rho')!.data)).toEqual([0.9, 0.9, 0.9].map(Math.fround));
    const x = rand([2, 4, 4, 3], 9) as tf.Tensor4D;
    const gamma = tf.tensor2d([1, 2, 3, -1, 0.5, 0], [2, 3]);
    const beta = tf.tensor2d([0, 0, 1, 5, -5, 2], [2, 3]);
    const y = sut.apply(x, gamma, beta);
    const norm = ilnMix(x, sut.rho);
    const ref1 = tf.add(tf.mul(tf.slice(norm, [1, 0, 0, 0], [1, -1, -1, -1]), tf.tensor1d([-1, 0.5, 0])), tf.tensor1d([5, -5, 2]));
    expect(maxAbs(tf.slice(y, [1, 0, 0, 0], [1, -1, -1, -1]), ref1)).toBeLessThan(1e-6);
    params.dispose();
  });
});

describe('linear', () => {
  it('computes x·Wᵀ + b with W in PyTorch [out,in] layout', () => {
    const x = tf.tensor2d([1, 2], [1, 2]);
    const w = tf.tensor2d([1, 0, 2, 3, -1, 1], [3, 2]);
    expect(Array.from(linear(x, w, tf.tensor1d([1, 1, 1])).dataSync())).toEqual([2, 9, 2]);
  });
});

describe('camAttention', () => {
  it('uses the logit weights for the GAP/GMP logits and the scale weights for the channel reweighting', () => {
    const x = rand([2, 3, 3, 2], 11) as tf.Tensor4D;
    const w = {
      gapLogit: tf.tensor2d([[1, 2]]),
      gmpLogit: tf.tensor2d([[-1, 0.5]]),
      gapScale: tf.tensor2d([[3, 0]]),
      gmpScale: tf.tensor2d([[0, -2]]),
      // HWIO [1,1,2C,C]: the official [C,2C,1,1] weight [[1,0,0,1],[0,1,1,0]] transposed
      conv1x1Weight: tf.reshape(tf.transpose(tf.tensor2d([1, 0, 0, 1, 0, 1, 1, 0], [2, 4])), [1, 1, 4, 2]),
      conv1x1Bias: tf.tensor1d([0.1, -0.1]),
    };
    const sut = camAttention(x, w, (t) => tf.relu(t));
    const gap = tf.mean(x, [1, 2]);
    const gmp = tf.max(x, [1, 2]);
    const logits = tf.concat([tf.matMul(gap, w.gapLogit, false, true), tf.matMul(gmp, w.gmpLogit, false, true)], 1);
    expect(maxAbs(sut.camLogit, logits)).toBeLessThan(1e-6);
    // conv1x1 rows: out0 = in0 + in3 (gap ch0 + gmp ch1), out1 = in1 + in2 (gap ch1 + gmp ch0)
    const [c0, c1] = tf.split(x, 2, 3);
    const out0 = tf.relu(tf.add(tf.add(tf.mul(c0, 3), tf.mul(c1, -2)), 0.1));
    const out1 = tf.relu(tf.sub(tf.add(tf.mul(c1, 0), tf.mul(c0, 0)), 0.1));
    expect(maxAbs(sut.features, tf.concat([out0, out1], 3))).toBeLessThan(1e-5);
    expect(maxAbs(sut.heatmap, tf.sum(sut.features, 3, true))).toBe(0);
  });
});

describe('SpectralNorm', () => {
  const build = (matrix: number[][]): { params: ParamStore; sut: SpectralNorm } => {
    const params = new ParamStore('sn-test');
    const shape = [matrix.length, matrix[0].length];
    const sut = new SpectralNorm(params, 'fc', shape, () => ({ shape, data: Float32Array.from(matrix.flat()) }), createRng(5));
    return { params, sut };
  };

  it('registers weight_orig (trainable) and unit-length weight_u, weight_v buffers', () => {
    const { params } = build([[1, 2, 3], [4, 5, 6]]);
    expect([...params.trainableVariables().keys()]).toEqual(['fc.weight_orig']);
    const sd = params.stateDict();
    expect(sd.get('fc.weight_u')!.shape).toEqual([2]);
    expect(sd.get('fc.weight_v')!.shape).toEqual([3]);
    expect(Math.hypot(...sd.get('fc.weight_u')!.data)).toBeCloseTo(1, 5);
    params.dispose();
  });

  it('divides by σ = uᵀWv from the stored u, v in eval mode and leaves them unchanged', () => {
    const { params, sut } = build([[3, 0], [0, 1]]);
    sut.u.assign(tf.tensor1d([1, 0]));
    sut.v.assign(tf.tensor1d([0.6, 0.8]));
    const w = sut.weight(false);
    // σ = [1,0]·[[3,0],[0,1]]·[0.6,0.8] = 1.8
    expect(Array.from(w.dataSync()).map((v) => +v.toFixed(5))).toEqual([+(3 / 1.8).toFixed(5), 0, 0, +(1 / 1.8).toFixed(5)]);
    expect(Array.from(sut.v.dataSync())).toEqual([0.6, 0.8].map(Math.fround));
    params.dispose();
  });

  it('runs one power iteration per training call (v = norm(Wᵀu), then u = norm(Wv)) and converges to the top singular value', () => {
    const { params, sut } = build([[2, 1], [1, 3]]);
    sut.u.assign(tf.tensor1d([1, 0]));
    sut.weight(true).dispose();
    // v = norm([2,1]) ; u = norm(W·v) = norm([5,5]/√5)
    expect(Array.from(sut.v.dataSync()).map((v) => +v.toFixed(5))).toEqual([2 / Math.sqrt(5), 1 / Math.sqrt(5)].map((v) => +v.toFixed(5)));
    expect(Array.from(sut.u.dataSync()).map((v) => +v.toFixed(5))).toEqual([Math.SQRT1_2, Math.SQRT1_2].map((v) => +v.toFixed(5)));
    for (let i = 0; i < 30; i++) sut.weight(true).dispose();
    // top singular value of [[2,1],[1,3]] (symmetric): (5+√5)/2; W/σ then has spectral norm 1
    const w = sut.weight(false);
    expect(Array.from(w.dataSync())[0]).toBeCloseTo(2 / ((5 + Math.sqrt(5)) / 2), 4);
    params.dispose();
  });

  it('differentiates W_orig through σ with u, v held constant', () => {
    const { params, sut } = build([[2, 1], [1, 3]]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(sut.weight(false), tf.tensor2d([[1, 0], [0, 0]]))) as tf.Scalar, [sut.weightOrig]);
    const u = sut.u.dataSync();
    const v = sut.v.dataSync();
    const W = [[2, 1], [1, 3]];
    const sigma = u[0] * (W[0][0] * v[0] + W[0][1] * v[1]) + u[1] * (W[1][0] * v[0] + W[1][1] * v[1]);
    // f = W00/σ → ∂f/∂Wij = δ(ij=00)/σ − W00·u_i·v_j/σ²
    const g = grads[sut.weightOrig.name].dataSync();
    expect(g[0]).toBeCloseTo(1 / sigma - (2 * u[0] * v[0]) / sigma ** 2, 5);
    expect(g[3]).toBeCloseTo(-(2 * u[1] * v[1]) / sigma ** 2, 5);
    params.dispose();
  });
});

describe('ParamStore', () => {
  it('refuses weights with a wrong shape or a missing tensor with a typed error', () => {
    const bad = new Map([['a', { shape: [2], data: new Float32Array(2) }]]);
    const sut = new ParamStore('ps', bad);
    expect(() => sut.add('a', [3], () => constantTensor([3], 0))).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => sut.add('b', [2], () => constantTensor([2], 0))).toThrow(NetworkError);
    sut.dispose();
  });

  it('copies tensors in and out so callers cannot alias its variables', () => {
    const src = { shape: [2], data: Float32Array.from([1, 2]) };
    const sut = new ParamStore('ps2', new Map([['a', src]]));
    sut.add('a', [2], () => constantTensor([2], 0));
    src.data[0] = 99;
    const out = sut.stateDict().get('a')!;
    out.data[1] = 77;
    expect(Array.from(sut.stateDict().get('a')!.data)).toEqual([1, 2]);
    sut.dispose();
  });
});

describe('ParamLayout', () => {
  it('hwioLayout stores an OIHW weight as tf.transpose(w, [2, 3, 1, 0]) and converts back exactly', () => {
    const shape = [3, 2, 4, 5];
    const official = Float32Array.from({ length: 120 }, (_, i) => i * 0.5 - 7);
    const sut = hwioLayout(shape);
    const stored = sut.toStorage(official);
    const expected = tf.transpose(tf.tensor4d(official, shape as [number, number, number, number]), [2, 3, 1, 0]);
    expect(sut.storageShape).toEqual([4, 5, 2, 3]);
    expect(Array.from(stored)).toEqual(Array.from(expected.dataSync()));
    expect(Array.from(sut.toOfficial(stored))).toEqual(Array.from(official));
    const back = sut.tensorToOfficial(tf.tensor4d(stored, [4, 5, 2, 3]));
    expect(back.shape).toEqual(shape);
    expect(Array.from(back.dataSync())).toEqual(Array.from(official));
  });

  it('hwioVectorLayout orders spectral norm v like the rows of the HWIO weight, so σ is unchanged', () => {
    const shape = [3, 2, 4, 4];
    const w = Float32Array.from({ length: 96 }, (_, i) => Math.sin(i));
    const u = Float32Array.from([0.3, -0.5, 0.8]);
    const v = Float32Array.from({ length: 32 }, (_, i) => Math.cos(i));
    // official: σ = uᵀ · W[o, (i,kh,kw)] · v
    const sigma = tf.sum(tf.mul(tf.tensor1d(u), tf.reshape(tf.matMul(tf.tensor2d(w, [3, 32]), tf.tensor2d(v, [32, 1])), [-1]))).dataSync()[0];
    // stored: W as [(kh,kw,i), o], v in (kh,kw,i) order
    const ws = tf.tensor2d(hwioLayout(shape).toStorage(w), [32, 3]);
    const vs = tf.tensor2d(hwioVectorLayout(shape).toStorage(v), [32, 1]);
    const stored = tf.sum(tf.mul(tf.tensor1d(u), tf.reshape(tf.matMul(ws, vs, true, false), [-1]))).dataSync()[0];
    expect(Math.abs(stored - sigma)).toBeLessThan(1e-5 * Math.abs(sigma));
    expect(Array.from(hwioVectorLayout(shape).toOfficial(hwioVectorLayout(shape).toStorage(v)))).toEqual(Array.from(v));
  });
});
