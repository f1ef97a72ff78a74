import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnimeFaceDetector } from '../../src/inference/anime.detector.ts';
import { ANCHOR_COUNT, BlazeFaceDetector, decodeDetections, generateAnchors, sigmoid } from '../../src/inference/blazeface.detector.ts';
import { centerSquare, iou, squareCrop, weightedNms } from '../../src/inference/face-box.ts';
import { decodeUnchecked, type RawImage } from '../../src/media/media.ts';
import { astronautPng, cameraPath, cascadePath, fixturesDir, noFaceImage } from './sample-images.ts';
import path from 'node:path';
import { readFileSync } from 'node:fs';

const animeSvg = path.join(fixturesDir, 'anime-face.svg');

describe('generateAnchors', () => {
  it('lays 16×16×2 then 8×8×6 anchor centres, row-major, cell anchors together', () => {
    const a = generateAnchors();
    expect(ANCHOR_COUNT).toBe(896);
    expect(a.length).toBe(896 * 2);
    expect([a[0], a[1], a[2], a[3]]).toEqual([0.5 / 16, 0.5 / 16, 0.5 / 16, 0.5 / 16]); // cell (0,0), 2 anchors
    expect([a[4], a[5]]).toEqual([1.5 / 16, 0.5 / 16]); // cell (1,0)
    expect([a[2 * 32], a[2 * 32 + 1]]).toEqual([0.5 / 16, 1.5 / 16]); // first anchor of row 1
    expect([a[2 * 512], a[2 * 512 + 1]]).toEqual([0.5 / 8, 0.5 / 8]); // first anchor of the 8×8 grid
    expect([a[2 * 895], a[2 * 895 + 1]]).toEqual([7.5 / 8, 7.5 / 8]);
  });
});

describe('sigmoid', () => {
  it('maps 0 to 0.5 and saturates without overflow', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(1000)).toBeCloseTo(1, 10);
    expect(sigmoid(-1000)).toBeGreaterThanOrEqual(0);
  });
});

describe('decodeDetections', () => {
  it('decodes anchor offsets in input pixels into a [0,1] box and drops low scores', () => {
    const scores = new Float32Array(896).fill(-10);
    const boxes = new Float32Array(896 * 16);
    scores[0] = 3; // anchor (0.5/16, 0.5/16)
    boxes.set([16, 32, 64, 128], 0); // dx, dy, w, h in pixels of a 256 input
    const [d, ...rest] = decodeDetections(scores, boxes, 256, 0.5);
    expect(rest).toHaveLength(0);
    const cx = 0.5 / 16 + 16 / 256;
    const cy = 0.5 / 16 + 32 / 256;
    expect(d.x).toBeCloseTo(cx - 0.125, 6);
    expect(d.y).toBeCloseTo(cy - 0.25, 6);
    expect(d.width).toBeCloseTo(0.25, 6);
    expect(d.height).toBeCloseTo(0.5, 6);
    expect(d.score).toBeCloseTo(sigmoid(3), 6);
  });
});

describe('weightedNms', () => {
  it('merges overlapping boxes into their score-weighted mean and keeps separate faces apart', () => {
    const sut = weightedNms([
      { x: 0, y: 0, width: 10, height: 10, score: 0.9 },
      { x: 2, y: 0, width: 10, height: 10, score: 0.6 },
      { x: 50, y: 50, width: 10, height: 10, score: 0.8 },
    ]);
    expect(sut).toHaveLength(2);
    expect(sut[0].score).toBe(0.9);
    expect(sut[0].x).toBeCloseTo((0 * 0.9 + 2 * 0.6) / 1.5, 6);
    expect(sut[1]).toMatchObject({ x: 50, y: 50, score: 0.8 });
  });

  it('computes IoU', () => {
    expect(iou({ x: 0, y: 0, width: 10, height: 10, score: 1 }, { x: 5, y: 0, width: 10, height: 10, score: 1 })).toBeCloseTo(50 / 150, 6);
    expect(iou({ x: 0, y: 0, width: 1, height: 1, score: 1 }, { x: 5, y: 5, width: 1, height: 1, score: 1 })).toBe(0);
  });
});

describe('squareCrop', () => {
  it('expands a face box by the margin into a centred square', () => {
    expect(squareCrop({ x: 100, y: 100, width: 100, height: 80, score: 1 }, 1000, 1000, 0.5)).toEqual({ left: 75, top: 65, width: 150, height: 150 });
  });

  it('shifts the square inside the image at the border and shrinks it when the image is too small', () => {
    expect(squareCrop({ x: 0, y: 0, width: 100, height: 100, score: 1 }, 1000, 1000, 0.5)).toEqual({ left: 0, top: 0, width: 150, height: 150 });
    expect(squareCrop({ x: 900, y: 10, width: 100, height: 100, score: 1 }, 1000, 1000, 0.5)).toEqual({ left: 850, top: 0, width: 150, height: 150 });
    expect(squareCrop({ x: 10, y: 10, width: 100, height: 100, score: 1 }, 200, 120, 1)).toEqual({ left: 0, top: 0, width: 120, height: 120 });
  });
});

