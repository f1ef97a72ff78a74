/**
 * The photo output's building blocks on synthetic pictures whose face position is known: the crop
 * geometry and its inverse, the aligned (eye-levelled) crop, and the feathered paste-back.
 */
import { describe, expect, it } from 'vitest';
import { alignedGeometry, cropToImage, eyeLineAngle, geometryOfRect, imageToCrop, warpCrop } from '../../src/inference/face-align.ts';
import type { RawImage } from '../../src/media/media.ts';
import { cappedSize, featherWeight, pasteFaces } from '../../src/inference/paste-back.ts';

/** Deterministic noise picture (a smooth gradient plus a per-pixel pattern), so every byte is distinctive. */
function noisePicture(width: number, height: number): RawImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = 3 * (y * width + x);
      data[o] = (x * 7 + y * 3) % 256;
      data[o + 1] = (x * 13 + y * 29) % 256;
      data[o + 2] = (x ^ y) & 0xff;
    }
  }
  return { data, width, height, channels: 3 };
}

/** A smooth picture (bilinear sampling reproduces it closely). */
function smoothPicture(width: number, height: number): RawImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = 3 * (y * width + x);
      data[o] = Math.round((255 * x) / (width - 1));
      data[o + 1] = Math.round((255 * y) / (height - 1));
      data[o + 2] = 128;
    }
  }
  return { data, width, height, channels: 3 };
}

function solid(side: number, rgb: [number, number, number]): RawImage {
  const data = Buffer.alloc(side * side * 3);
  for (let i = 0; i < side * side; i++) data.set(rgb, 3 * i);
  return { data, width: side, height: side, channels: 3 };
}

const px = (img: RawImage, x: number, y: number) => [...img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3)];

describe('crop geometry', () => {
  it('maps crop coordinates to the picture and back (turned by 25°)', () => {
    const g = { cx: 120.5, cy: 80.25, side: 64, angle: (25 * Math.PI) / 180 };
    for (const [u, v] of [
      [0, 0],
      [64, 0],
      [10.5, 40.25],
      [32, 32],
    ]) {
      const p = cropToImage(g, u, v);
      const back = imageToCrop(g, p.x, p.y);
      expect(back.u).toBeCloseTo(u, 9);
      expect(back.v).toBeCloseTo(v, 9);
    }
    expect(cropToImage(g, 32, 32)).toEqual({ x: 120.5, y: 80.25 }); // the centre stays put
  });

  it('cuts an axis-aligned crop as an exact copy of the pixels', () => {
    const pic = noisePicture(90, 70);
    const rect = { left: 17, top: 9, width: 40, height: 40 };
    const sut = warpCrop(pic, geometryOfRect(rect));
    expect([sut.width, sut.height]).toEqual([40, 40]);
    for (const [u, v] of [
      [0, 0],
      [39, 39],
      [12, 31],
    ]) {
      expect(px(sut, u, v)).toEqual(px(pic, rect.left + u, rect.top + v));
    }
  });
});

describe('eye-line alignment', () => {
  const box = { x: 40, y: 40, width: 60, height: 60, score: 0.9 };

  it('reads the eye-line angle from the first two key points', () => {
    const eyes = (dy: number) => ({ ...box, keypoints: [{ x: 55, y: 60 }, { x: 85, y: 60 + dy }] });
    expect(eyeLineAngle(eyes(0))).toBe(0);
    expect(eyeLineAngle(eyes(30))).toBeCloseTo(Math.PI / 4, 9);
    expect(eyeLineAngle(eyes(-10))).toBeCloseTo(Math.atan2(-10, 30), 9);
    expect(eyeLineAngle(eyes(40))).toBeNull(); // past 45°: a detector mistake, not a tilted head
    expect(eyeLineAngle(box)).toBeNull();
  });

  it('turns the box crop about its centre; without key points it is the box crop', () => {
    const rect = { left: 25, top: 25, width: 90, height: 90 };
    const tilted = alignedGeometry({ ...box, keypoints: [{ x: 55, y: 60 }, { x: 85, y: 70 }] }, rect);
    expect(tilted).toMatchObject({ cx: 70, cy: 70, side: 90 });
    expect(tilted.angle).toBeCloseTo(Math.atan2(10, 30), 9);
    expect(alignedGeometry(box, rect)).toEqual(geometryOfRect(rect));
  });

  it('levels a tilted eye line: two dots on a 20° line land on one row of the aligned crop', () => {
    const pic = solid(200, [255, 255, 255]);
    const pic2: RawImage = { ...pic, width: 200, height: 200 };
    const angle = (20 * Math.PI) / 180;
    const c = { x: 100, y: 100 };
    const eyes = [-30, 30].map((d) => ({ x: c.x + d * Math.cos(angle), y: c.y + d * Math.sin(angle) }));
    for (const e of eyes) {
      for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) pic2.data.set([0, 0, 0], 3 * ((Math.round(e.y) + dy) * 200 + Math.round(e.x) + dx));
    }
    const g = alignedGeometry({ x: 60, y: 60, width: 80, height: 80, score: 1, keypoints: eyes }, { left: 40, top: 40, width: 120, height: 120 });
    const crop = warpCrop(pic2, g);
    // darkest rows of the left and right halves
    const darkRow = (x0: number, x1: number): number => {
      let best = -1;
      let bestSum = Infinity;
      for (let y = 0; y < crop.height; y++) {
        let sum = 0;
        for (let x = x0; x < x1; x++) sum += crop.data[3 * (y * crop.width + x)];
        if (sum < bestSum) [best, bestSum] = [y, sum];
      }
      return best;
    };
    expect(Math.abs(darkRow(0, 60) - darkRow(60, 120))).toBeLessThanOrEqual(1);
    expect(darkRow(0, 60)).toBeGreaterThanOrEqual(58);
    expect(darkRow(0, 60)).toBeLessThanOrEqual(61);
  });
});

