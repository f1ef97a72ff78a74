/**
 * ReflectionPad2d for NHWC tensors. The forward is `tf.mirrorPad(…, 'reflect')`, but tfjs' own
 * MirrorPad gradient only slices the centre out of dy and drops the reflected borders' share, which
 * is wrong for training; here the borders are folded back onto the rows/columns they copied.
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
          const [, h, w] = saved[0].shape;
          return tf.tidy(() => foldAxis(foldAxis(dy, 1, p, h), 2, p, w));
        },
      };
    }) as unknown as (x: tf.Tensor4D) => tf.Tensor4D;
    padFns.set(p, fn);
  }
  return fn(x);
}
