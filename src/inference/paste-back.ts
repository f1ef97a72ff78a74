/**
 * The `photo` output mode: every translated face is warped back into the original picture with the
 * inverse of its crop transform ({@link CropGeometry}) and blended with a feathered mask, so the
 * picture keeps its own size and everything outside the faces is unchanged pixel for pixel.
 *
 * The mask is 1 in the middle of the crop and falls to 0 at its border over `feather · side` pixels
 * (a smoothstep, so no visible seam); pixels where it is 0 are copied untouched, not re-rounded.
 * Written here (not with sharp's composite) because the blend must use the exact inverse mapping of
 * the crop, including a turned (aligned) crop, and must leave unblended pixels byte-identical.
 */
import { type CropGeometry, coveredRect, imageToCrop, sampleBilinear } from './face-align.ts';
import type { RawImage } from '../media/media.ts';

/** Width of the feathered border as a fraction of the crop side. */
export const FEATHER_FRACTION = 0.12;

/** Longest side of a `photo` result; larger pictures are scaled down to it (Discord's upload limit). */
export const PHOTO_MAX_SIDE = 2048;

/** Largest `photo` PNG sent back; a larger one is scaled down until it fits. */
export const PHOTO_MAX_BYTES = 8 * 1024 * 1024;

/** One translated face to paste: its crop geometry and the face at the crop's own resolution (side × side). */
export interface PastedFace {
  geometry: CropGeometry;
  face: RawImage;
}

/** Feather weight of crop point (u, v): 1 inside, a smoothstep to 0 at the border, 0 outside. */
export function featherWeight(u: number, v: number, side: number, feather = FEATHER_FRACTION): number {
  const d = Math.min(u, side - u, v, side - v);
  if (d <= 0) return 0;
  const f = Math.max(1, feather * side);
  if (d >= f) return 1;
  const t = d / f;
  return t * t * (3 - 2 * t);
}

/**
 * Blend the faces into a copy of `photo`, in order (later faces over earlier ones). `photo` is not
 * modified. Pixels outside every crop (and where the mask is 0) keep their exact bytes.
 */
export function pasteFaces(photo: RawImage, faces: readonly PastedFace[], feather = FEATHER_FRACTION): RawImage {
  const out = Buffer.from(photo.data);
  const px = new Float64Array(3);
  for (const { geometry: g, face } of faces) {
    if (face.width !== face.height) throw new Error(`pasteFaces: the face must be square, got ${face.width}×${face.height}`);
    // the face image may be at another resolution than the crop side: scale crop coordinates to it
    const k = face.width / g.side;
    const area = coveredRect(g, photo.width, photo.height);
    for (let y = area.top; y < area.top + area.height; y++) {
      for (let x = area.left; x < area.left + area.width; x++) {
        const { u, v } = imageToCrop(g, x + 0.5, y + 0.5);
        const w = featherWeight(u, v, g.side, feather);
        if (w <= 0) continue;
        sampleBilinear(face, u * k, v * k, px, 0);
        const o = 3 * (y * photo.width + x);
        for (let c = 0; c < 3; c++) {
          const blended = w * px[c] + (1 - w) * out[o + c];
          out[o + c] = blended < 0 ? 0 : blended > 255 ? 255 : Math.round(blended);
        }
      }
    }
  }
  return { data: out, width: photo.width, height: photo.height, channels: 3 };
}

/** The size a `photo` result is sent at: the picture's own, or scaled down so the longer side is at most `maxSide`. */
export function cappedSize(width: number, height: number, maxSide = PHOTO_MAX_SIDE): { width: number; height: number } {
  const longer = Math.max(width, height);
  if (longer <= maxSide) return { width, height };
  const s = maxSide / longer;
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}
