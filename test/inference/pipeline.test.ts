import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { type GeneratedFace, GeneratorRunner } from '../../src/inference/generator.runner.ts';
import { decodeUnchecked, type RawImage, resizeTo } from '../../src/media/media.ts';
import { loadModelInfo, type ModelInfo } from '../../src/inference/model.registry.ts';
import { TranslatePipeline } from '../../src/inference/translate.pipeline.ts';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { exportedTestModels, installModel, tempModelsDir, type TestModels, writeWithMetadata } from '../helpers/models.ts';
import { astronautPath, astronautPng, cascadePath, noFaceImage } from './sample-images.ts';
import { rejectionOf } from '../helpers/rejection.ts';

let models: TestModels;
let sut: TranslatePipeline;

function cfg(extra: Record<string, string> = {}) {
  const dir = tempModelsDir();
  installModel(models.a2b, dir, 'a2b.onnx');
  installModel(models.b2a, dir, 'b2a.onnx');
  return loadConfig({ NODE_ENV: 'test', MODELS_DIR: dir, ORT_PROVIDERS: 'cpu', ORT_THREADS: '1', ANIME_CASCADE_PATH: cascadePath, ...extra });
}

beforeAll(async () => {
  models = await exportedTestModels();
  sut = await TranslatePipeline.create(cfg());
});
afterAll(() => sut.dispose());

async function dims(png: Buffer): Promise<[number, number, string]> {
  const m = await sharp(png).metadata();
  return [m.width!, m.height!, m.format!];
}

