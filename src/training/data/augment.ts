/**
 * The official train transform after decoding: RandomHorizontalFlip → Resize(img+30) → RandomCrop(img)
 * → ToTensor → Normalize(0.5, 0.5), i.e. pixels p ↦ p/127.5 − 1 in [-1, 1]. The resize is done by
 * sharp when decoding (and cached); flip and crop are cheap index arithmetic on the raw pixels here.
 * Tensors are NHWC float32.
 */
import { RNG_PURPOSE, Rng } from './rng.ts';
import type { RawImage } from '../../media/media.ts';

/** Where to crop and whether to mirror. */
export interface AugmentParams {
  flip: boolean;
  left: number;
  top: number;
}

/** The size images are resized to before the random crop (official: img_size + 30). */
export function loadSizeFor(imgSize: number): number {
  return imgSize + 30;
}

/** The augmentation of draw `draw` of domain `domainId`: a pure function of its arguments. */
export function augmentParams(seed: number, domainId: number, draw: number, loadSize: number, imgSize: number): AugmentParams {
  const r = Rng.of(seed, RNG_PURPOSE.augment, domainId, draw);
  const flip = r.next() < 0.5;
  const span = loadSize - imgSize + 1;
  return { flip, left: r.int(span), top: r.int(span) };
}

/**
 * Crop `size`×`size` at (left, top) of the (optionally mirrored) image and write it, scaled to
 * [-1, 1], into `out` at `offset` (HWC order).
 */
export function cropFlipNormalize(img: RawImage, size: number, p: AugmentParams, out: Float32Array, offset = 0): void {
  const { width, height, channels, data } = img;
  if (p.left < 0 || p.top < 0 || p.left + size > width || p.top + size > height) {
    throw new RangeError(`crop ${size}² at (${p.left},${p.top}) does not fit a ${width}×${height} image`);
  }
  let o = offset;
  for (let y = 0; y < size; y++) {
    const row = (p.top + y) * width;
    for (let x = 0; x < size; x++) {
      // the crop window is placed on the mirrored image, so mirror the source column
      const sx = p.flip ? width - 1 - (p.left + x) : p.left + x;
      const s = (row + sx) * channels;
      out[o++] = data[s] / 127.5 - 1;
      out[o++] = data[s + 1] / 127.5 - 1;
      out[o++] = data[s + 2] / 127.5 - 1;
    }
  }
}

/** Scale a whole RGB image to [-1, 1] into `out` at `offset` (the test transform after resizing). */
export function normalizeImage(img: RawImage, out: Float32Array, offset = 0): void {
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const s = i * img.channels;
    out[offset + i * 3] = img.data[s] / 127.5 - 1;
    out[offset + i * 3 + 1] = img.data[s + 1] / 127.5 - 1;
    out[offset + i * 3 + 2] = img.data[s + 2] / 127.5 - 1;
  }
}

/** Inverse of the normalisation, to 8-bit with rounding and clamping: x ↦ (x+1)·127.5. */
export function denormalizeToUint8(x: ArrayLike<number>, out: Uint8Array, srcOffset = 0, count = out.length, dstOffset = 0): void {
  for (let i = 0; i < count; i++) {
    const v = Math.round((x[srcOffset + i] + 1) * 127.5);
    out[dstOffset + i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}
