import * as tf from '@tensorflow/tfjs';

/**
 * `nn.Upsample(scale_factor=2, mode='nearest')` on NHWC: each pixel becomes a 2×2 block
 * (no corner alignment, no half-pixel centres, so source = floor(dst/2) exactly).
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  return tf.image.resizeNearestNeighbor(x, [h * 2, w * 2], false, false);
}
