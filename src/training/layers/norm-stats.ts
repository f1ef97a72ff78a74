/**
 * Numerically robust per-sample statistics for the normalisation layers (IN, ILN, AdaILN), NHWC.
 *
 * tfjs-wasm reduces naively in float32 (one running sum per output), so `tf.moments` over a
 * [1,64,64,256] tensor loses ~4e-4 of the variance (and the mean of values around 50 loses ~4e-5).
 * Here every reduction runs over one axis of at most {@link MAX_REDUCE_BLOCK} elements at a time
 * (longer axes are split into blocks): instance statistics are means over W, then H; the layer mean is
 * the mean over C of the instance means; variances are means of squared deviations from those means
 * (two passes, no E[x²]−E[x]² cancellation). Plain tfjs ops only, so gradients come from autodiff.
 */
import * as tf from '@tensorflow/tfjs';

/** Longest run a single reduction sums (longer axes are split into blocks of at most this many). */
export const MAX_REDUCE_BLOCK = 256;

/** Per-sample, per-channel statistics over H·W, all BIASED (÷H·W). */
export interface InstanceStats {
  /** μ_I, `[B,1,1,C]`. */
  mean: tf.Tensor4D;
  /** σ²_I = mean over H·W of (x − μ_I)², `[B,1,1,C]`. */
  variance: tf.Tensor4D;
  /** x − μ_I, `[B,H,W,C]` (reused by the callers to normalise). */
  centered: tf.Tensor4D;
}

/** Per-sample statistics over C·H·W, BIASED (÷C·H·W). */
export interface LayerStats {
  /** μ_L, `[B,1,1,1]`. */
  mean: tf.Tensor4D;
  /** σ²_L = mean over C·H·W of (x − μ_L)², `[B,1,1,1]`. */
  variance: tf.Tensor4D;
  /** x − μ_L, `[B,H,W,C]`. */
  centered: tf.Tensor4D;
}

/** Largest divisor of n that is ≤ limit (1 when n is prime and > limit). */
function largestDivisorAtMost(n: number, limit: number): number {
  for (let d = Math.min(n, limit); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

/**
 * Mean over one axis (kept as size 1) with no single float32 sum longer than {@link MAX_REDUCE_BLOCK}
 * where the length allows: a long axis of length L = a·b (b ≤ the block) is reshaped to [a, b] and
 * reduced over b, then over a (recursively).
 */
export function blockedMean(x: tf.Tensor, axis: number): tf.Tensor {
  return tf.tidy(() => {
    const n = x.shape[axis];
    const block = largestDivisorAtMost(n, MAX_REDUCE_BLOCK);
    if (n <= MAX_REDUCE_BLOCK || block === 1) return tf.mean(x, axis, true);
    const split = [...x.shape.slice(0, axis), n / block, block, ...x.shape.slice(axis + 1)];
    const inner = tf.mean(tf.reshape(x, split), axis + 1); // [.., n/block, ..]
    return blockedMean(inner, axis);
  });
}

/** Mean over H then W of an NHWC tensor, `[B,1,1,C]`. */
function spatialMean(x: tf.Tensor4D): tf.Tensor4D {
  return blockedMean(blockedMean(x, 2), 1) as tf.Tensor4D;
}

/** Instance statistics (per sample and channel over H·W, biased), reduced in stages. */
export function instanceStats(x: tf.Tensor4D): InstanceStats {
  return tf.tidy(() => {
    const mean = spatialMean(x);
    const centered = tf.sub(x, mean) as tf.Tensor4D;
    const variance = spatialMean(tf.square(centered) as tf.Tensor4D);
    return { mean, variance, centered };
  });
}

/**
 * Layer statistics (per sample over C·H·W, biased). μ_L is the mean over C of the instance means (exact:
 * every channel has H·W elements; pass `inst` to reuse them); σ²_L the mean of (x − μ_L)² reduced over
 * C (innermost, no transpose), then W, then H. (The law of total variance would save that pass, but
 * the float32 rounding of each μ_c then enters σ²_L to first order: 2e-5 relative at +50 offsets.)
 */
export function layerStats(x: tf.Tensor4D, inst?: Pick<InstanceStats, 'mean'>): LayerStats {
  return tf.tidy(() => {
    const mean = blockedMean(inst?.mean ?? spatialMean(x), 3) as tf.Tensor4D;
    const centered = tf.sub(x, mean) as tf.Tensor4D;
    const variance = blockedMean(blockedMean(blockedMean(tf.square(centered), 3), 2), 1) as tf.Tensor4D;
    return { mean, variance, centered };
  });
}