describe('TranslatePipeline', () => {
  describe('translate', () => {
    it('turns astronaut.png into a 256² PNG from the face crop, with metadata and per-stage timings', async () => {
      const r = await sut.translate(astronautPng(), { direction: 'a2b' });
      expect(await dims(r.png)).toEqual([256, 256, 'png']);
      expect(r).toMatchObject({ direction: 'a2b', modelVersion: 'fixture-a2b-1', facesFound: 1, cropMode: 'face', batchSize: 1 });
      expect(r.boxes).toHaveLength(1);
      const b = r.boxes[0];
      expect(b.width).toBe(b.height); // square crop
      expect(b.x + b.width / 2).toBeGreaterThan(195);
      expect(b.x + b.width / 2).toBeLessThan(255);
      expect(b.score).toBeGreaterThan(0.8);
      expect(r.inputSha256).toMatch(/^[0-9a-f]{64}$/);
      for (const stage of ['model', 'decode', 'detect', 'crop', 'generate', 'render', 'total']) expect(r.timings[stage]).toBeGreaterThanOrEqual(0);
    });

    it('finds the face of a sideways-stored phone photo with EXIF orientation 6 where it is upright', async () => {
      // Stored rotated 90° counter-clockwise; orientation 6 tells viewers to turn it clockwise.
      const sideways = await sharp(astronautPath).rotate(-90).jpeg({ quality: 92 }).withMetadata({ orientation: 6 }).toBuffer();
      const upright = await sut.translate(astronautPng(), { direction: 'a2b' });
      const phone = await sut.translate(sideways, { direction: 'a2b' });
      expect(phone.facesFound).toBe(1);
      const [a, b] = [upright.boxes[0], phone.boxes[0]];
      expect(Math.abs(a.x - b.x)).toBeLessThan(12);
      expect(Math.abs(a.y - b.y)).toBeLessThan(12);
      expect(Math.abs(a.width - b.width)).toBeLessThan(15);
    });

    it('puts the input crop beside the output, and the crop really is the input', async () => {
      const r = await sut.translate(astronautPng(), { direction: 'a2b', sideBySide: true });
      expect(await dims(r.png)).toEqual([512, 256, 'png']);
      const left = await sharp(r.png).extract({ left: 0, top: 0, width: 256, height: 256 }).raw().toBuffer();
      const b = r.boxes[0];
      const expected = await sharp(astronautPath).extract({ left: b.x, top: b.y, width: b.width, height: b.height }).resize(256, 256).removeAlpha().raw().toBuffer();
      let diff = 0;
      for (let i = 0; i < left.length; i++) diff += Math.abs(left[i] - expected[i]);
      expect(diff / left.length).toBeLessThan(3);
    });

    it('blends the attention heatmap over the output (different pixels, same size)', async () => {
      const plain = await sut.translate(astronautPng(), { direction: 'a2b' });
      const att = await sut.translate(astronautPng(), { direction: 'a2b', attention: true });
      expect(await dims(att.png)).toEqual([256, 256, 'png']);
      const a = await sharp(plain.png).raw().toBuffer();
      const b = await sharp(att.png).raw().toBuffer();
      let changed = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) changed++;
      expect(changed / a.length).toBeGreaterThan(0.5);
    });

    it('upscales to 512² when asked', async () => {
      const r = await sut.translate(astronautPng(), { direction: 'a2b', outputSize: 512 });
      expect(await dims(r.png)).toEqual([512, 512, 'png']);
    });

    it('translates every face as a grid with faces: all', async () => {
      const face = await sharp(astronautPath).resize(360, 360).toBuffer();
      const two = await sharp({ create: { width: 760, height: 380, channels: 3, background: '#ffffff' } })
        .composite([
          { input: face, left: 10, top: 10 },
          { input: face, left: 390, top: 10 },
        ])
        .png()
        .toBuffer();
      const one = await sut.translate(two, { direction: 'a2b' });
      expect(one.facesFound).toBe(2);
      expect(one.boxes).toHaveLength(1);
      const all = await sut.translate(two, { direction: 'a2b', faces: 'all' });
      expect(all.boxes).toHaveLength(2);
      expect(await dims(all.png)).toEqual([512, 256, 'png']); // 2 tiles → 2 columns
      expect(all.batchSize).toBe(2); // both crops went through one generator run
    });

    it('refuses an image with no face with NO_FACE', async () => {
      const err = await rejectionOf(sut.translate(await noFaceImage(), { direction: 'a2b' }));
      expect(err.code).toBe('NO_FACE');
      expect(err.message).toMatch(/No face was found/);
      expect(err.details).toMatchObject({ detector: 'blazeface', width: 320, height: 240 });
    });

    it('uses the centre square when asked and says so', async () => {
      const r = await sut.translate(await noFaceImage(), { direction: 'a2b', crop: 'center' });
      expect(r.cropMode).toBe('center');
      expect(r.facesFound).toBe(0);
      expect(r.boxes).toEqual([{ x: 40, y: 0, width: 240, height: 240, score: 0 }]);
      expect(await dims(r.png)).toEqual([256, 256, 'png']);
    });

    it('refuses a face smaller than MIN_FACE_PX with FACE_TOO_SMALL', async () => {
      const strict = await TranslatePipeline.create(cfg({ MIN_FACE_PX: '200' }));
      try {
        const err = await rejectionOf(strict.translate(astronautPng(), { direction: 'a2b' }));
        expect(err.code).toBe('FACE_TOO_SMALL');
        expect(err.details).toMatchObject({ facesFound: 1, minFacePx: 200 });
      } finally {
        await strict.dispose();
      }
    });

    it('b2a on a real photo: the anime cascade finds nothing, BlazeFace does', async () => {
      const detected = await sut.detectFaces(await decodeUnchecked(astronautPng()), 'b2a');
      expect(detected.detector).toBe('blazeface');
      expect(detected.faces).toHaveLength(1);
      const r = await sut.translate(astronautPng(), { direction: 'b2a' });
      expect(r).toMatchObject({ direction: 'b2a', modelVersion: 'fixture-b2a-1', cropMode: 'face' });
    });

    it('b2a on the drawn webtoon face uses the anime cascade', async () => {
      const drawn = await decodeUnchecked(await sharp(new URL('../fixtures/images/anime-face.svg', import.meta.url).pathname).png().toBuffer());
      const detected = await sut.detectFaces(drawn, 'b2a');
      expect(detected.detector).toBe('animeface-cascade');
      expect(detected.faces).toHaveLength(1);
    });

    it('refuses bad bytes with the intake code before running anything', async () => {
      const err = await rejectionOf(sut.translate(Buffer.from('%PDF-1.7 nothing'), { direction: 'a2b' }));
      expect(err.code).toBe('UNSUPPORTED_FORMAT');
    });

    it('serves a replaced model file on the next request without a restart', async () => {
      const c = cfg();
      const own = await TranslatePipeline.create(c);
      try {
        expect((await own.translate(astronautPng(), { direction: 'a2b' })).modelVersion).toBe('fixture-a2b-1');
        const file = path.join(c.MODELS_DIR, 'a2b.onnx');
        writeWithMetadata(models.a2b, file, { version: 'fixture-a2b-2' });
        const later = new Date(Date.now() + 5000);
        utimesSync(file, later, later);
        expect((await own.translate(astronautPng(), { direction: 'a2b' })).modelVersion).toBe('fixture-a2b-2');
      } finally {
        await own.dispose();
      }
    });

    it('fails with MODEL_UNAVAILABLE when the direction has no model', async () => {
      const dir = tempModelsDir();
      installModel(models.a2b, dir, 'a2b.onnx');
      const only = await TranslatePipeline.create(loadConfig({ NODE_ENV: 'test', MODELS_DIR: dir, ORT_PROVIDERS: 'cpu' }));
      try {
        expect((await rejectionOf(only.translate(astronautPng(), { direction: 'b2a' }))).code).toBe('MODEL_UNAVAILABLE');
      } finally {
        await only.dispose();
      }
    });
  });
});

