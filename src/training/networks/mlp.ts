import * as tf from '@tensorflow/tfjs';
import { kaimingUniformA5 } from '../layers/init.ts';
import { linear } from '../layers/linear.ts';
import type { ParamStore } from '../layers/param-store.ts';
import type { Rng } from '../layers/rng.ts';

/**
 * The generator's γ/β MLP (official `FC`, `gamma`, `beta`, all bias-free):
 * - light: GAP(x) → FC.0 (C→C) → ReLU → FC.2 (C→C) → ReLU
 * - full: flatten x in PyTorch's C,H,W order → FC.0 ((img/4)²·C → C) → ReLU → FC.2 → ReLU
 * then γ = h·W_γᵀ and β = h·W_βᵀ (no activation). One (γ, β) pair feeds every AdaILN.
 */
export class GammaBetaMlp {
  private readonly fc0: tf.Variable;
  private readonly fc2: tf.Variable;
  private readonly gamma: tf.Variable;
  private readonly beta: tf.Variable;

  /** @param spatial - full mode: the bottleneck side img_size/4; ignored in light mode */
  constructor(params: ParamStore, readonly channels: number, readonly light: boolean, readonly spatial: number, rng: Rng) {
    const inFeatures = light ? channels : spatial * spatial * channels;
    const sq = [channels, channels];
    this.fc0 = params.add('FC.0.weight', [channels, inFeatures], () => kaimingUniformA5([channels, inFeatures], rng));
    this.fc2 = params.add('FC.2.weight', sq, () => kaimingUniformA5(sq, rng));
    this.gamma = params.add('gamma.weight', sq, () => kaimingUniformA5(sq, rng));
    this.beta = params.add('beta.weight', sq, () => kaimingUniformA5(sq, rng));
  }

  /** x: the post-CAM features, NHWC `[B,H,W,C]` → γ, β `[B,C]`. */
  apply(x: tf.Tensor4D): { gamma: tf.Tensor2D; beta: tf.Tensor2D } {
    return tf.tidy(() => {
      const b = x.shape[0];
      // full mode: PyTorch's view(B,-1) flattens C,H,W, so go through NCHW first
      const flat = this.light ? (tf.mean(x, [1, 2]) as tf.Tensor2D) : (tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [b, -1]) as tf.Tensor2D);
      const h = tf.relu(linear(tf.relu(linear(flat, this.fc0)), this.fc2));
      return { gamma: linear(h, this.gamma), beta: linear(h, this.beta) };
    });
  }
}
