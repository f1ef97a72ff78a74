/**
 * `nn.Upsample(scale_factor=2, mode='nearest')` on NHWC. The forward is tfjs' resizeNearestNeighbor
 * (no corner alignment, no half-pixel centres: source = floor(dst/2), an exact 2×2 replication). The
 * gradient is written here as 2×2 block sums, because the cpu backend's ResizeNearestNeighborGrad
 * returns wrong values for batches larger than 1 (tfjs 4.22; measured, wasm's kernel is right).
 */
import * as tf from '@tensorflow/tfjs';

const upsample = tf.customGrad((input: any, save: any) => {
  const x = input as tf.Tensor4D;
  (save as tf.GradSaveFunc)([x]);
  const [, h, w] = x.shape;
  return {
    value: tf.image.resizeNearestNeighbor(x, [h * 2, w * 2], false, false),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [b, hh, ww, c] = saved[0].shape;
      return tf.tidy(() => {
        // dy[b, 2h+i, 2w+j, c] laid out as [b·h, i, w, j·c]: sum i, then j (every step stays rank ≤ 4)
        const rows = tf.sum(tf.reshape(dy, [b * hh, 2, ww, 2 * c]), 1);
        return tf.reshape(tf.sum(tf.reshape(rows, [b * hh * ww, 2, c]), 1), [b, hh, ww, c]);
      });
    },
  };
}) as unknown as (x: tf.Tensor4D) => tf.Tensor4D;

/** Nearest-neighbour ×2 upsampling of an NHWC tensor (each pixel becomes a 2×2 block). */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  return upsample(x);
}
