/**
 * The three output modes through the real pipeline (BlazeFace, the exported test generator), on a
 * synthetic picture whose face position is known: astronaut.png scaled into a larger noise canvas at
 * a chosen offset. `photo` must keep the picture's size, change the face region, and leave every
 * pixel outside the crop byte-identical.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { imageToCrop } from '../../src/inference/face-align.ts';
import { decodeUnchecked, type RawImage } from '../../src/media/media.ts';
import { TranslatePipeline } from '../../src/inference/translate.pipeline.ts';
import { exportedTestModels, installModel, tempModelsDir } from '../helpers/models.ts';
import { astronautPng, noFaceImage } from './sample-images.ts';
import { BIG, PLACE, syntheticPicture } from './synthetic-face.ts';

const px = (img: RawImage, x: number, y: number) => {
  const o = 3 * (y * img.width + x);
  return (img.data[o] << 16) | (img.data[o + 1] << 8) | img.data[o + 2];
};

let sut: TranslatePipeline;
/** The face centre in astronaut.png as the pipeline finds it (box crop centre). */
let astronautCentre: { x: number; y: number };

beforeAll(async () => {
  const models = await exportedTestModels();
  const dir = tempModelsDir();
  installModel(models.a2b, dir, 'a2b.onnx');
  sut = await TranslatePipeline.create(loadConfig({ NODE_ENV: 'test', MODELS_DIR: dir, ORT_PROVIDERS: 'cpu', ORT_THREADS: '1' }));
  const b = (await sut.translate(astronautPng(), { direction: 'a2b' })).boxes[0];
  astronautCentre = { x: b.x + b.width / 2, y: b.y + b.height / 2 };
});
afterAll(() => sut.dispose());

describe('output modes', () => {
  it('photo: the picture at its own size, the face region translated where the face was, every other pixel unchanged', async () => {
    const input = await syntheticPicture();
    const before = await decodeUnchecked(input);
    const r = await sut.translate(input, { direction: 'a2b', output: 'photo' });
    expect(r).toMatchObject({ output: 'photo', width: PLACE.width, height: PLACE.height, facesFound: 1 });
    const after = await decodeUnchecked(r.png);
    expect([after.width, after.height]).toEqual([PLACE.width, PLACE.height]);
    expect((await sharp(r.png).metadata()).format).toBe('png');

    const box = r.boxes[0];
    // the crop is where the astronaut's face was put
    const k = PLACE.side / 512;
    const known = { x: PLACE.left + astronautCentre.x * k, y: PLACE.top + astronautCentre.y * k };
    expect(Math.abs(box.x + box.width / 2 - known.x)).toBeLessThan(0.05 * box.width);
    expect(Math.abs(box.y + box.height / 2 - known.y)).toBeLessThan(0.05 * box.width);

    let changedOutside = 0;
    let changed = 0;
    let sx = 0;
    let sy = 0;
    for (let y = 0; y < after.height; y++) {
      for (let x = 0; x < after.width; x++) {
        const inside = x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height;
        if (px(after, x, y) === px(before, x, y)) continue;
        if (!inside) changedOutside++;
        else {
          changed++;
          sx += x + 0.5;
          sy += y + 0.5;
        }
      }
    }
    expect(changedOutside).toBe(0);
    expect(changed).toBeGreaterThan(0.5 * box.width * box.height);
    // the blended region is centred on the face
    expect(Math.abs(sx / changed - known.x)).toBeLessThan(0.05 * box.width);
    expect(Math.abs(sy / changed - known.y)).toBeLessThan(0.05 * box.width);
  });

  it('face: the translated square; side_by_side: input crop | face', async () => {
    const input = await syntheticPicture();
    const face = await sut.translate(input, { direction: 'a2b', output: 'face' });
    expect(face).toMatchObject({ output: 'face', width: 256, height: 256 });
    const both = await sut.translate(input, { direction: 'a2b', output: 'side_by_side' });
    expect(both).toMatchObject({ output: 'side_by_side', width: 512, height: 256 });
    const legacy = await sut.translate(input, { direction: 'a2b', sideBySide: true });
    expect(legacy.output).toBe('side_by_side');
    const m = await sharp(both.png).metadata();
    expect([m.width, m.height]).toEqual([512, 256]);
  });

  it('aligned: levels a turned face (the crop angle follows the turn) and pastes it back turned, outside unchanged', async () => {
    const input = await syntheticPicture(15, BIG);
    const before = await decodeUnchecked(input);
    const boxCrop = await sut.translate(input, { direction: 'a2b', output: 'photo' });
    expect(boxCrop.boxes[0].angle).toBeUndefined(); // the default stays the box crop
    const r = await sut.translate(input, { direction: 'a2b', output: 'photo', aligned: true });
    const angle = r.boxes[0].angle!;
    // The eye line follows the turn (sharp turns clockwise on screen = a positive angle with y down).
    // On a ≈135 px face BlazeFace's eyes follow within ≈3° (measured: +15° → +14.0°, −15° → −14.1°
    // relative to upright); on a ≈55 px face they are a few pixels apart and only the sign is reliable.
    const angleOf = async (turn: number) => (await sut.translate(await syntheticPicture(turn, BIG), { direction: 'a2b', aligned: true })).boxes[0].angle ?? 0;
    const upright = await angleOf(0);
    expect(Math.abs(angle - upright - 15)).toBeLessThan(5);
    expect(Math.abs((await angleOf(-15)) - upright + 15)).toBeLessThan(5);
    const after = await decodeUnchecked(r.png);
    const b = r.boxes[0];
    const g = { cx: b.x + b.width / 2, cy: b.y + b.height / 2, side: b.width, angle: (angle * Math.PI) / 180 };
    let changedOutside = 0;
    let changedInside = 0;
    for (let y = 0; y < after.height; y++) {
      for (let x = 0; x < after.width; x++) {
        const { u, v } = imageToCrop(g, x + 0.5, y + 0.5);
        const inside = u > -0.01 && u < g.side + 0.01 && v > -0.01 && v < g.side + 0.01;
        if (px(after, x, y) === px(before, x, y)) continue;
        if (inside) changedInside++;
        else changedOutside++;
      }
    }
    expect(changedOutside).toBe(0);
    expect(changedInside).toBeGreaterThan(0.5 * g.side * g.side);
  });

  it('photo with crop: center pastes the centre square back; the columns beside it are unchanged', async () => {
    const input = await noFaceImage(320, 240);
    const before = await decodeUnchecked(input);
    const r = await sut.translate(input, { direction: 'a2b', output: 'photo', crop: 'center' });
    expect(r).toMatchObject({ cropMode: 'center', width: 320, height: 240 });
    const after = await decodeUnchecked(r.png);
    for (let y = 0; y < 240; y++) {
      for (const x of [0, 20, 39, 280, 319]) expect(px(after, x, y)).toBe(px(before, x, y));
    }
    expect(px(after, 160, 120)).not.toBe(px(before, 160, 120));
  });

  it('photo: a picture larger than the upload cap comes back scaled to a 2048 px longer side', async () => {
    const big = await sharp(await syntheticPicture()).resize(3000, 2100).jpeg({ quality: 70 }).toBuffer();
    const r = await sut.translate(big, { direction: 'a2b', output: 'photo' });
    expect([r.width, r.height]).toEqual([2048, 1434]);
    const m = await sharp(r.png).metadata();
    expect([m.width, m.height]).toEqual([2048, 1434]);
  });
});
