/**
 * Convolution with a weight gradient on every backend. tfjs-backend-wasm has no
 * Conv2DBackpropFilter kernel, and its Conv2DBackpropInput is a plain loop (several times slower than
 * its XNNPACK Conv2D), so there the conv runs as a kernel of its own (`WebtoonConv2DValid`, the backend's
 * Conv2D underneath) whose registered gradient makes both gradients XNNPACK convolutions, each computed
 * only when the tape needs it:
 * - dx (see {@link convInputGrad}): for stride s, the input rows split into s phases (h = s·i + r); phase r
 *   is a stride-1 correlation of dy with the taps w[s·m + r] in reverse order. All s² phases run as ONE
 *   stride-1 conv of the zero-padded dy with a filter [⌈kh/s⌉, ⌈kw/s⌉, co, s²·ci] (phase p = rh·s + rw in
 *   channel block p), and a depth-to-space (reshape, transpose, reshape) interleaves the phases; rows
 *   past the input's size (odd sizes) are sliced off. For s = 1 this is the textbook "pad dy by k−1,
 *   conv with the flipped kernel, in/out swapped".
 * - dW (see {@link convFilterGrad}): im2col × dy as a 1×1 conv (stride 1, small maps), else a dilated
 *   conv of x viewed as [ci, H, W, b] with dy viewed as the filter [oh, ow, b, co].
 */
import * as tf from '@tensorflow/tfjs';

/**
 * The filter of {@link convInputGrad}: HWIO `w` [kh,kw,ci,co] → [mh, mw, co, s²·ci] with mh = ⌈kh/s⌉,
 * where entry [t, u, o, p·ci + c] (p = rh·s + rw) is w[s·(mh−1−t) + rh, s·(mw−1−u) + rw, c, o], or 0
 * where that tap lies past the kernel. Built on the host: a weight-sized permutation in one pass, where
 * wasm's Reverse/StridedSlice/Slice kernels cost ~30 ns per element (or copy the whole input per slice).
 */
export function inputGradFilter(w: tf.Tensor4D, stride: number): tf.Tensor4D {
  const [kh, kw, ci, co] = w.shape;
  const s = stride;
  const mh = Math.ceil(kh / s);
  const mw = Math.ceil(kw / s);
  const src = w.dataSync() as Float32Array;
  const depth = s * s * ci;
  const out = new Float32Array(mh * mw * co * depth);
  for (let t = 0; t < mh; t++) {
    for (let u = 0; u < mw; u++) {
      for (let rh = 0; rh < s; rh++) {
        const i = s * (mh - 1 - t) + rh;
        if (i >= kh) continue;
        for (let rw = 0; rw < s; rw++) {
          const j = s * (mw - 1 - u) + rw;
          if (j >= kw) continue;
          const outBase = (t * mw + u) * co * depth + (rh * s + rw) * ci;
          for (let c = 0; c < ci; c++) {
            const srcBase = ((i * kw + j) * ci + c) * co;
            for (let o = 0; o < co; o++) out[outBase + o * depth + c] = src[srcBase + o];
          }
        }
      }
    }
  }
  return tf.tensor4d(out, [mh, mw, co, depth]);
}

/**
 * Input gradient of a 'valid' stride-s conv of x (shape `xShape`) with HWIO `w`, given the upstream
 * gradient dy, as one stride-1 conv plus a depth-to-space interleave (see the file comment).
 */
