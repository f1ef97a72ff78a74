/**
 * ReflectionPad2d for NHWC tensors. The forward is `tf.mirrorPad(…, 'reflect')`, but tfjs' own
 * MirrorPad gradient only slices the centre out of dy and drops the reflected borders' share, which
 * is wrong for training; here the borders are folded back onto the rows/columns they copied. On wasm
 * the fold is one host pass over dy ({@link foldReflectionGrad}): as tensor ops it is six slices, four
 * zero pads and two three-way sums of the whole map, and wasm's Slice and Pad copy per element.
 */
import * as tf from '@tensorflow/tfjs';

/** Add the gradient of the reflected borders of one axis back onto their source positions. */
function foldAxis(dy: tf.Tensor4D, axis: 1 | 2, p: number, n: number): tf.Tensor4D {
  const begin = (start: number): number[] => (axis === 1 ? [0, start, 0, 0] : [0, 0, start, 0]);
  const size = (len: number): number[] => (axis === 1 ? [-1, len, -1, -1] : [-1, -1, len, -1]);
  const padAxis = (before: number, after: number): Array<[number, number]> =>
    axis === 1 ? [[0, 0], [before, after], [0, 0], [0, 0]] : [[0, 0], [0, 0], [before, after], [0, 0]];
  const centre = tf.slice(dy, begin(p), size(n));
  // padded index i < p copies source p−i; padded index p+n+j copies source n−2−j
  // (a one-row border needs no reverse: wasm's Reverse kernel is a slow per-element loop)
  const flip = (t: tf.Tensor4D): tf.Tensor4D => (p === 1 ? t : tf.reverse(t, axis));
  const lead = flip(tf.slice(dy, begin(0), size(p))); // sources 1..p
  const trail = flip(tf.slice(dy, begin(p + n), size(p))); // sources n−1−p..n−2
  return tf.addN([centre, tf.pad(lead, padAxis(1, n - 1 - p)), tf.pad(trail, padAxis(n - 1 - p, 1))]) as tf.Tensor4D;
}

/** The source index of padded position `k` (−p ≤ k < n + p) under reflection without repeating the edge. */
function reflect(k: number, n: number): number {
  return k < 0 ? -k : k >= n ? 2 * (n - 1) - k : k;
}

/**
 * The gradient of a reflect-pad by `p` on H and W, on the host: `dy` `[b, h+2p, w+2p, c]` → `[b,h,w,c]`,
 * every padded pixel's gradient added onto the pixel it copied.
 */
export function foldReflectionGrad(dy: Float32Array, [b, h, w, c]: readonly number[], p: number): Float32Array {
  const hp = h + 2 * p;
  const wp = w + 2 * p;
  const out = new Float32Array(b * h * w * c);
  let at = 0;
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < hp; i++) {
      const rowBase = (n * h + reflect(i - p, h)) * w;
      for (let j = 0; j < wp; j++, at += c) {
        const to = (rowBase + reflect(j - p, w)) * c;
        for (let k = 0; k < c; k++) out[to + k] += dy[at + k];
      }
    }
  }
  return out;
}

const padFns = new Map<number, (x: tf.Tensor4D) => tf.Tensor4D>();

/**
 * Reflect-pad H and W of an NHWC tensor by `p` pixels on every side (needs p < H and p < W),
 * with a correct gradient.
 */
export function reflectionPad(x: tf.Tensor4D, p: number): tf.Tensor4D {
  if (p === 0) return x;
  let fn = padFns.get(p);
  if (!fn) {
    fn = tf.customGrad((input: any, save: any) => {
      const xs = input as tf.Tensor4D;
      (save as tf.GradSaveFunc)([xs]);
      return {
        value: tf.mirrorPad(xs, [[0, 0], [p, p], [p, p], [0, 0]], 'reflect'),
        gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
          const shape = saved[0].shape as [number, number, number, number];
          if (tf.getBackend() === 'wasm') return tf.tensor4d(foldReflectionGrad(dy.dataSync() as Float32Array, shape, p), shape);
          return tf.tidy(() => foldAxis(foldAxis(dy, 1, p, shape[1]), 2, p, shape[2]));
        },
      };
    }) as unknown as (x: tf.Tensor4D) => tf.Tensor4D;
    padFns.set(p, fn);
  }
  return fn(x);
}
