/**
 * Data pipeline: the official dataset layout, the augmentation arithmetic, and the prefetching
 * loader (determinism, value range, unreadable images skipped and counted, empty domains refused).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { augmentParams, cropFlipNormalize, denormalizeToUint8, loadSizeFor, normalizeImage } from '../../src/training/data/augment.ts';
import { manifestHash, scanDataset } from '../../src/training/data/dataset.ts';
import { TrainDataLoader } from '../../src/training/data/loader.ts';
import type { RawImage } from '../../src/media/media.ts';
import { TrainingError } from '../../src/training/training.errors.ts';
import { makeShapesDataset } from './trainer-helpers.ts';

async function expectTrainingError(p: Promise<unknown>, code: string): Promise<TrainingError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TrainingError);
  expect((err as TrainingError).code).toBe(code);
  return err as TrainingError;
}

describe('scanDataset', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'webtoon-scan-'));
    for (const d of ['trainA/sub/deeper', 'trainB', 'testA']) await mkdir(path.join(root, d), { recursive: true });
    for (const f of ['trainA/a.png', 'trainA/sub/b.JPG', 'trainA/sub/deeper/c.jpeg', 'trainA/notes.txt', 'trainB/x.webp', 'testA/t.bmp']) {
      await writeFile(path.join(root, f), 'x');
    }
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('finds images recursively by extension (case-insensitive), relative to the dataset dir, sorted', async () => {
    const sut = await scanDataset(root);
    expect(sut.files.trainA).toEqual(['trainA/a.png', 'trainA/sub/b.JPG', 'trainA/sub/deeper/c.jpeg']);
    expect(sut.files.trainB).toEqual(['trainB/x.webp']);
    expect(sut.files.testA).toEqual(['testA/t.bmp']);
    expect(sut.files.testB).toEqual([]);
  });

  it('refuses a dataset without trainB/ with DATA_DIR_INVALID naming the folder', async () => {
    const bad = await mkdtemp(path.join(tmpdir(), 'webtoon-scan-bad-'));
    await mkdir(path.join(bad, 'trainA'));
    const err = await expectTrainingError(scanDataset(bad), 'DATA_DIR_INVALID');
    expect(err.message).toContain('trainB');
    await rm(bad, { recursive: true, force: true });
  });

  it('refuses a dataset dir that does not exist', async () => {
    await expectTrainingError(scanDataset(path.join(root, 'nope')), 'DATA_DIR_INVALID');
  });

  it('gives a manifest hash that changes when a training image changes', async () => {
    const ds = await scanDataset(root);
    const before = await manifestHash(ds);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    await writeFile(path.join(root, 'trainB/x.webp'), 'xyz');
    expect(await manifestHash(ds)).not.toBe(before);
  });
});

describe('augment', () => {
  // a 4×3 RGB image whose pixel (x, y) has R = 10·x, G = 10·y, B = 200
  const w = 4;
  const h = 3;
  const img: RawImage = { width: w, height: h, channels: 3, data: new Uint8Array(w * h * 3) };
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data.set([10 * x, 10 * y, 200], (y * w + x) * 3);

  it('crops at (left, top) and scales pixels p to p/127.5 − 1', () => {
    const out = new Float32Array(2 * 2 * 3);
    cropFlipNormalize(img, 2, { flip: false, left: 1, top: 1 }, out);
    // top-left of the crop is source (1, 1)
    expect(out[0]).toBeCloseTo(10 / 127.5 - 1, 6);
    expect(out[1]).toBeCloseTo(10 / 127.5 - 1, 6);
    expect(out[2]).toBeCloseTo(200 / 127.5 - 1, 6);
    // top-right is source (2, 1)
    expect(out[3]).toBeCloseTo(20 / 127.5 - 1, 6);
  });

  it('places the crop window on the mirrored image when flipping', () => {
    const out = new Float32Array(2 * 2 * 3);
    cropFlipNormalize(img, 2, { flip: true, left: 0, top: 0 }, out);
    // mirrored row 0 is x = 3, 2, 1, 0 → the crop starts at source x = 3
    expect(out[0]).toBeCloseTo(30 / 127.5 - 1, 6);
    expect(out[3]).toBeCloseTo(20 / 127.5 - 1, 6);
  });

  it('refuses a crop that does not fit', () => {
    expect(() => cropFlipNormalize(img, 3, { flip: false, left: 2, top: 0 }, new Float32Array(27))).toThrow(RangeError);
  });

  it('round-trips normalisation and denormalisation exactly on 8-bit values', () => {
    const f = new Float32Array(w * h * 3);
    normalizeImage(img, f);
    const back = new Uint8Array(f.length);
    denormalizeToUint8(f, back);
    expect([...back]).toEqual([...img.data]);
  });

  it('draws flip and crop deterministically from (seed, domain, draw), within the resized image', () => {
    const loadSize = loadSizeFor(32);
    expect(loadSize).toBe(62);
    const a = augmentParams(7, 0, 12, loadSize, 32);
    expect(augmentParams(7, 0, 12, loadSize, 32)).toEqual(a);
    const seen = new Set<string>();
    let flips = 0;
    for (let d = 0; d < 400; d++) {
      const p = augmentParams(7, 1, d, loadSize, 32);
      expect(p.left).toBeGreaterThanOrEqual(0);
      expect(p.left).toBeLessThanOrEqual(30);
      expect(p.top).toBeLessThanOrEqual(30);
      if (p.flip) flips++;
      seen.add(`${p.left},${p.top}`);
    }
    expect(flips).toBeGreaterThan(150);
    expect(flips).toBeLessThan(250);
    expect(seen.size).toBeGreaterThan(200);
  });
});

describe('TrainDataLoader', () => {
  let root: string;
  beforeAll(async () => {
    root = await makeShapesDataset({ n: 6, nTest: 2, size: 40 });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('yields batches of NHWC floats in [-1, 1] with the official augmentation', async () => {
    const sut = await TrainDataLoader.create({ dataset: await scanDataset(root), imgSize: 32, batch: 2, seed: 3 });
    const b = await sut.batch(0);
    expect(b.a.length).toBe(2 * 32 * 32 * 3);
    expect(b.b.length).toBe(2 * 32 * 32 * 3);
    expect(b.pathsA).toHaveLength(2);
    expect(b.pathsB.every((p) => p.startsWith('trainB/'))).toBe(true);
    for (const v of [...b.a, ...b.b]) {
      expect(v).toBeGreaterThanOrEqual(-1);
      expect(v).toBeLessThanOrEqual(1);
    }
  });

  it('draws every image once per epoch in a seeded order and reproduces it regardless of prefetching', async () => {
    const ds = await scanDataset(root);
    const sut = await TrainDataLoader.create({ dataset: ds, imgSize: 32, batch: 1, seed: 5, prefetch: 4 });
    const other = await TrainDataLoader.create({ dataset: ds, imgSize: 32, batch: 1, seed: 5, prefetch: 0 });
    const epoch: string[] = [];
    for (let s = 0; s < 6; s++) {
      const [x, y] = [await sut.batch(s), await other.batch(s)];
      expect(x.pathsA).toEqual(y.pathsA);
      expect(Buffer.from(x.a.buffer).equals(Buffer.from(y.a.buffer))).toBe(true);
      epoch.push(x.pathsA[0]);
    }
    expect([...epoch].sort()).toEqual(ds.files.trainA);
    const reseeded = await TrainDataLoader.create({ dataset: ds, imgSize: 32, batch: 1, seed: 6 });
    const order6: string[] = [];
    for (let s = 0; s < 6; s++) order6.push((await reseeded.batch(s)).pathsA[0]);
    expect(order6).not.toEqual(epoch);
  });

  it('resizes without cropping when augmentation is off', async () => {
    const sut = await TrainDataLoader.create({ dataset: await scanDataset(root), imgSize: 32, batch: 1, seed: 1, augment: false });
    const b = await sut.batch(0);
    const ref = await sharp(path.join(root, b.pathsA[0])).resize(32, 32, { fit: 'fill', kernel: 'linear' }).removeAlpha().raw().toBuffer();
    const back = new Uint8Array(ref.length);
    denormalizeToUint8(b.a, back);
    expect(Buffer.from(back).equals(ref)).toBe(true);
  });

  it('gives fixed sample images from testA/testB in sorted order', async () => {
    const sut = await TrainDataLoader.create({ dataset: await scanDataset(root), imgSize: 32, batch: 1, seed: 1 });
    const fixed = await sut.fixedImages('B', 5);
    expect(fixed.paths).toEqual(['testB/img_000.png', 'testB/img_001.png']);
    expect(fixed.data.length).toBe(2 * 32 * 32 * 3);
  });

  it('skips unreadable images with a counted warning and never yields them', async () => {
    const dir = await makeShapesDataset({ n: 3, nTest: 0, size: 40 });
    await writeFile(path.join(dir, 'trainA/broken.png'), 'not a png at all');
    const good = await sharp(path.join(dir, 'trainA/img_000.png')).png().toBuffer();
    await writeFile(path.join(dir, 'trainA/truncated.png'), good.subarray(0, Math.floor(good.length / 2)));
    const warnings: unknown[] = [];
    const log = { warn: (o: unknown) => warnings.push(o) } as unknown as import('pino').Logger;
    const sut = await TrainDataLoader.create({ dataset: await scanDataset(dir), imgSize: 32, batch: 1, seed: 2, log });
    const used = new Set<string>();
    for (let s = 0; s < 12; s++) used.add((await sut.batch(s)).pathsA[0]);
    expect(used.has('trainA/broken.png')).toBe(false);
    expect(used.has('trainA/truncated.png')).toBe(false);
    expect(sut.skipped.has('trainA/broken.png')).toBe(true);
    expect(warnings.length).toBe(sut.skipped.size);
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    await rm(dir, { recursive: true, force: true });
  });

  it('fails with DOMAIN_EMPTY when a domain has no usable image', async () => {
    const dir = await makeShapesDataset({ n: 2, nTest: 0, size: 40 });
    await rm(path.join(dir, 'trainB'), { recursive: true });
    await mkdir(path.join(dir, 'trainB'));
    await writeFile(path.join(dir, 'trainB/fake.jpg'), 'garbage');
    const err = await expectTrainingError(TrainDataLoader.create({ dataset: await scanDataset(dir), imgSize: 32, batch: 1, seed: 1 }), 'DOMAIN_EMPTY');
    expect(err.message).toMatch(/domain B has no usable image/);
    await rm(dir, { recursive: true, force: true });
  });
});
