/**
 * The training sample grid, laid out like the official one: for each fixed image a column of seven
 * tiles — real, identity heatmap, identity, translation heatmap, translation, cycle heatmap, cycle —
 * for A→B (left block) and B→A (right block). Heatmaps are min–max normalised per tile, resized
 * bilinearly to the image size and coloured with the JET colormap, as the official `cam()` does.
 */
import * as tf from '@tensorflow/tfjs';
import { denormalizeToUint8 } from '../data/augment.ts';
import { pngWithSvgOverlay, type RawImage } from '../../media/media.ts';
import type { Generator } from '../networks/types.ts';

/** Row captions, top to bottom (the official order). */
export const SAMPLE_ROWS = ['real', 'identity CAM', 'identity', 'translation CAM', 'translation', 'cycle CAM', 'cycle'] as const;

/** OpenCV-like JET colormap of v in [0, 1] → RGB bytes. */
export function jet(v: number): [number, number, number] {
  const c = (x: number) => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [c(1.5 - Math.abs(4 * v - 3)), c(1.5 - Math.abs(4 * v - 2)), c(1.5 - Math.abs(4 * v - 1))];
}

/**
 * Min–max normalise one h×w heatmap to 0..255 (as uint8, like the official code), resize it to
 * size×size (bilinear, pixel centres aligned like OpenCV) and colour it; returns RGB bytes.
 */
export function heatmapTile(h: Float32Array, hh: number, hw: number, size: number): Uint8Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of h) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo;
  const q = Float32Array.from(h, (v) => (range > 0 ? Math.floor((255 * (v - lo)) / range) : 0));
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const sy = Math.min(hh - 1, Math.max(0, ((y + 0.5) * hh) / size - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(hh - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < size; x++) {
      const sx = Math.min(hw - 1, Math.max(0, ((x + 0.5) * hw) / size - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(hw - 1, x0 + 1);
      const fx = sx - x0;
      const v =
        (1 - fy) * ((1 - fx) * q[y0 * hw + x0] + fx * q[y0 * hw + x1]) + fy * ((1 - fx) * q[y1 * hw + x0] + fx * q[y1 * hw + x1]);
      const [r, g, b] = jet(Math.round(v) / 255);
      const o = (y * size + x) * 3;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  }
  return out;
}

/** Smallest tile side drawn; smaller images are enlarged by an integer factor. */
const MIN_TILE = 96;

/** Enlarge an RGB tile by an integer factor, nearest neighbour. */
function upscaleNearest(t: Uint8Array, size: number, k: number): Uint8Array {
  const big = size * k;
  const out = new Uint8Array(big * big * 3);
  for (let y = 0; y < big; y++) {
    const sy = Math.floor(y / k);
    for (let x = 0; x < big; x++) {
      const s = (sy * size + Math.floor(x / k)) * 3;
      const o = (y * big + x) * 3;
      out[o] = t[s];
      out[o + 1] = t[s + 1];
      out[o + 2] = t[s + 2];
    }
  }
  return out;
}

/** The seven tiles (RGB bytes, size×size) of each image for one direction. */
function directionTiles(forward: Generator, backward: Generator, x: Float32Array, n: number, size: number): Uint8Array[][] {
  const per = size * size * 3;
  const res = tf.tidy(() => {
    const input = tf.tensor4d(x, [n, size, size, 3]);
    const eval_ = { training: false };
    const ident = backward.apply(input, eval_);
    const fwd = forward.apply(input, eval_);
    const cyc = backward.apply(fwd.image, eval_);
    return [ident.heatmap, ident.image, fwd.heatmap, fwd.image, cyc.heatmap, cyc.image];
  });
  const [hI, iI, hF, iF, hC, iC] = res.map((t) => ({ data: t.dataSync() as Float32Array, shape: t.shape }));
  res.forEach((t) => t.dispose());
  const columns: Uint8Array[][] = [];
  for (let k = 0; k < n; k++) {
    const img = (src: Float32Array) => {
      const u = new Uint8Array(per);
      denormalizeToUint8(src, u, k * per, per);
      return u;
    };
    const heat = (t: { data: Float32Array; shape: number[] }) => {
      const [, hh, hw] = t.shape;
      return heatmapTile(t.data.subarray(k * hh * hw, (k + 1) * hh * hw), hh, hw, size);
    };
    columns.push([img(x), heat(hI), img(iI.data), heat(hF), img(iF.data), heat(hC), img(iC.data)]);
  }
  return columns;
}

/**
 * Render the grid for `a` (n_a images of domain A) and `b` (n_b of domain B), NHWC in [-1, 1],
 * as a PNG with row captions and block titles.
 */
export async function renderSampleGrid(
  gens: { genA2B: Generator; genB2A: Generator },
  a: Float32Array,
  b: Float32Array,
  size: number,
  caption = '',
): Promise<Buffer> {
  const per = size * size * 3;
  const nA = a.length / per;
  const nB = b.length / per;
  // small training sizes are shown enlarged (nearest neighbour) so the tiles stay legible
  const zoom = Math.max(1, Math.ceil(MIN_TILE / size));
  const enlarge = (t: Uint8Array) => (zoom === 1 ? t : upscaleNearest(t, size, zoom));
  const left = directionTiles(gens.genA2B, gens.genB2A, a, nA, size).map((c) => c.map(enlarge));
  const right = directionTiles(gens.genB2A, gens.genA2B, b, nB, size).map((c) => c.map(enlarge));
  size *= zoom;
  const labelW = 130;
  const headerH = 26;
  const gap = 12;
  const width = labelW + nA * size + gap + nB * size;
  const height = headerH + SAMPLE_ROWS.length * size;
  const canvas = new Uint8Array(width * height * 3).fill(255);
  const blit = (tile: Uint8Array, x0: number, y0: number) => {
    for (let y = 0; y < size; y++) canvas.set(tile.subarray(y * size * 3, (y + 1) * size * 3), ((y0 + y) * width + x0) * 3);
  };
  left.forEach((col, k) => col.forEach((tile, r) => blit(tile, labelW + k * size, headerH + r * size)));
  right.forEach((col, k) => col.forEach((tile, r) => blit(tile, labelW + nA * size + gap + k * size, headerH + r * size)));
  const raw: RawImage = { data: canvas, width, height, channels: 3 };
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const font = `font-family="DejaVu Sans" font-size="13" fill="#222"`;
  const texts = [
    `<text x="6" y="18" ${font} font-weight="bold">${esc(caption)}</text>`,
    `<text x="${labelW + 4}" y="18" ${font} font-weight="bold">A→B</text>`,
    `<text x="${labelW + nA * size + gap + 4}" y="18" ${font} font-weight="bold">B→A</text>`,
    ...SAMPLE_ROWS.map((r, i) => `<text x="${labelW - 6}" y="${headerH + i * size + size / 2 + 4}" text-anchor="end" ${font}>${esc(r)}</text>`),
  ];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${texts.join('')}</svg>`;
  return pngWithSvgOverlay(raw, svg);
}