export function convInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: readonly number[], stride: number): tf.Tensor4D {
  const [b, h, wd, ci] = xShape;
  const [kh, kw] = w.shape;
  const [, oh, ow] = dy.shape;
  const mh = Math.ceil(kh / stride);
  const mw = Math.ceil(kw / stride);
  const ph = Math.ceil(h / stride);
  const pw = Math.ceil(wd / stride);
  return tf.tidy(() => {
    // output [b, ph, pw, s²·ci]: left padding mh−1 (first tap), right padding so ph rows come out
    const phased = tf.conv2d(dy, inputGradFilter(w, stride), 1, [[0, 0], [mh - 1, ph - oh], [mw - 1, pw - ow], [0, 0]]);
    if (stride === 1) return phased;
    // depth-to-space as a reshape-transpose-reshape (wasm's DepthToSpace kernel is a slow per-element loop):
    // [b·ph, pw, s(rh), s·ci (rw, c)] → [b·ph, s(rh), pw, s·ci] is [b, ph·s, pw·s, ci] in memory
    const rows = tf.transpose(tf.reshape(phased, [b * ph, pw, stride, stride * ci]), [0, 2, 1, 3]);
    const dx = tf.reshape(rows, [b, ph * stride, pw * stride, ci]) as tf.Tensor4D;
    return ph * stride === h && pw * stride === wd ? dx : tf.slice(dx, [0, 0, 0, 0], [b, h, wd, ci]);
  });
}

/**
 * Transposed im2col of a stride-1 'valid' conv: `[kh·kw·ci, b·oh·ow]`, row (i·kw + j)·ci + c holding
 * x[b, oh + i, ow + j, c] over all output pixels. Built on the host in one pass: on wasm, k² `tf.slice`s
 * copy the whole input each, and the transpose of the [N, k²·ci] columns costs ~10 ns per element.
 */
export function im2colTransposed(x: tf.Tensor4D, oh: number, ow: number, kh: number, kw: number): tf.Tensor2D {
  const [b, h, w, ci] = x.shape;
  const src = x.dataSync() as Float32Array;
  const n = b * oh * ow;
  const out = new Float32Array(kh * kw * ci * n);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let c = 0; c < ci; c++) {
        let o = ((i * kw + j) * ci + c) * n;
        for (let bb = 0; bb < b; bb++) {
          for (let r = 0; r < oh; r++) {
            let at = ((bb * h + r + i) * w + j) * ci + c;
            for (let q = 0; q < ow; q++, at += ci) out[o++] = src[at];
          }
        }
      }
    }
  }
  return tf.tensor2d(out, [kh * kw * ci, n]);
}

/**
 * Weight gradient dW[kh,kw,ci,co] = Σ_{b,oh,ow} x[b, oh·s+kh, ow·s+kw, ci] · dy[b,oh,ow,co].
 * - stride 1, small maps (b·oh·ow ≤ {@link MAX_IM2COL_PIXELS}): the transposed im2col [kh·kw·ci, N]
 *   ({@link im2colTransposed}) times dy [N, co], run as a 1×1 conv
 *   (XNNPACK) of a 1×(kh·kw·ci) "image" with N channels.
 * - otherwise: a stride-1 conv of x viewed as [ci, H, W, b] with dy viewed as the filter [oh, ow, b, co]
 *   at dilation s, sliced to k×k (cheaper on large maps, where the im2col copy dominates).
 */
export function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, stride: number): tf.Tensor4D {
  const [b, oh, ow, co] = dy.shape;
  const ci = x.shape[3];
  return tf.tidy(() => {
    const n = b * oh * ow;
    if (stride === 1 && n <= MAX_IM2COL_PIXELS) {
      const colsT = im2colTransposed(x, oh, ow, kh, kw); // [kh·kw·ci, N]
      const g = tf.conv2d(tf.reshape(colsT, [1, 1, kh * kw * ci, n]) as tf.Tensor4D, tf.reshape(dy, [1, 1, n, co]) as tf.Tensor4D, 1, 'valid');
      return tf.reshape(g, [kh, kw, ci, co]);
    }
    const xT = tf.transpose(x, [3, 1, 2, 0]); // [ci, H, W, b]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, b, co]
    const full = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', stride); // [ci, ≥kh, ≥kw, co]
    const cut = full.shape[1] === kh && full.shape[2] === kw ? full : tf.slice(full, [0, 0, 0, 0], [-1, kh, kw, -1]);
    return tf.transpose(cut, [1, 2, 0, 3]); // [kh, kw, ci, co]
  });
}