describe('featherWeight', () => {
  it('is 0 on and outside the border, 1 past the feather, and rises smoothly between', () => {
    expect(featherWeight(0, 50, 100)).toBe(0);
    expect(featherWeight(-1, 50, 100)).toBe(0);
    expect(featherWeight(100, 50, 100)).toBe(0);
    expect(featherWeight(50, 50, 100)).toBe(1);
    expect(featherWeight(12, 50, 100)).toBe(1);
    const w = [1, 3, 6, 9, 11].map((d) => featherWeight(d, 50, 100));
    for (let i = 1; i < w.length; i++) expect(w[i]).toBeGreaterThan(w[i - 1]);
    expect(featherWeight(6, 50, 100)).toBeCloseTo(0.5, 6);
  });
});

describe('pasteFaces', () => {
  it('blends the face into its square and leaves every other pixel byte-identical', () => {
    const photo = noisePicture(200, 150);
    const before = Buffer.from(photo.data);
    const rect = { left: 60, top: 30, width: 80, height: 80 };
    const sut = pasteFaces(photo, [{ geometry: geometryOfRect(rect), face: solid(80, [250, 10, 10]) }]);
    expect(Buffer.compare(photo.data, before)).toBe(0); // the input is not modified
    expect([sut.width, sut.height]).toEqual([200, 150]);
    let changedOutside = 0;
    let changedInside = 0;
    for (let y = 0; y < 150; y++) {
      for (let x = 0; x < 200; x++) {
        const inside = x >= rect.left && x < rect.left + rect.width && y >= rect.top && y < rect.top + rect.height;
        const same = px(sut, x, y).join() === px(photo, x, y).join();
        if (!inside && !same) changedOutside++;
        if (inside && !same) changedInside++;
      }
    }
    expect(changedOutside).toBe(0);
    expect(changedInside).toBeGreaterThan(0.8 * 80 * 80);
    expect(px(sut, 100, 70)).toEqual([250, 10, 10]); // the middle is the face
    expect(px(sut, 61, 70)[0]).toBeLessThan(250); // the border is feathered
  });

  it('pastes a face given at another resolution (the generator size) scaled to the crop', () => {
    const photo = noisePicture(120, 120);
    const sut = pasteFaces(photo, [{ geometry: geometryOfRect({ left: 20, top: 20, width: 80, height: 80 }), face: solid(16, [0, 200, 0]) }]);
    expect(px(sut, 60, 60)).toEqual([0, 200, 0]);
    expect(px(sut, 10, 10)).toEqual(px(photo, 10, 10));
  });

  it('inverts a turned (aligned) crop: pasting the untouched crop back reproduces the picture, outside is unchanged', () => {
    const photo = smoothPicture(160, 120);
    const g = { cx: 80, cy: 60, side: 70, angle: (17 * Math.PI) / 180 };
    const crop = warpCrop(photo, g);
    const sut = pasteFaces(photo, [{ geometry: g, face: crop }]);
    let maxDiff = 0;
    let changedFar = 0;
    for (let y = 0; y < 120; y++) {
      for (let x = 0; x < 160; x++) {
        const { u, v } = imageToCrop(g, x + 0.5, y + 0.5);
        const a = px(sut, x, y);
        const b = px(photo, x, y);
        const diff = Math.max(...a.map((c, i) => Math.abs(c - b[i])));
        if (u >= 0 && u <= 70 && v >= 0 && v <= 70) maxDiff = Math.max(maxDiff, diff);
        else if (diff !== 0) changedFar++;
      }
    }
    expect(changedFar).toBe(0);
    expect(maxDiff).toBeLessThanOrEqual(2); // two bilinear resamplings of a smooth gradient
  });

  it('lands a turned face where the face was: the blended region is centred on the crop centre', () => {
    const photo = noisePicture(300, 200);
    const g = { cx: 190, cy: 90, side: 60, angle: (-12 * Math.PI) / 180 };
    const sut = pasteFaces(photo, [{ geometry: g, face: solid(60, [1, 2, 3]) }]);
    let sx = 0;
    let sy = 0;
    let n = 0;
    for (let y = 0; y < 200; y++) {
      for (let x = 0; x < 300; x++) {
        if (px(sut, x, y).join() === '1,2,3') {
          sx += x + 0.5;
          sy += y + 0.5;
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(0.5 * 60 * 60);
    expect(sx / n).toBeCloseTo(190, 0);
    expect(sy / n).toBeCloseTo(90, 0);
  });

  it('refuses a face that is not square', () => {
    const photo = noisePicture(50, 50);
    expect(() => pasteFaces(photo, [{ geometry: geometryOfRect({ left: 0, top: 0, width: 20, height: 20 }), face: { ...solid(20, [0, 0, 0]), width: 10, height: 40 } }])).toThrow(
      /must be square, got 10×40/,
    );
  });
});

describe('cappedSize', () => {
  it('keeps the picture size up to the cap and scales the longer side down to it', () => {
    expect(cappedSize(1200, 800, 2048)).toEqual({ width: 1200, height: 800 });
    expect(cappedSize(4000, 3000, 2048)).toEqual({ width: 2048, height: 1536 });
  });
});
