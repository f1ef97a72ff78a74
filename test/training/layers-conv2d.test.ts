/**
 * The conv wrapper's hand-written weight gradient (needed on wasm, which has no Conv2DBackpropFilter)
 * against the cpu backend's built-in conv gradients, for stride 1 and 2 and sizes that leave rows unused.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { backendNeedsCustomConvGrad, conv2dHwio, conv2dTorch, selectBackend } from '../../src/training/backend.ts';

const CASES = [
  { name: '3×3 stride 1', x: [2, 9, 7, 3], w: [3, 3, 3, 4], stride: 1 },
  { name: '3×3 stride 2, odd size (last row unused)', x: [2, 10, 11, 3], w: [3, 3, 3, 5], stride: 2 },
  { name: '4×4 stride 2 (discriminator)', x: [1, 12, 12, 2], w: [4, 4, 2, 3], stride: 2 },
  { name: '7×7 stride 1', x: [1, 13, 12, 3], w: [7, 7, 3, 2], stride: 1 },
  { name: '1×1', x: [2, 5, 5, 4], w: [1, 1, 4, 2], stride: 1 },
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
      expect(maxDiff(sut.y, ref.y)).toBe(0);
      expect(maxDiff(sut.dx, ref.dx)).toBeLessThan(1e-4);
      expect(maxDiff(sut.dw, ref.dw)).toBeLessThan(1e-4);
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

  it('is not needed on cpu, which has its own Conv2DBackpropFilter', async () => {
    await selectBackend('cpu');
    expect(backendNeedsCustomConvGrad()).toBe(false);
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
