/**
 * The face analyser on real photographs: ../shared/data/photos (astronaut.png: Eileen Collins, public
 * domain; camera.png: the cameraman, see its README) and the demo photographs that ship inside the
 * @vladmandic/face-api package (MIT; taken by its author), downscaled to 960 px wide to keep the run short.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceAnalysisError, type FaceAnalysis, FaceAnalyzer, identitySimilarity, mirrorImage } from '../../src/analysis/face-analysis.ts';
import { decodeUnchecked, type RawImage, resizeTo } from '../../src/media/media.ts';
import { astronautPath, cameraPath, noFaceImage } from '../inference/sample-images.ts';

const demoDir = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');

let sut: FaceAnalyzer;
let astronaut: RawImage;
let astronautFace: FaceAnalysis;
let cameraFace: FaceAnalysis;
let groupFaces: FaceAnalysis[];

async function load(file: string, width?: number): Promise<RawImage> {
  const img = await decodeUnchecked(readFileSync(file));
  return width ? resizeTo(img, width, Math.round((img.height * width) / img.width)) : img;
}

beforeAll(async () => {
  sut = await FaceAnalyzer.create();
  astronaut = await load(astronautPath);
  [astronautFace] = await sut.analyze(astronaut);
  [cameraFace] = await sut.analyze(await load(cameraPath));
  groupFaces = await sut.analyze(await load(path.join(demoDir, 'sample2.jpg'), 960));
}, 600_000);
afterAll(() => sut.dispose());

describe('FaceAnalyzer', () => {
  describe('analyze', () => {
    it('finds the one face of each portrait with gender and age (astronaut: woman; camera: man)', () => {
      expect(astronautFace).toBeDefined();
      expect(astronautFace.gender).toBe('female');
      expect(astronautFace.genderProbability).toBeGreaterThan(0.7);
      expect(astronautFace.age).toBeGreaterThan(20);
      expect(astronautFace.age).toBeLessThan(60);
      expect(astronautFace.descriptor).toHaveLength(128);
      expect(astronautFace.landmarks).toHaveLength(68);
      expect(cameraFace.gender).toBe('male');
    });

    it('finds several faces in a group photograph, largest first', () => {
      expect(groupFaces.length).toBeGreaterThanOrEqual(3);
      const areas = groupFaces.map((f) => f.box.width * f.box.height);
      expect([...areas].sort((a, b) => b - a)).toEqual(areas);
    });

    it('returns no face for a picture of shapes', async () => {
      expect(await sut.analyze(await decodeUnchecked(await noFaceImage()))).toEqual([]);
    });

    it('leaves the tfjs tensor count unchanged across analyses', async () => {
      const before = sut.numTensors();
      for (let i = 0; i < 3; i++) await sut.analyze(astronaut);
      expect(sut.numTensors()).toBe(before);
    });

    it('refuses pixels that do not match the stated size, naming what it got', async () => {
      const err: unknown = await sut.analyze({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FaceAnalysisError);
      expect((err as FaceAnalysisError).code).toBe('INVALID_IMAGE');
      expect((err as Error).message).toContain('"bytes":10');
    });

    it('shares the one tfjs engine with the trainer: the backend the trainer selected stays active', async () => {
      const tf = await import('@tensorflow/tfjs');
      expect(tf.getBackend()).toBe(sut.backend());
      const before = tf.memory().numTensors;
      await sut.analyze(astronaut);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});

describe('identitySimilarity', () => {
  it('separates the same face (1), its mirror image (high) and other people (lower)', async () => {
    const [again] = await sut.analyze(astronaut);
    const self = identitySimilarity(astronautFace.descriptor, again.descriptor);
    const [mirrored] = await sut.analyze(mirrorImage(astronaut));
    const mirror = identitySimilarity(astronautFace.descriptor, mirrored.descriptor);
    const others = [cameraFace, ...groupFaces].map((f) => identitySimilarity(astronautFace.descriptor, f.descriptor));
    const groupPairs: number[] = [];
    for (let i = 0; i < groupFaces.length; i++) for (let j = i + 1; j < groupFaces.length; j++) groupPairs.push(identitySimilarity(groupFaces[i].descriptor, groupFaces[j].descriptor));
    expect(self).toBeGreaterThan(0.9999);
    expect(mirror).toBeGreaterThan(0.95);
    expect(mirror).toBeLessThan(self);
    for (const s of [...others, ...groupPairs]) expect(s).toBeLessThan(mirror - 0.01);
    expect(Math.max(...others)).toBeLessThan(0.93);
  });

  it('is 1 for parallel vectors, 0 for orthogonal ones, and refuses mismatched lengths', () => {
    expect(identitySimilarity(Float32Array.of(1, 2), Float32Array.of(2, 4))).toBeCloseTo(1, 6);
    expect(identitySimilarity(Float32Array.of(1, 0), Float32Array.of(0, 3))).toBe(0);
    expect(() => identitySimilarity(Float32Array.of(1), Float32Array.of(1, 2))).toThrow(/same non-zero length/);
  });
});