describe('GeneratorRunner', () => {
  let info: ModelInfo;
  let crops: RawImage[];
  beforeAll(async () => {
    info = await loadModelInfo(models.a2b);
    const base = await decodeUnchecked(astronautPng());
    // Four distinct 64² inputs: different regions of the photo.
    crops = await Promise.all(
      [0, 1, 2, 3].map(async (k) => {
        const { data, info: i } = await sharp(base.data, { raw: { width: 512, height: 512, channels: 3 } })
          .extract({ left: k * 100, top: k * 80, width: 160, height: 160 })
          .raw()
          .toBuffer({ resolveWithObject: true });
        return resizeTo({ data, width: i.width, height: i.height, channels: 3 }, 64, 64);
      }),
    );
  });

  describe('generate', () => {
    it('runs crops arriving within the wait window as one batch and gives each caller its own result', async () => {
      const runner = new GeneratorRunner({ devices: ['cpu'], threads: 1 }, { maxBatch: 8, maxWaitMs: 50 });
      try {
        const single: GeneratedFace[] = [];
        for (const c of crops) single.push((await runner.runBatch(info, [c]))[0]);
        runner.batchLog.length = 0;
        const batched = await Promise.all(crops.map((c) => runner.generate(info, c)));
        expect(runner.batchLog).toEqual([4]);
        batched.forEach((b, i) => {
          expect(b.batchSize).toBe(4);
          // Same pixels as the individual run (float noise may move a value by one level).
          let maxDiff = 0;
          for (let p = 0; p < b.image.data.length; p++) maxDiff = Math.max(maxDiff, Math.abs(b.image.data[p] - single[i].image.data[p]));
          expect(maxDiff).toBeLessThanOrEqual(1);
          expect(b.heatmap!.length).toBe(16 * 16);
          let hmDiff = 0;
          for (let p = 0; p < b.heatmap!.length; p++) hmDiff = Math.max(hmDiff, Math.abs(b.heatmap![p] - single[i].heatmap![p]));
          expect(hmDiff).toBeLessThan(1e-3);
        });
        // The inputs were distinct, so the outputs are too: results did not get swapped.
        expect(Buffer.compare(batched[0].image.data, batched[1].image.data)).not.toBe(0);
      } finally {
        await runner.dispose();
      }
    });

    it('never exceeds the max batch size', async () => {
      const runner = new GeneratorRunner({ devices: ['cpu'], threads: 1 }, { maxBatch: 3, maxWaitMs: 50 });
      try {
        await Promise.all([...crops, ...crops].map((c) => runner.generate(info, c)));
        expect(runner.batchLog.reduce((a, b) => a + b, 0)).toBe(8);
        expect(Math.max(...runner.batchLog)).toBeLessThanOrEqual(3);
      } finally {
        await runner.dispose();
      }
    });

    it('runs one at a time with no wait window', async () => {
      const runner = new GeneratorRunner({ devices: ['cpu'], threads: 1 }, { maxBatch: 1, maxWaitMs: 0 });
      try {
        await Promise.all(crops.map((c) => runner.generate(info, c)));
        expect(runner.batchLog).toEqual([1, 1, 1, 1]);
      } finally {
        await runner.dispose();
      }
    });
  });
});
