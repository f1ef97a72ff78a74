import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportedTestModels, installModel, repoRoot, tempModelsDir, type TestModels, writeModelWithoutMetadata } from '../helpers/models.ts';
import { astronautPath, noFaceImage } from './sample-images.ts';
import { decodeUnchecked } from '../../src/media/media.ts';
import { PLACE, syntheticPicture } from './synthetic-face.ts';
import { AuditStore } from '../../src/db/audit.store.ts';
import { openDatabase } from '../../src/db/client.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';
import { runWebtoon } from '../helpers/cli.ts';

let models: TestModels;

const webtoon = runWebtoon;

beforeAll(async () => {
  models = await exportedTestModels();
});

describe('webtoon translate', () => {
  it('writes the translated face beside the input crop with the attention overlay (--model, --attention, --side-by-side)', async () => {
    const out = path.join(tempModelsDir('webtoon-cli-'), 'out.png');
    const r = await webtoon(['translate', astronautPath, '-o', out, '--attention', '--side-by-side', '--model', models.a2b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/a2b model fixture-a2b-1, 1 face\(s\), crop face/);
    const meta = await sharp(readFileSync(out)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 512, 256]);
  });

  it('serves the newest model from MODELS_DIR, trusts bytes not the extension (PNG named .jpg), and prints JSON metadata', async () => {
    const dir = tempModelsDir();
    installModel(models.a2b, dir, 'a2b.onnx');
    const work = tempModelsDir('webtoon-cli-');
    const renamed = path.join(work, 'photo.jpg');
    copyFileSync(astronautPath, renamed);
    const out = path.join(work, 'out.png');
    const r = await webtoon(['translate', renamed, '-o', out, '--json', '--size', '512'], { MODELS_DIR: dir });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ out, direction: 'a2b', modelVersion: 'fixture-a2b-1', facesFound: 1, cropMode: 'face' });
    expect((json.boxes as unknown[]).length).toBe(1);
    expect((await sharp(readFileSync(out)).metadata()).width).toBe(512);
  });

  it('with --record, stores the generation (source cli, no Discord ids) and its automatic audit in the feedback store', async () => {
    const work = tempModelsDir('webtoon-cli-');
    const out = path.join(work, 'out.png');
    const r = await webtoon(['translate', astronautPath, '-o', out, '--json', '--record', '--model', models.b2a, '--direction', 'b2a', '--crop', 'center'], { DATA_DIR: work });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { generationId: number; audit: { status: string; input: { gender: string } | null; trust: string } };
    expect(json.generationId).toBeGreaterThan(0);
    expect(json.audit.trust).toBe('meaningful');
    const db = await openDatabase({ pgliteDir: path.join(work, 'pglite') });
    try {
      const generation = await new FeedbackService(db).findGeneration(json.generationId);
      expect(generation).toMatchObject({ source: 'cli', userId: null, channelId: null, direction: 'b2a', modelVersion: 'fixture-b2a-1', status: 'ok' });
      const audit = await new AuditStore(db).find(json.generationId);
      expect(audit).toMatchObject({ status: json.audit.status, trust: 'meaningful', glasses: 'unknown', hands: 'unknown' });
      // the crop holds Eileen Collins' face: the input side is analysed
      expect(audit!.inputGender).toBe('female');
    } finally {
      await db.close();
    }
  }, 400_000); // translate + face models + PGlite in a child process: minutes on a loaded shared machine

  it('exits 1 with the typed reason and writes nothing for a file that is not an image', async () => {
    const work = tempModelsDir('webtoon-cli-');
    const input = path.join(work, 'notes.png');
    writeFileSync(input, 'just text pretending to be a png\n');
    const out = path.join(work, 'out.png');
    const r = await webtoon(['translate', input, '-o', out, '--model', models.a2b]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^webtoon: InferenceError\[UNSUPPORTED_FORMAT\]: This file is not a supported image \(it looks like a text file\)/);
    expect(existsSync(out)).toBe(false);
  });

  it('exits 1 with NO_FACE for a picture without a face, and succeeds with --crop center', async () => {
    const work = tempModelsDir('webtoon-cli-');
    const input = path.join(work, 'shapes.png');
    writeFileSync(input, await noFaceImage());
    const out = path.join(work, 'out.png');
    const refused = await webtoon(['translate', input, '-o', out, '--model', models.a2b]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/InferenceError\[NO_FACE\]: No face was found/);
    expect(existsSync(out)).toBe(false);
    const centre = await webtoon(['translate', input, '-o', out, '--model', models.a2b, '--crop', 'center', '--json']);
    expect(centre.code).toBe(0);
    expect(JSON.parse(centre.stdout)).toMatchObject({ cropMode: 'center', facesFound: 0 });
  });

  it('explains how to get a model when MODELS_DIR has none', async () => {
    const out = path.join(tempModelsDir('webtoon-cli-'), 'out.png');
    const r = await webtoon(['translate', astronautPath, '-o', out], { MODELS_DIR: tempModelsDir() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/InferenceError\[MODEL_UNAVAILABLE\]: No a2b model is installed.*webtoon import-torch .*webtoon export/);
    expect(existsSync(out)).toBe(false);
  });

  it('takes direction and version from flags for a model without metadata', async () => {
    const work = tempModelsDir('webtoon-cli-');
    const bare = writeModelWithoutMetadata(models.b2a, path.join(work, 'bare.onnx'));
    const r = await webtoon(['translate', astronautPath, '-o', path.join(work, 'o.png'), '--model', bare, '--direction', 'b2a', '--version', 'mine-1', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ direction: 'b2a', modelVersion: 'mine-1' });
  });

  it('--output photo returns a PNG of the input size: the face region changed, every other pixel unchanged', async () => {
    const work = tempModelsDir('webtoon-cli-');
    const input = path.join(work, 'group.png');
    writeFileSync(input, await syntheticPicture());
    const out = path.join(work, 'photo.png');
    const r = await webtoon(['translate', input, '-o', out, '--output', 'photo', '--model', models.a2b, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { output: string; width: number; height: number; boxes: { x: number; y: number; width: number; height: number }[] };
    expect(json).toMatchObject({ output: 'photo', width: PLACE.width, height: PLACE.height });
    const meta = await sharp(readFileSync(out)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', PLACE.width, PLACE.height]);
    const [before, after] = await Promise.all([decodeUnchecked(readFileSync(input)), decodeUnchecked(readFileSync(out))]);
    const box = json.boxes[0];
    // the crop lies on the astronaut that was placed in the picture
    expect(box.x).toBeGreaterThanOrEqual(PLACE.left - 1);
    expect(box.x + box.width).toBeLessThanOrEqual(PLACE.left + PLACE.side + 1);
    let outside = 0;
    let inside = 0;
    for (let i = 0; i < before.width * before.height; i++) {
      const x = i % before.width;
      const y = Math.floor(i / before.width);
      if (before.data[3 * i] === after.data[3 * i] && before.data[3 * i + 1] === after.data[3 * i + 1] && before.data[3 * i + 2] === after.data[3 * i + 2]) continue;
      if (x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height) inside++;
      else outside++;
    }
    expect(outside).toBe(0);
    expect(inside).toBeGreaterThan(0.5 * box.width * box.height);
  });

  it('keeps --side-by-side working (= --output side-by-side) and refuses an unknown --output', async () => {
    const work = tempModelsDir('webtoon-cli-');
    const out = path.join(work, 'o.png');
    const r = await webtoon(['translate', astronautPath, '-o', out, '--output', 'side-by-side', '--model', models.a2b, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ output: 'side_by_side', width: 512, height: 256 });
    const bad = await webtoon(['translate', astronautPath, '-o', out, '--output', 'poster']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--output must be face, photo or side-by-side, got "poster"/);
    const both = await webtoon(['translate', astronautPath, '-o', out, '--output', 'photo', '--side-by-side']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--side-by-side contradicts --output photo/);
  });

  it('serves a model exported by plain torch.onnx.export (no metadata, static 128² input): version from name + hash, size from the graph', async () => {
    const torchModel = path.join(repoRoot, 'test/fixtures/onnx/torch-light-ngf8-nb2-a2b-128.onnx');
    const hash = createHash('sha256').update(readFileSync(torchModel)).digest('hex').slice(0, 8);
    const out = path.join(tempModelsDir('webtoon-cli-'), 'torch.png');
    const r = await webtoon(['translate', astronautPath, '-o', out, '--model', torchModel, '--direction', 'a2b', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ direction: 'a2b', modelVersion: `torch-light-ngf8-nb2-a2b-128-${hash}`, facesFound: 1 });
    expect((await sharp(readFileSync(out)).metadata()).format).toBe('png');
  });

  it('exits 2 on a bad option value', async () => {
    const r = await webtoon(['translate', astronautPath, '--direction', 'sideways']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--direction must be a2b or b2a, got "sideways"/);
  });
});
