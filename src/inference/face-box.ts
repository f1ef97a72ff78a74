/**
 * Face boxes: intersection-over-union, weighted non-maximum suppression, and the square crop that
 * matches the training data (a square around the face, expanded by a margin, clamped to the image).
 */
import type { Rect } from '../media/media.ts';

/** A detection in image pixels. */
export interface Detection {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

/** Intersection over union of two boxes (0 when either is empty). */
export function iou(a: Detection, b: Detection): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Weighted non-maximum suppression (as MediaPipe does for BlazeFace): take the best remaining box,
 * average every box overlapping it by at least `iouThreshold` weighted by score, keep the best score.
 * Returns boxes by descending score.
 */
export function weightedNms(dets: readonly Detection[], iouThreshold = 0.3): Detection[] {
  const rest = [...dets].sort((a, b) => b.score - a.score);
  const out: Detection[] = [];
  while (rest.length > 0) {
    const best = rest[0];
    const group: Detection[] = [];
    const keep: Detection[] = [];
    for (const d of rest) (iou(best, d) >= iouThreshold ? group : keep).push(d);
    const total = group.reduce((s, d) => s + d.score, 0);
    const avg = (f: (d: Detection) => number): number => group.reduce((s, d) => s + f(d) * d.score, 0) / total;
    out.push({ x: avg((d) => d.x), y: avg((d) => d.y), width: avg((d) => d.width), height: avg((d) => d.height), score: best.score });
    rest.splice(0, rest.length, ...keep);
  }
  return out;
}

/**
 * The square crop around a face: side = max(w, h)·(1 + margin), centred on the box, shrunk if
 * needed to fit the image, then shifted (not cut) to lie inside it. Integer pixels.
 */
export function squareCrop(box: Detection, imageWidth: number, imageHeight: number, margin: number): Rect {
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const side = Math.round(Math.min(Math.max(box.width, box.height) * (1 + margin), imageWidth, imageHeight));
  const s = Math.max(1, side);
  const left = Math.round(Math.min(Math.max(cx - s / 2, 0), imageWidth - s));
  const top = Math.round(Math.min(Math.max(cy - s / 2, 0), imageHeight - s));
  return { left, top, width: s, height: s };
}

/** The largest centred square of the image. */
export function centerSquare(imageWidth: number, imageHeight: number): Rect {
  const s = Math.min(imageWidth, imageHeight);
  return { left: Math.floor((imageWidth - s) / 2), top: Math.floor((imageHeight - s) / 2), width: s, height: s };
}