/** Up to this many upstream-gradient pixels (b·oh·ow), stride-1 weight gradients use im2col. */
const MAX_IM2COL_PIXELS = 2304;

/** Below this many upstream-gradient pixels (b·oh·ow), dx uses the backend's Conv2DBackpropInput. */
const MIN_XNN_DX_PIXELS = 64;

/**
 * The conv as a kernel of its own, so its gradient is lazy per input: `tf.customGrad` computes every
 * input's gradient eagerly, whereas the tape asks a registered gradient only for the inputs that lead
 * to the variables being differentiated — the G step needs no discriminator weight gradients, and no
 * pass needs the gradient of a real image.
 */
const KERNEL = 'WebtoonConv2DValid';

tf.registerGradient({
  kernelName: KERNEL,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const g = dy as tf.Tensor4D;
    const [x, w] = saved as [tf.Tensor4D, tf.Tensor4D];
    const stride = attrs.stride as number;
    return {
      // tiny upstream maps (the discriminators' deepest layers): the plain loop costs ~ weights × pixels,
      // less than building and packing a weight-sized filter for XNNPACK
      x: () =>
        g.shape[0] * g.shape[1] * g.shape[2] < MIN_XNN_DX_PIXELS
          ? tf.conv2dTranspose(g, w, x.shape, stride, 'valid')
          : convInputGrad(g, w, x.shape, stride),
      filter: () => convFilterGrad(x, g, w.shape[0], w.shape[1], stride),
    };
  },
});

/** Registers {@link KERNEL} on `backendName` as a call of that backend's own Conv2D kernel. */
function ensureKernel(backendName: string): void {
  if (tf.getKernel(KERNEL, backendName) !== undefined) return;
  const conv = tf.getKernel('Conv2D', backendName);
  if (!conv) throw new Error(`the ${backendName} backend has no Conv2D kernel`);
  tf.registerKernel({
    kernelName: KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) =>
      conv.kernelFunc({
        inputs,
        backend,
        attrs: { strides: attrs?.stride as number, pad: 'valid', dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined } as unknown as tf.NamedAttrMap,
      }),
  });
}

function customConv(x: tf.Tensor4D, w: tf.Tensor4D, stride: number): tf.Tensor4D {
  ensureKernel(tf.getBackend());
  return tf.engine().runKernel(KERNEL, { x, filter: w }, { stride }) as tf.Tensor4D;
}

/** True when the active backend lacks a Conv2DBackpropFilter kernel (wasm). */
export function backendNeedsCustomConvGrad(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) === undefined;
}

/**
 * A 'valid' conv of NHWC `x` with an HWIO filter whose gradient works on every backend.
 * @param opts.customGrad - force (true) or forbid (false) the hand-written gradient; default: only
 *   where the backend lacks Conv2DBackpropFilter.
 */
export function conv2dHwio(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, opts: { customGrad?: boolean } = {}): tf.Tensor4D {
  const useCustom = opts.customGrad ?? backendNeedsCustomConvGrad();
  return useCustom ? customConv(x, w, stride) : tf.conv2d(x, w, stride, 'valid');
}

/**
 * Conv2d as in PyTorch with padding 0: NHWC input, weight in PyTorch layout `[out,in,kh,kw]`
 * (transposed to HWIO here, so gradients come back in PyTorch layout), optional bias `[out]`.
 */
export function conv2dTorch(x: tf.Tensor4D, weightOihw: tf.Tensor, stride = 1, bias?: tf.Tensor): tf.Tensor4D {
  const hwio = tf.transpose(weightOihw, [2, 3, 1, 0]) as tf.Tensor4D;
  const y = conv2dHwio(x, hwio, stride);
  return bias ? tf.add(y, bias) : y;
}
