/**
 * Convolution with a weight gradient on every backend. tfjs-backend-wasm has no
 * Conv2DBackpropFilter kernel, so there the conv runs inside `tf.customGrad`:
 * - dx = conv2dTranspose(dy, W, x.shape, stride) (Conv2DBackpropInput exists on wasm);
 * - dW[kh,kw,ci,co] = Σ_{b,oh,ow} x[b, oh·s+kh, ow·s+kw, ci] · dy[b,oh,ow,co], computed as a stride-1 conv
 *   of x viewed as [ci, H, W, b] with dy viewed as the filter [oh, ow, b, co] at dilation s, sliced to k×k.
 */
import * as tf from '@tensorflow/tfjs';

const customConvs = new Map<number, (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D>();

function customConv(stride: number): (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D {
  let fn = customConvs.get(stride);
  if (!fn) {
    fn = tf.customGrad((x: any, w: any, save: any) => {
      const xs = x as tf.Tensor4D;
      const ws = w as tf.Tensor4D;
      (save as tf.GradSaveFunc)([xs, ws]);
      return {
        value: tf.conv2d(xs, ws, stride, 'valid'),
        gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
          const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
          const [kh, kw] = sw.shape;
          const dx = tf.conv2dTranspose(dy, sw, sx.shape, stride, 'valid');
          const dw = tf.tidy(() => {
            const xT = tf.transpose(sx, [3, 1, 2, 0]); // [ci, H, W, b]
            const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, b, co]
            const full = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', stride); // [ci, ≥kh, ≥kw, co]
            const cut = tf.slice(full, [0, 0, 0, 0], [-1, kh, kw, -1]);
            return tf.transpose(cut, [1, 2, 0, 3]); // [kh, kw, ci, co]
          });
          return [dx, dw];
        },
      };
    }) as unknown as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
    customConvs.set(stride, fn);
  }
  return fn;
}

/** True when the active backend lacks a Conv2DBackpropFilter kernel (wasm). */
export function backendNeedsCustomConvGrad(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) === undefined;
}

/**
 * A 'valid' conv of NHWC `x` with an HWIO filter whose gradient works on every backend.
 * @param opts.customGrad - force (true) or forbid (false) the hand-written gradient; default: only
 *   where the backend lacks Conv2DBackpropFilter.
 */
export function conv2dHwio(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, opts: { customGrad?: boolean } = {}): tf.Tensor4D {
  const useCustom = opts.customGrad ?? backendNeedsCustomConvGrad();
  return useCustom ? customConv(stride)(x, w) : tf.conv2d(x, w, stride, 'valid');
}

/**
 * Conv2d as in PyTorch with padding 0: NHWC input, weight in PyTorch layout `[out,in,kh,kw]`
 * (transposed to HWIO here, so gradients come back in PyTorch layout), optional bias `[out]`.
 */
export function conv2dTorch(x: tf.Tensor4D, weightOihw: tf.Tensor, stride = 1, bias?: tf.Tensor): tf.Tensor4D {
  const hwio = tf.transpose(weightOihw, [2, 3, 1, 0]) as tf.Tensor4D;
  const y = conv2dHwio(x, hwio, stride);
  return bias ? tf.add(y, bias) : y;
}
