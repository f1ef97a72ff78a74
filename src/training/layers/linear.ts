import * as tf from '@tensorflow/tfjs';

/** `nn.Linear` with its weight in PyTorch layout `[out,in]`: x·Wᵀ (+ b). */
export function linear(x: tf.Tensor2D, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x, weight as tf.Tensor2D, false, true) as tf.Tensor2D;
  return bias ? (tf.add(y, bias) as tf.Tensor2D) : y;
}
