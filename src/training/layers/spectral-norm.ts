/**
 * `torch.nn.utils.spectral_norm` (1 power iteration, eps 1e-12) on a weight in PyTorch layout.
 * State: `<prefix>.weight_orig` (trainable), `<prefix>.weight_u` `[out]` and `<prefix>.weight_v`
 * `[in·kh·kw]` (buffers). In training mode every use first runs one power iteration and stores the new
 * u and v (not differentiated); in eval mode the stored u and v are used as they are.
 * σ = uᵀ·W_mat·v, W = W_orig/σ, with the gradient flowing into W_orig through σ as in PyTorch.
 */
import * as tf from '@tensorflow/tfjs';
import { unitNormalVector } from './init.ts';
import type { ParamStore } from './param-store.ts';
import type { NamedTensor } from '../tensors.ts';
import type { Rng } from './rng.ts';

const SN_EPS = 1e-12;

function normalize(t: tf.Tensor1D): tf.Tensor1D {
  return tf.div(t, tf.maximum(tf.norm(t), SN_EPS));
}

export class SpectralNorm {
  readonly weightOrig: tf.Variable;
  readonly u: tf.Variable;
  readonly v: tf.Variable;
  private readonly rows: number;

  /** @param init - initial `weight_orig` (used when the store has no weights to load) */
  constructor(params: ParamStore, prefix: string, shape: number[], init: () => NamedTensor, rng: Rng) {
    this.rows = shape[0];
    const cols = shape.slice(1).reduce((n, d) => n * d, 1);
    this.weightOrig = params.add(`${prefix}.weight_orig`, shape, init);
    this.u = params.add(`${prefix}.weight_u`, [this.rows], () => unitNormalVector(this.rows, rng), false);
    this.v = params.add(`${prefix}.weight_v`, [cols], () => unitNormalVector(cols, rng), false);
  }

  /** One power iteration from the stored u; stores the new v then u (PyTorch's order). */
  powerIteration(): void {
    const [u, v] = tf.tidy(() => {
      const wm = tf.reshape(this.weightOrig, [this.rows, -1]) as tf.Tensor2D;
      const v1 = normalize(tf.reshape(tf.matMul(wm, tf.reshape(this.u, [this.rows, 1]), true, false), [-1]) as tf.Tensor1D);
      const u1 = normalize(tf.reshape(tf.matMul(wm, tf.reshape(v1, [-1, 1])), [-1]) as tf.Tensor1D);
      return [u1, v1];
    });
    this.v.assign(v);
    this.u.assign(u);
    u.dispose();
    v.dispose();
  }

  /** The normalised weight W_orig/σ in PyTorch layout; `training` runs one power iteration first. */
  weight(training: boolean): tf.Tensor {
    if (training) this.powerIteration();
    return tf.tidy(() => {
      const wm = tf.reshape(this.weightOrig, [this.rows, -1]) as tf.Tensor2D;
      // u and v are variables read by id, so no gradient flows into them
      const sigma = tf.sum(tf.mul(this.u, tf.reshape(tf.matMul(wm, tf.reshape(this.v, [-1, 1])), [-1])));
      return tf.div(this.weightOrig, sigma);
    });
  }
}
