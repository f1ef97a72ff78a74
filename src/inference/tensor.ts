/**
 * Small named pre- and post-processing steps between 8-bit RGB images and float tensors. Pure
 * functions: no I/O, no sharp, no onnxruntime.
 */
import type { RawImage } from '../media/media.ts';

/** Pixel → [-1, 1]: `p / 127.5 - 1` (the generator and BlazeFace both use this range). */
export function normalize(p: number): number {
  return p / 127.5 - 1;
}

/** [-1, 1] → pixel, clamped and rounded. */
export function denormalize(v: number): number {
  const p = Math.round((v + 1) * 127.5);
  return p < 0 ? 0 : p > 255 ? 255 : p;
}

/** Stack same-size RGB images into one NCHW float32 batch in [-1, 1]. */
export function toNchwBatch(images: readonly RawImage[]): { data: Float32Array; dims: [number, number, number, number] } {
  const { width: w, height: h } = images[0];
  const plane = w * h;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((img, n) => {
    if (img.width !== w || img.height !== h) throw new Error(`toNchwBatch: image ${n} is ${img.width}×${img.height}, expected ${w}×${h}`);
    const base = n * 3 * plane;
    const d = img.data;
    for (let i = 0; i < plane; i++) {
      out[base + i] = normalize(d[3 * i]);
      out[base + plane + i] = normalize(d[3 * i + 1]);
      out[base + 2 * plane + i] = normalize(d[3 * i + 2]);
    }
  });
  return { data: out, dims: [images.length, 3, h, w] };
}

/** One RGB image as NHWC float32 `[1, H, W, 3]` in [-1, 1] (BlazeFace's input layout). */
export function toNhwc(img: RawImage): { data: Float32Array; dims: [number, number, number, number] } {
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < img.data.length; i++) out[i] = normalize(img.data[i]);
  return { data: out, dims: [1, img.height, img.width, 3] };
}

/** Image `n` of an NCHW float batch in [-1, 1] as 8-bit RGB. */
export function fromNchw(data: Float32Array, n: number, height: number, width: number): RawImage {
  const plane = width * height;
  const base = n * 3 * plane;
  const out = Buffer.alloc(plane * 3);
  for (let i = 0; i < plane; i++) {
    out[3 * i] = denormalize(data[base + i]);
    out[3 * i + 1] = denormalize(data[base + plane + i]);
    out[3 * i + 2] = denormalize(data[base + 2 * plane + i]);
  }
  return { data: out, width, height, channels: 3 };
}

/** Min–max normalise a float map to 0..255 (a constant map becomes all 0). */
export function minMaxToUint8(map: Float32Array): Uint8Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Uint8Array(map.length);
  const range = hi - lo;
  if (!(range > 0) || !Number.isFinite(range)) return out;
  for (let i = 0; i < map.length; i++) out[i] = Math.round(((map[i] - lo) / range) * 255);
  return out;
}

/** OpenCV's JET colormap: 0 → dark blue, 128 → green-ish, 255 → dark red. Returns [r, g, b]. */
export function jet(v: number): [number, number, number] {
  const x = v / 255;
  const channel = (offset: number): number => {
    const t = 1.5 - Math.abs(4 * x - offset);
    return Math.round(255 * Math.min(1, Math.max(0, t)));
  };
  return [channel(3), channel(2), channel(1)];
}

/** Blend a JET-coloured 8-bit map (same size) over an image: `out = (1 - alpha)·img + alpha·jet(map)`. */
export function blendHeatmap(img: RawImage, map: Uint8Array, alpha = 0.5): RawImage {
  if (map.length !== img.width * img.height) throw new Error('blendHeatmap: map and image sizes differ');
  const lut: [number, number, number][] = Array.from({ length: 256 }, (_, v) => jet(v));
  const out = Buffer.alloc(img.data.length);
  for (let i = 0; i < map.length; i++) {
    const c = lut[map[i]];
    for (let k = 0; k < 3; k++) out[3 * i + k] = Math.round((1 - alpha) * img.data[3 * i + k] + alpha * c[k]);
  }
  return { data: out, width: img.width, height: img.height, channels: 3 };
}
