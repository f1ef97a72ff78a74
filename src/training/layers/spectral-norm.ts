/**
 * `torch.nn.utils.spectral_norm` (1 power iteration, eps 1e-12) of a Linear `[out,in]` or conv
 * `[out,in,kh,kw]` weight. State: `<prefix>.weight_orig` (trainable), `<prefix>.weight_u` `[out]` and
 * `<prefix>.weight_v` `[in·kh·kw]` (buffers). In training mode every use first runs one power iteration
 * and stores the new u and v (not differentiated); in eval mode the stored u and v are used as they are.
 * σ = uᵀ·W_mat·v, W = W_orig/σ, with the gradient flowing into W_orig through σ as in PyTorch.
 *
 * A conv weight is stored HWIO (see param-layout.ts), so W_mat is read transposed, as the
 * `[kh·kw·in, out]` matrix of its rows, and v is stored in that (kh, kw, in) order; and the conv runs on
 * W_orig itself, dividing its (much smaller) output by σ, which is the same map (conv is linear in W)
 * without a weight-sized division and copy per call.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dHwio } from './conv2d.ts';
import { unitNormalVector } from './init.ts';
import { hwioLayout, hwioVectorLayout } from './param-layout.ts';
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
  private readonly cols: number;
  /** True for a conv weight stored HWIO: the variable reshaped is W_matᵀ `[cols, rows]`. */
  private readonly hwio: boolean;

  /** @param init - initial `weight_orig` in PyTorch layout (used when the store has no weights to load) */
  constructor(params: ParamStore, prefix: string, shape: number[], init: () => NamedTensor, rng: Rng) {
    this.rows = shape[0];
    this.cols = shape.slice(1).reduce((n, d) => n * d, 1);
    this.hwio = shape.length === 4;
    this.weightOrig = params.add(`${prefix}.weight_orig`, shape, init, true, this.hwio ? hwioLayout(shape) : undefined);
    this.u = params.add(`${prefix}.weight_u`, [this.rows], () => unitNormalVector(this.rows, rng), false);
    this.v = params.add(`${prefix}.weight_v`, [this.cols], () => unitNormalVector(this.cols, rng), false, this.hwio ? hwioVectorLayout(shape) : undefined);
  }

  /** W_matᵀ·t for t `[rows]` → `[cols]`. */
  private wmT(t: tf.Tensor): tf.Tensor1D {
    const m = this.hwio ? tf.reshape(this.weightOrig, [this.cols, this.rows]) : tf.reshape(this.weightOrig, [this.rows, this.cols]);
    return tf.reshape(tf.matMul(m as tf.Tensor2D, tf.reshape(t, [this.rows, 1]) as tf.Tensor2D, !this.hwio, false), [-1]) as tf.Tensor1D;
  }

  /** W_mat·t for t `[cols]` → `[rows]`. */
  private wm(t: tf.Tensor): tf.Tensor1D {
    const m = this.hwio ? tf.reshape(this.weightOrig, [this.cols, this.rows]) : tf.reshape(this.weightOrig, [this.rows, this.cols]);
    return tf.reshape(tf.matMul(m as tf.Tensor2D, tf.reshape(t, [this.cols, 1]) as tf.Tensor2D, this.hwio, false), [-1]) as tf.Tensor1D;
  }

  /** One power iteration from the stored u; stores the new v then u (PyTorch's order). */
  powerIteration(): void {
    const [u, v] = tf.tidy(() => {
      const v1 = normalize(this.wmT(this.u));
      const u1 = normalize(this.wm(v1));
      return [u1, v1];
    });
    this.v.assign(v);
    this.u.assign(u);
    u.dispose();
    v.dispose();
  }

  /** σ = uᵀ·W_mat·v, differentiable in W_orig (u and v are variables read by id: no gradient flows into them). */
  private sigma(): tf.Scalar {
    return tf.sum(tf.mul(this.u, this.wm(this.v)));
  }

  /** The normalised weight W_orig/σ of a Linear layer, in PyTorch layout; `training` runs one power iteration first. */
  weight(training: boolean): tf.Tensor {
    if (this.hwio) throw new Error('SpectralNorm.weight() is for Linear weights; a conv weight is applied with conv()');
    if (training) this.powerIteration();
    return tf.tidy(() => tf.div(this.weightOrig, this.sigma()));
  }

  /** A 'valid' conv of NHWC `x` with W_orig/σ (computed as conv(x, W_orig)/σ); `training` runs one power iteration first. */
  conv(x: tf.Tensor4D, stride: number, training: boolean): tf.Tensor4D {
    if (!this.hwio) throw new Error('SpectralNorm.conv() needs a conv weight [out,in,kh,kw]');
    if (training) this.powerIteration();
    return tf.tidy(() => tf.div(conv2dHwio(x, this.weightOrig as tf.Tensor as tf.Tensor4D, stride), this.sigma()));
  }
}
