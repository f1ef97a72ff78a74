import * as tf from '@tensorflow/tfjs';
import { conv2dHwio } from './conv2d.ts';
import { linear } from './linear.ts';

/** Weights of a CAM block: Linear weights in PyTorch layout, the 1×1 conv HWIO. */
export interface CamWeights {
  /** GAP/GMP classifier weights `[1,C]` that produce the logits (spectrally normalised in D). */
  gapLogit: tf.Tensor;
  gmpLogit: tf.Tensor;
  /** Per-channel reweighting `[1,C]`: the RAW Linear weight (PyTorch reads `parameters()[0]`, i.e. `weight_orig` under SN). */
  gapScale: tf.Tensor;
  gmpScale: tf.Tensor;
  /** The 1×1 conv, HWIO `[1,1,2C,C]` (officially `[C,2C,1,1]`), and its bias `[C]`. */
  conv1x1Weight: tf.Tensor;
  conv1x1Bias: tf.Tensor;
}

/** What the CAM block returns. */
export interface CamOutput {
  /** act(conv1x1(concat(x·w_gap, x·w_gmp))), NHWC `[B,H,W,C]`. */
  features: tf.Tensor4D;
  /** `[B,2]`: GAP logit, GMP logit (no sigmoid). */
  camLogit: tf.Tensor2D;
  /** Channel sum of `features`, `[B,H,W,1]`. */
  heatmap: tf.Tensor4D;
}

/**
 * Class-activation-map attention (U-GAT-IT §CAM, PyTorch variant): separate bias-free GAP and GMP
 * classifiers whose weights also reweight the feature channels; `activation` is ReLU in the
 * generator, LeakyReLU(0.2) in the discriminators.
 */
export function camAttention(x: tf.Tensor4D, w: CamWeights, activation: (t: tf.Tensor4D) => tf.Tensor4D): CamOutput {
  return tf.tidy(() => {
    const c = x.shape[3];
    const gapLogit = linear(tf.mean(x, [1, 2]) as tf.Tensor2D, w.gapLogit);
    const gmpLogit = linear(tf.max(x, [1, 2]) as tf.Tensor2D, w.gmpLogit);
    const gap = tf.mul(x, tf.reshape(w.gapScale, [c])) as tf.Tensor4D;
    const gmp = tf.mul(x, tf.reshape(w.gmpScale, [c])) as tf.Tensor4D;
    const features = activation(tf.add(conv2dHwio(tf.concat([gap, gmp], 3) as tf.Tensor4D, w.conv1x1Weight as tf.Tensor4D, 1), w.conv1x1Bias) as tf.Tensor4D);
    return {
      features,
      camLogit: tf.concat([gapLogit, gmpLogit], 1) as tf.Tensor2D,
      heatmap: tf.sum(features, 3, true) as tf.Tensor4D,
    };
  });
}
