/**
 * The conv wrapper's hand-written gradients (needed on wasm, which has no Conv2DBackpropFilter and a slow
 * Conv2DBackpropInput) against the cpu backend's built-in conv gradients, for stride 1 and 2 and sizes
 * that leave rows unused; the input gradient's phase-split conv also on its own, directly.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { backendNeedsCustomConvGrad, conv2dHwio, conv2dTorch, selectBackend } from '../../src/training/backend.ts';
import { convInputGrad, im2colTransposed, inputGradFilter } from '../../src/training/layers/conv2d.ts';

const CASES = [
  { name: '3×3 stride 1', x: [2, 9, 7, 3], w: [3, 3, 3, 4], stride: 1 },
  { name: '3×3 stride 2, odd size (last row unused)', x: [2, 10, 11, 3], w: [3, 3, 3, 5], stride: 2 },
  { name: '4×4 stride 2 (discriminator)', x: [1, 12, 12, 2], w: [4, 4, 2, 3], stride: 2 },
  { name: '7×7 stride 1', x: [1, 13, 12, 3], w: [7, 7, 3, 2], stride: 1 },
  { name: '1×1', x: [2, 5, 5, 4], w: [1, 1, 4, 2], stride: 1 },
  // ≥ 64 upstream pixels, so the wrapper's dx takes the XNNPACK-conv path on wasm (not the small-map fallback)
  { name: '3×3 stride 2, odd size, large map', x: [1, 21, 19, 3], w: [3, 3, 3, 4], stride: 2 },
  { name: '4×4 stride 2, large map', x: [2, 18, 18, 2], w: [4, 4, 2, 3], stride: 2 },
  // > 2304 upstream pixels: the stride-1 weight gradient takes the dilated-conv path instead of im2col
  { name: '3×3 stride 1, large map', x: [1, 52, 50, 2], w: [3, 3, 2, 3], stride: 1 },
] as const;

/** Input-gradient cases for {@link convInputGrad} alone, including kernels smaller than the stride. */
const DX_CASES = [
  ...CASES,
  { name: '1×1 stride 2, odd size', x: [1, 7, 6, 3], w: [1, 1, 3, 2], stride: 2 },
  { name: '2×2 stride 2', x: [1, 8, 9, 2], w: [2, 2, 2, 3], stride: 2 },
  { name: '5×3 stride 2', x: [1, 11, 10, 2], w: [5, 3, 2, 3], stride: 2 },
] as const;

interface Grads {
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
}

