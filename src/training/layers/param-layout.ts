/**
 * How a parameter is laid out in the trainer's memory when that differs from PyTorch's. Conv weights
 * are kept HWIO `[kh,kw,in,out]` (what tfjs' conv reads) rather than OIHW, so no step transposes them
 * (a weight-sized copy per conv call and another for its gradient); spectral norm's `v` follows the
 * HWIO flattening. Loading (official weights, checkpoints), reading (state dicts, checkpoints, Adam's
 * moments) and the gradient hooks convert at that boundary, so everything outside the networks still
 * sees the official names, shapes and element order.
 */
import * as tf from '@tensorflow/tfjs';

/** A fixed permutation of a parameter's official axes (optionally stored flattened). */
export class ParamLayout {
  /** Shape of the variable as stored. */
  readonly storageShape: number[];
  private readonly permuted: number[];
  private readonly inverse: number[];

  /**
   * @param officialShape - the PyTorch shape (what state dicts and checkpoints hold)
   * @param dims - the official data viewed as these axes (same element count as `officialShape`)
   * @param perm - storage axis j is official axis `perm[j]` of `dims`
   * @param flat - store the permuted data with the official (flat) shape instead of the permuted dims
   */
  constructor(
    readonly officialShape: number[],
    private readonly dims: number[],
    private readonly perm: number[],
    flat = false,
  ) {
    this.permuted = perm.map((a) => dims[a]);
    this.inverse = perm.map((_, j) => perm.indexOf(j));
    this.storageShape = flat ? [...officialShape] : this.permuted;
  }

  /** Official (PyTorch-order) data → storage order. */
  toStorage(data: Float32Array): Float32Array {
    return permute(data, this.dims, this.perm);
  }

  /** Storage-order data → official (PyTorch) order. */
  toOfficial(data: Float32Array): Float32Array {
    return permute(data, this.permuted, this.inverse);
  }

  /** A stored-layout tensor (e.g. a gradient) as a new tensor in the official layout. */
  tensorToOfficial(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(t, this.permuted), this.inverse), this.officialShape));
  }
}

/** Conv weight: official OIHW `[o,i,kh,kw]`, stored HWIO `[kh,kw,i,o]`. */
export function hwioLayout(oihw: readonly number[]): ParamLayout {
  return new ParamLayout([...oihw], [...oihw], [2, 3, 1, 0]);
}

/**
 * Spectral norm's `v` of a conv weight `[o,i,kh,kw]`: officially `[i·kh·kw]` in (i, kh, kw) order, stored
 * in the (kh, kw, i) order of the HWIO weight's rows.
 */
export function hwioVectorLayout(oihw: readonly number[]): ParamLayout {
  const [, i, kh, kw] = oihw;
  return new ParamLayout([i * kh * kw], [i, kh, kw], [1, 2, 0], true);
}

/** `data` viewed with shape `dims`, its axes reordered so that output axis j is input axis `perm[j]`. */
function permute(data: Float32Array, dims: readonly number[], perm: readonly number[]): Float32Array {
  const rank = dims.length;
  const strides = new Array<number>(rank).fill(1);
  for (let a = rank - 2; a >= 0; a--) strides[a] = strides[a + 1] * dims[a + 1];
  const outDims = perm.map((a) => dims[a]);
  const outStrides = perm.map((a) => strides[a]); // input stride of each output axis
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src];
    // odometer over the output axes, innermost first, moving `src` by the matching input strides
    for (let j = rank - 1; j >= 0; j--) {
      idx[j]++;
      src += outStrides[j];
      if (idx[j] < outDims[j]) break;
      src -= outStrides[j] * outDims[j];
      idx[j] = 0;
    }
  }
  return out;
}