describe('centerSquare', () => {
  it('is the largest centred square', () => {
    expect(centerSquare(400, 300)).toEqual({ left: 50, top: 0, width: 300, height: 300 });
    expect(centerSquare(300, 401)).toEqual({ left: 0, top: 50, width: 300, height: 300 });
  });
});

describe('BlazeFaceDetector', () => {
  let sut: BlazeFaceDetector;
  let astronaut: RawImage;
  beforeAll(async () => {
    sut = await BlazeFaceDetector.create({ devices: ['cpu'], threads: 1 });
    astronaut = await decodeUnchecked(astronautPng());
  });
  afterAll(() => sut.dispose());

  describe('detect', () => {
    it('finds exactly one face on astronaut.png, on her face (checked by eye once: a crop of this box shows the face)', async () => {
      const faces = await sut.detect(astronaut);
      expect(faces).toHaveLength(1);
      const [f] = faces;
      expect(f.score).toBeGreaterThan(0.8);
      // Her face is centred near (225, 125) and about 100 px wide in the 512² image.
      expect(f.x + f.width / 2).toBeGreaterThan(195);
      expect(f.x + f.width / 2).toBeLessThan(255);
      expect(f.y + f.height / 2).toBeGreaterThan(95);
      expect(f.y + f.height / 2).toBeLessThan(155);
      expect(f.width).toBeGreaterThan(70);
      expect(f.width).toBeLessThan(150);
    });

    it('finds the face wherever it is: astronaut padded into a wide canvas maps back to image pixels', async () => {
      const wide = await decodeUnchecked(
        await sharp(astronautPng()).extend({ left: 600, right: 100, top: 0, bottom: 0, background: '#ffffff' }).png().toBuffer(),
      );
      const [f] = await sut.detect(wide);
      const [g] = await sut.detect(astronaut);
      expect(Math.abs(f.x - 600 - g.x)).toBeLessThan(15);
      expect(Math.abs(f.y - g.y)).toBeLessThan(15);
    });

    it('finds the man at an angle in camera.png (one face, upper middle)', async () => {
      const camera = await decodeUnchecked(readFileSync(cameraPath));
      const faces = await sut.detect(camera);
      expect(faces).toHaveLength(1);
      expect(faces[0].x + faces[0].width / 2).toBeGreaterThan(180);
      expect(faces[0].x + faces[0].width / 2).toBeLessThan(260);
      expect(faces[0].y + faces[0].height / 2).toBeLessThan(200);
    });

    it('finds no face in a gradient with shapes', async () => {
      expect(await sut.detect(await decodeUnchecked(await noFaceImage()))).toEqual([]);
    });

    it('finds the drawn anime face too (the fallback webtoon images get)', async () => {
      const drawn = await decodeUnchecked(await sharp(animeSvg).png().toBuffer());
      expect(await sut.detect(drawn)).toHaveLength(1);
    });
  });
});

describe('AnimeFaceDetector', () => {
  let sut: AnimeFaceDetector;
  beforeAll(async () => {
    sut = await AnimeFaceDetector.create(cascadePath);
  });
  afterAll(() => sut.dispose());

  describe('detect', () => {
    it('finds no anime face on a real photo', async () => {
      expect(await sut.detect(await decodeUnchecked(astronautPng()))).toEqual([]);
      expect(await sut.detect(await decodeUnchecked(readFileSync(cameraPath)))).toEqual([]);
    });

    it('finds the drawn anime face at 120 px directly and at 640 px through the downscaled second pass', async () => {
      for (const size of [120, 640]) {
        const drawn = await decodeUnchecked(await sharp(animeSvg).resize(size, size).png().toBuffer());
        const faces = await sut.detect(drawn);
        expect(faces).toHaveLength(1);
        // The face (skin area) spans about 28%–72% horizontally of the drawing.
        const cx = (faces[0].x + faces[0].width / 2) / size;
        expect(cx).toBeGreaterThan(0.4);
        expect(cx).toBeLessThan(0.6);
      }
    });

    it('finds nothing in shapes', async () => {
      expect(await sut.detect(await decodeUnchecked(await noFaceImage()))).toEqual([]);
    });

    it('refuses a missing cascade file', async () => {
      await expect(AnimeFaceDetector.create(path.join(fixturesDir, 'no-such-cascade.xml'))).rejects.toThrow(/ENOENT/);
    });
  });
});
