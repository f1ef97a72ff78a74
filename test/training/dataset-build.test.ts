/**
 * `buildDataset` with the real detectors the worker serves with (BlazeFace in onnxruntime, the
 * anime-face cascade in OpenCV.js) over raw folders made by the test: every face, the serving crop,
 * near-duplicates / small faces / unreadable files counted, re-runs adding only what is new, and
 * refused input leaving nothing behind.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnimeFaceDetector } from '../../src/inference/anime.detector.ts';
import { BlazeFaceDetector } from '../../src/inference/blazeface.detector.ts';
import { squareCrop } from '../../src/inference/face-box.ts';
import { buildDataset, cropFileName, formatBuildSummary, type BuildOptions, type FaceFinder } from '../../src/training/data/dataset-build.ts';
import { DatasetError } from '../../src/training/training.errors.ts';
import { readManifest } from '../../src/training/data/manifest.ts';
import { DEFAULT_DUPLICATE_DISTANCE, hammingDistance } from '../../src/training/data/perceptual-hash.ts';
import { cameraPath, cascadePath } from '../inference/sample-images.ts';
import { PAGES, writeRawPhotos, writeWebtoonPages } from './dataset-fixtures.ts';

let work: string;
let blaze: BlazeFaceDetector;
let anime: AnimeFaceDetector;
let photoFinder: FaceFinder;
let webtoonFinder: FaceFinder;
let rawPhotos: string;
let rawPages: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'webtoon-build-'));
  [blaze, anime, rawPhotos, rawPages] = await Promise.all([
    BlazeFaceDetector.create({ devices: ['cpu'], threads: 1 }),
    AnimeFaceDetector.create(cascadePath),
    writeRawPhotos(path.join(work, 'raw-photos')),
    writeWebtoonPages(path.join(work, 'raw-pages')),
  ]);
  photoFinder = { name: 'blazeface', detect: (img) => blaze.detect(img) };
  webtoonFinder = { name: 'animeface-cascade', detect: (img) => anime.detect(img) };
}, 120_000);

afterAll(async () => {
  await blaze?.dispose();
  await anime?.dispose();
  await rm(work, { recursive: true, force: true });
});

const photoOpts = (outDir: string, extra: Partial<BuildOptions> = {}): BuildOptions => ({
  domain: 'photo',
  inDir: rawPhotos,
  outDir,
  size: 64,
  minFace: 24,
  margin: 0.5,
  duplicateDistance: DEFAULT_DUPLICATE_DISTANCE,
  finder: photoFinder,
  ...extra,
});

async function expectRefused(opts: BuildOptions, code: string, text: RegExp): Promise<void> {
  const err = await buildDataset(opts).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DatasetError);
  expect((err as DatasetError).code).toBe(code);
  expect((err as Error).message).toMatch(text);
  expect((err as Error).message).not.toContain('\n');
}

describe('buildDataset (photos, BlazeFace)', () => {
  let out: string;
  beforeAll(() => {
    out = path.join(work, 'ds', 'trainA');
  });

  it('keeps every face, skips the near-duplicate, the small face and the broken file, counting each', async () => {
    const sut = await buildDataset(photoOpts(out));
    expect(sut.counts).toEqual({ sources: 8, processed: 8, alreadyProcessed: 0, unreadable: 1, noFace: 0, facesFound: 8, added: 6, tooSmall: 1, duplicates: 1 });
    expect(sut.unreadableExamples).toEqual([{ source: 'broken.jpg', reason: 'UNSUPPORTED_FORMAT' }]);
    const entries = await readManifest(path.join(out, 'manifest.jsonl'));
    expect(entries).toHaveLength(6);
    // the group picture gives more than one face: every face, not only the largest
    expect(entries.filter((e) => e.source === 'group.png').length).toBeGreaterThanOrEqual(2);
    // of the original and its JPEG copy exactly one is kept
    expect(entries.filter((e) => e.source.startsWith('24/112/astronaut.') || e.source.startsWith('24/112/astronaut-copy')).length).toBe(1);
    const summary = formatBuildSummary(sut, { outDir: out, minFace: 24, duplicateDistance: DEFAULT_DUPLICATE_DISTANCE });
    expect(summary).toContain('6 faces added (6 in the manifest)');
    expect(summary).toContain('1 unreadable, 0 without a face');
    expect(summary).toContain('1 smaller than 24 px, 1 near-duplicates');
  });

  it('writes size×size PNGs cut with the serving crop (squareCrop of the box with the margin)', async () => {
    const entries = await readManifest(path.join(out, 'manifest.jsonl'));
    for (const e of entries) {
      const meta = await sharp(path.join(out, e.file)).metadata();
      expect([meta.width, meta.height, meta.format]).toEqual([64, 64, 'png']);
      expect(e.detector).toBe('blazeface');
      expect(e.crop.width).toBe(e.crop.height);
      const srcMeta = await sharp(path.join(rawPhotos, e.source)).metadata();
      const expected = squareCrop({ ...e.box, score: e.score }, srcMeta.width!, srcMeta.height!, 0.5);
      // the manifest's box is rounded to 0.1 px: the crop may move by a pixel
      expect(Math.abs(expected.width - e.crop.width)).toBeLessThanOrEqual(1);
      expect(Math.abs(expected.left - e.crop.left)).toBeLessThanOrEqual(1);
      expect(e.file).toBe(cropFileName(e.source, e.sourceSha256, Number(/-f(\d+)\.png$/.exec(e.file)![1])));
    }
    // kept crops are pairwise farther apart than the duplicate threshold
    for (const a of entries) for (const b of entries) if (a !== b) expect(hammingDistance(a.hash, b.hash)).toBeGreaterThan(DEFAULT_DUPLICATE_DISTANCE);
  });

  it('a second run over the same folder processes nothing and changes nothing', async () => {
    const before = readFileSync(path.join(out, 'manifest.jsonl'), 'utf8');
    const sut = await buildDataset(photoOpts(out));
    expect(sut.counts).toMatchObject({ sources: 8, processed: 0, alreadyProcessed: 8, added: 0 });
    expect(readFileSync(path.join(out, 'manifest.jsonl'), 'utf8')).toBe(before);
  });

  it('after new files arrive, only they are processed', async () => {
    await mkdir(path.join(rawPhotos, 'later'), { recursive: true });
    await sharp(cameraPath).resize(300).extend({ top: 40, bottom: 40, left: 120, right: 120, background: '#335577' }).png().toFile(path.join(rawPhotos, 'later', 'camera-framed.png'));
    const sut = await buildDataset(photoOpts(out));
    expect(sut.counts).toMatchObject({ sources: 9, processed: 1, alreadyProcessed: 8 });
    expect(sut.counts.added + sut.counts.duplicates + sut.counts.tooSmall).toBe(sut.counts.facesFound);
    expect(sut.totalEntries).toBe(6 + sut.counts.added);
    await rm(path.join(rawPhotos, 'later'), { recursive: true });
  });

  it('--duplicate-distance -1 keeps near-duplicates', async () => {
    const sut = await buildDataset(photoOpts(path.join(work, 'keep-dups', 'trainA'), { duplicateDistance: -1 }));
    expect(sut.counts).toMatchObject({ added: 7, duplicates: 0 });
  });
});

describe('buildDataset (webtoon pages, anime cascade)', () => {
  it('finds every drawn face of each page and skips the re-saved page and the blank one', async () => {
    const out = path.join(work, 'ds', 'trainB');
    const sut = await buildDataset({ ...photoOpts(out), domain: 'webtoon', inDir: rawPages, finder: webtoonFinder });
    const faces = Object.values(PAGES).flat().length;
    expect(sut.counts).toEqual({ sources: 7, processed: 7, alreadyProcessed: 0, unreadable: 0, noFace: 1, facesFound: faces + 1, added: faces, tooSmall: 0, duplicates: 1 });
    const entries = await readManifest(path.join(out, 'manifest.jsonl'));
    expect(entries.filter((e) => e.source === 'page01.png')).toHaveLength(3);
    expect(entries.every((e) => e.detector === 'animeface-cascade' && e.size === 64)).toBe(true);
  });

  it('--min-face skips faces smaller than the minimum and counts them', async () => {
    const sut = await buildDataset({ ...photoOpts(path.join(work, 'big-only', 'trainB')), domain: 'webtoon', inDir: rawPages, finder: webtoonFinder, minFace: 200 });
    expect(sut.counts).toMatchObject({ added: 0, tooSmall: 8 });
  });
});

describe('buildDataset refuses bad input with one line and writes nothing', () => {
  it('a missing input folder', async () => {
    const out = path.join(work, 'never1', 'trainA');
    await expectRefused(photoOpts(out, { inDir: path.join(work, 'no-such-folder') }), 'INPUT_MISSING', /--in: .*no-such-folder does not exist or is not a folder/);
    expect(existsSync(path.dirname(out))).toBe(false);
  });

  it('a folder without images (an empty domain)', async () => {
    const empty = path.join(work, 'empty-raw');
    await mkdir(empty, { recursive: true });
    await writeFile(path.join(empty, 'readme.txt'), 'no pictures here');
    const out = path.join(work, 'never2', 'trainA');
    await expectRefused(photoOpts(out, { inDir: empty }), 'INPUT_EMPTY', /holds no images/);
    expect(existsSync(path.dirname(out))).toBe(false);
  });

  it('photos aimed at trainB, an output inside the input, a bad size or threshold', async () => {
    await expectRefused(photoOpts(path.join(work, 'never3', 'trainB')), 'OPTION_INVALID', /photo faces go to trainA\/, not trainB\//);
    await expectRefused(photoOpts(path.join(rawPhotos, 'crops')), 'OPTION_INVALID', /lies inside --in/);
    await expectRefused(photoOpts(path.join(work, 'never4', 'trainA'), { size: 8 }), 'OPTION_INVALID', /--size: expected an integer from 16 to 2048, received 8/);
    await expectRefused(photoOpts(path.join(work, 'never4', 'trainA'), { duplicateDistance: 300 }), 'OPTION_INVALID', /--duplicate-distance/);
    expect(existsSync(path.join(work, 'never3'))).toBe(false);
    expect(existsSync(path.join(work, 'never4'))).toBe(false);
    expect(existsSync(path.join(rawPhotos, 'crops'))).toBe(false);
  });

  it('a damaged manifest: named by line, left as it was, no crop written', async () => {
    const out = path.join(work, 'damaged', 'trainA');
    await mkdir(out, { recursive: true });
    await writeFile(path.join(out, 'manifest.jsonl'), '{"file":"x.png"}\n');
    await expectRefused(photoOpts(out), 'MANIFEST_INVALID', /manifest.jsonl line 1: source: /);
    expect(readdirSync(out)).toEqual(['manifest.jsonl']);
    expect(readFileSync(path.join(out, 'manifest.jsonl'), 'utf8')).toBe('{"file":"x.png"}\n');
  });
});
