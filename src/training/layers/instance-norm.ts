import * as tf from '@tensorflow/tfjs';
import { instanceStats, layerStats } from './norm-stats.ts';

/** ε of every normalisation layer in the official code. */
export const NORM_EPS = 1e-5;

/**
 * `InstanceNorm2d(affine=False, track_running_stats=False)` on NHWC: per sample and channel,
 * (x − μ)/√(σ² + ε) with the BIASED variance (÷H·W), as PyTorch's instance norm computes it.
 * Statistics are reduced in stages (see norm-stats.ts) so they stay accurate on tfjs-wasm at 256².
 */
export function instanceNorm(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const inst = instanceStats(x);
    return tf.div(inst.centered, tf.sqrt(tf.add(inst.variance, NORM_EPS))) as tf.Tensor4D;
  });
}

/**
 * The shared core of ILN and AdaILN: ρ·x̂_I + (1−ρ)·x̂_L with UNBIASED variances, as the official
 * code's `torch.var`: instance statistics over H·W (÷(H·W−1)), layer statistics over C·H·W
 * (÷(C·H·W−1)). `rho` has C elements (any shape that reshapes to [C]). Statistics are reduced in
 * stages (norm-stats.ts; the layer mean reuses the instance means), accurate on tfjs-wasm at 256².
 */
export function ilnMix(x: tf.Tensor4D, rho: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w, c] = x.shape;
    const nI = h * w;
    const nL = h * w * c;
    const inst = instanceStats(x);
    const xI = tf.div(inst.centered, tf.sqrt(tf.add(tf.mul(inst.variance, nI / (nI - 1)), NORM_EPS)));
    const layer = layerStats(x, inst);
    const xL = tf.div(layer.centered, tf.sqrt(tf.add(tf.mul(layer.variance, nL / (nL - 1)), NORM_EPS)));
    const r = tf.reshape(rho, [c]);
    return tf.add(tf.mul(r, xI), tf.mul(tf.sub(1, r), xL)) as tf.Tensor4D;
  });
}
