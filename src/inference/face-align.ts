/**
 * Crop geometry shared by the crop and the paste-back: a square of `side` pixels centred on
 * (`cx`, `cy`) in image pixels, turned by `angle` radians. `angle = 0` is today's box crop (the
 * square of {@link squareCrop}); an aligned crop turns the square so the eye line (BlazeFace's first
 * two key points) is level in the crop. The paste-back ({@link ./paste-back.ts}) inverts exactly the
 * same transform, so the translated face lands where the face was.
 *
 * The warp is written here in plain TypeScript (bilinear sampling, edge pixels repeated outside the
 * picture) rather than with sharp's `affine`, because the paste-back needs the exact inverse of the
 * crop's pixel mapping, pixel centre by pixel centre; sharp's affine output grid and interpolator
 * offsets are not documented to that precision.
 */
import type { Detection } from './face-box.ts';
import type { RawImage, Rect } from '../media/media.ts';

/** A square crop of the picture, possibly turned: image point = centre + R(angle)·(u − side/2, v − side/2). */
export interface CropGeometry {
  cx: number;
  cy: number;
  side: number;
  /** Radians, counter-clockwise in image coordinates (y down): the crop's x axis points along (cos, sin). */
  angle: number;
}

/** The geometry of an axis-aligned square rectangle (angle 0). */
export function geometryOfRect(rect: Rect): CropGeometry {
  return { cx: rect.left + rect.width / 2, cy: rect.top + rect.height / 2, side: rect.width, angle: 0 };
}

/**
 * Angle of the eye line from BlazeFace's key points (0 = right eye, 1 = left eye of the person, so the
 * first is on the image's left in a frontal photo), or null when the detection has no key points.
 * Angles beyond ±45° are not a tilted head but a detector mistake; they return null (box crop).
 */
export function eyeLineAngle(det: Detection): number | null {
  const k = det.keypoints;
  if (!k || k.length < 2) return null;
  const [a, b] = k;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  if (Math.hypot(dx, dy) < 1) return null;
  const angle = Math.atan2(dy, dx);
  return Math.abs(angle) <= Math.PI / 4 ? angle : null;
}

/** The aligned crop: the box crop's centre and side, turned to level the eye line (box crop when no key points). */
export function alignedGeometry(det: Detection, boxRect: Rect): CropGeometry {
  const g = geometryOfRect(boxRect);
  const angle = eyeLineAngle(det);
  return angle === null ? g : { ...g, angle };
}

/** Map a crop coordinate (u, v) in [0, side] to image coordinates. */
export function cropToImage(g: CropGeometry, u: number, v: number): { x: number; y: number } {
  const c = Math.cos(g.angle);
  const s = Math.sin(g.angle);
  const du = u - g.side / 2;
  const dv = v - g.side / 2;
  return { x: g.cx + c * du - s * dv, y: g.cy + s * du + c * dv };
}

/** Map an image coordinate to crop coordinates (the inverse of {@link cropToImage}). */
export function imageToCrop(g: CropGeometry, x: number, y: number): { u: number; v: number } {
  const c = Math.cos(g.angle);
  const s = Math.sin(g.angle);
  const dx = x - g.cx;
  const dy = y - g.cy;
  return { u: c * dx + s * dy + g.side / 2, v: -s * dx + c * dy + g.side / 2 };
}

/** The integer pixel rectangle of the image that the crop covers (clipped to the image). */
export function coveredRect(g: CropGeometry, width: number, height: number): Rect {
  const corners = [cropToImage(g, 0, 0), cropToImage(g, g.side, 0), cropToImage(g, 0, g.side), cropToImage(g, g.side, g.side)];
  const x0 = Math.max(0, Math.floor(Math.min(...corners.map((p) => p.x))));
  const y0 = Math.max(0, Math.floor(Math.min(...corners.map((p) => p.y))));
  const x1 = Math.min(width, Math.ceil(Math.max(...corners.map((p) => p.x))));
  const y1 = Math.min(height, Math.ceil(Math.max(...corners.map((p) => p.y))));
  return { left: x0, top: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/**
 * Bilinear sample of an RGB image at continuous pixel coordinates (pixel centres at i + 0.5), edge
 * pixels repeated outside. Writes 3 bytes into `out` at `o`.
 */
export function sampleBilinear(img: RawImage, x: number, y: number, out: Uint8Array | Float64Array, o: number): void {
  const fx = Math.min(Math.max(x - 0.5, 0), img.width - 1);
  const fy = Math.min(Math.max(y - 0.5, 0), img.height - 1);
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(x0 + 1, img.width - 1);
  const y1 = Math.min(y0 + 1, img.height - 1);
  const ax = fx - x0;
  const ay = fy - y0;
  const d = img.data;
  const i00 = 3 * (y0 * img.width + x0);
  const i10 = 3 * (y0 * img.width + x1);
  const i01 = 3 * (y1 * img.width + x0);
  const i11 = 3 * (y1 * img.width + x1);
  for (let c = 0; c < 3; c++) {
    const top = d[i00 + c] + (d[i10 + c] - d[i00 + c]) * ax;
    const bottom = d[i01 + c] + (d[i11 + c] - d[i01 + c]) * ax;
    out[o + c] = top + (bottom - top) * ay;
  }
}

/**
 * Cut the (possibly turned) square out of the picture at its own resolution (side × side). An
 * axis-aligned crop inside the picture is an exact copy of the pixels; resize the result afterwards.
 */
export function warpCrop(img: RawImage, g: CropGeometry): RawImage {
  const side = Math.max(1, Math.round(g.side));
  const out = Buffer.alloc(side * side * 3);
  const px = new Float64Array(3);
  for (let v = 0; v < side; v++) {
    for (let u = 0; u < side; u++) {
      const p = cropToImage(g, u + 0.5, v + 0.5);
      sampleBilinear(img, p.x, p.y, px, 0);
      const o = 3 * (v * side + u);
      out[o] = Math.round(px[0]);
      out[o + 1] = Math.round(px[1]);
      out[o + 2] = Math.round(px[2]);
    }
  }
  return { data: out, width: side, height: side, channels: 3 };
}