function run(c: (typeof CASES)[number], customGrad: boolean | undefined): Grads {
  return tf.tidy(() => {
    const x = tf.randomNormal([...c.x], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([...c.w], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y0 = conv2dHwio(x, w, c.stride, { customGrad });
    const up = tf.randomNormal(y0.shape, 0, 1, 'float32', 3);
    const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.sum(tf.mul(conv2dHwio(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, { customGrad }), up));
    const [dx, dw] = tf.grads(f)([x, w]);
    return { y: y0.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  }) as unknown as Grads;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('conv2dHwio', () => {
  describe.each(CASES)('$name', (c) => {
    it('gives the built-in gradients on cpu when the custom gradient is forced', async () => {
      await selectBackend('cpu');
      const ref = run(c, false);
      const sut = run(c, true);
      // dW sums b·oh·ow products: float32 rounding grows with the map, so compare relative to its size
      const scale = Math.max(1, ...Array.from(ref.dw).map(Math.abs));
      expect(maxDiff(sut.y, ref.y)).toBe(0);
      expect(maxDiff(sut.dx, ref.dx)).toBeLessThan(1e-4);
      expect(maxDiff(sut.dw, ref.dw) / scale).toBeLessThan(1e-5);
    });

    it('on wasm (automatic custom gradient) matches the cpu backend’s built-in gradients', async () => {
      await selectBackend('cpu');
      const ref = run(c, false);
      await selectBackend('wasm');
      expect(backendNeedsCustomConvGrad()).toBe(true);
      const sut = run(c, undefined);
      const scale = Math.max(1, ...Array.from(ref.dw).map(Math.abs));
      expect(maxDiff(sut.y, ref.y)).toBeLessThan(1e-4);
      expect(maxDiff(sut.dx, ref.dx)).toBeLessThan(1e-4);
      expect(maxDiff(sut.dw, ref.dw) / scale).toBeLessThan(1e-5);
    });
  });

  it('computes only the gradients the tape asks for (no input gradient for a weight-only derivative, and vice versa)', async () => {
    await selectBackend('wasm');
    const x = tf.randomNormal([1, 20, 20, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const w = tf.randomNormal([4, 4, 3, 5], 0, 1, 'float32', 5) as tf.Tensor4D;
    // stride 2, 9×9 upstream map: dx is a conv plus a phase-interleaving Transpose; dW a dilated conv with Transposes
    const kernelsOf = async (f: () => tf.Tensor): Promise<string[]> => (await tf.profile(() => tf.dispose(f()))).kernels.map((k) => k.name);
    const wrtW = await kernelsOf(() => tf.grad((t: tf.Tensor) => tf.sum(conv2dHwio(x, t as tf.Tensor4D, 2)))(w));
    const wrtX = await kernelsOf(() => tf.grad((t: tf.Tensor) => tf.sum(conv2dHwio(t as tf.Tensor4D, w, 2)))(x));
    expect(wrtW.filter((k) => k === 'Conv2D')).toHaveLength(1); // the weight gradient (the forward is WebtoonConv2DValid)
    expect(wrtX.filter((k) => k === 'Conv2D')).toHaveLength(1); // the input gradient
    tf.dispose([x, w]);
  });

  it('is not needed on cpu, which has its own Conv2DBackpropFilter', async () => {
    await selectBackend('cpu');
    expect(backendNeedsCustomConvGrad()).toBe(false);
  });
});

describe('convInputGrad', () => {
  describe.each(DX_CASES)('$name', (c) => {
    function inputs(): { dy: tf.Tensor4D; w: tf.Tensor4D } {
      const w = tf.randomNormal([...c.w], 0, 1, 'float32', 2) as tf.Tensor4D;
      const oh = Math.floor((c.x[1] - c.w[0]) / c.stride) + 1;
      const ow = Math.floor((c.x[2] - c.w[1]) / c.stride) + 1;
      const dy = tf.randomNormal([c.x[0], oh, ow, c.w[3]], 0, 1, 'float32', 3) as tf.Tensor4D;
      return { dy, w };
    }

    it.each(['cpu', 'wasm'] as const)('equals the cpu backend’s Conv2DBackpropInput on %s', async (backend) => {
      await selectBackend('cpu');
      const ref = tf.tidy(() => {
        const { dy, w } = inputs();
        return tf.conv2dTranspose(dy, w, [...c.x] as [number, number, number, number], c.stride, 'valid').dataSync() as Float32Array;
      });
      await selectBackend(backend);
      const before = tf.memory().numTensors;
      const sut = tf.tidy(() => {
        const { dy, w } = inputs();
        const dx = convInputGrad(dy, w, c.x, c.stride);
        expect(dx.shape).toEqual([...c.x]);
        return dx.dataSync() as Float32Array;
      });
      expect(tf.memory().numTensors).toBe(before);
      expect(maxDiff(sut, ref)).toBeLessThan(1e-5);
    });
  });
});

describe('im2colTransposed', () => {
  it('holds the k² shifted windows of x, channel by channel, one column per output pixel', async () => {
    await selectBackend('wasm');
    const [b, h, w, ci, kh, kw] = [2, 6, 5, 3, 3, 2];
    const [oh, ow] = [h - kh + 1, w - kw + 1];
    const x = tf.randomNormal([b, h, w, ci], 0, 1, 'float32', 6) as tf.Tensor4D;
    const sut = im2colTransposed(x, oh, ow, kh, kw);
    const ref = tf.tidy(() => {
      const taps: tf.Tensor[] = [];
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push(tf.slice(x, [0, i, j, 0], [b, oh, ow, ci]));
      return tf.transpose(tf.reshape(tf.concat(taps, 3), [b * oh * ow, kh * kw * ci]));
    });
    expect(sut.shape).toEqual([kh * kw * ci, b * oh * ow]);
    expect(maxDiff(sut.dataSync() as Float32Array, ref.dataSync() as Float32Array)).toBe(0);
    tf.dispose([x, sut, ref]);
  });
});

describe('inputGradFilter', () => {
  it('reverses the taps per phase, swaps in/out channels and zero-fills taps past the kernel', async () => {
    await selectBackend('wasm');
    const [kh, kw, ci, co, s] = [3, 3, 2, 2, 2];
    // w[i,j,c,o] = 1000·i + 100·j + 10·c + o + 1 (never 0, so a zero entry is a zero-filled tap)
    const w = Array.from({ length: kh }, (_, i) =>
      Array.from({ length: kw }, (_, j) => Array.from({ length: ci }, (_, c) => Array.from({ length: co }, (_, o) => 1000 * i + 100 * j + 10 * c + o + 1))),
    );
    const wt = tf.tensor4d(w);
    const sut = inputGradFilter(wt, s);
    expect(sut.shape).toEqual([2, 2, co, s * s * ci]);
    const f = sut.arraySync();
    let zeros = 0;
    for (let t = 0; t < 2; t++) {
      for (let u = 0; u < 2; u++) {
        for (let o = 0; o < co; o++) {
          for (let rh = 0; rh < s; rh++) {
            for (let rw = 0; rw < s; rw++) {
              for (let c = 0; c < ci; c++) {
                const [i, j] = [s * (1 - t) + rh, s * (1 - u) + rw];
                const want = i < kh && j < kw ? 1000 * i + 100 * j + 10 * c + o + 1 : 0;
                if (want === 0) zeros++;
                expect(f[t][u][o][(rh * s + rw) * ci + c]).toBe(want);
              }
            }
          }
        }
      }
    }
    expect(zeros).toBe((16 - 9) * ci * co); // a 4×4 phase grid over a 3×3 kernel: 7 empty taps
    tf.dispose([wt, sut]);
  });
});

describe('conv2dTorch', () => {
  it('takes PyTorch OIHW weights and returns gradients in that layout', async () => {
    await selectBackend('wasm');
    const w = tf.variable(tf.randomNormal([4, 3, 3, 3], 0, 1, 'float32', 7)); // [out,in,kh,kw]
    const x = tf.randomNormal([1, 6, 6, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    const y = conv2dTorch(x, w, 1, tf.ones([4]));
    const ref = tf.add(tf.conv2d(x, tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, 1, 'valid'), 1);
    expect(maxDiff(y.dataSync() as Float32Array, ref.dataSync() as Float32Array)).toBeLessThan(1e-5);
    const { grads } = tf.variableGrads(() => tf.sum(conv2dTorch(x, w, 2)) as tf.Scalar, [w]);
    expect(grads[w.name].shape).toEqual([4, 3, 3, 3]);
    tf.dispose([w, x, y, ref, grads[w.name]]);
  });
});
