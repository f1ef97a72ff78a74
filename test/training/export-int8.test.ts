/**
 * int8 export (`--quantize int8`): the official-layout fixture checkpoint (light, ngf 8, 2 blocks, 64²) is
 * quantised with real face crops of the face-api demo photographs (MIT, six 1920 px photos, ~22 faces) as
 * calibration images; the model is checked against its recorded quality, refused below the floor, and
 * served by the registry, `webtoon translate`, the bot's inference client, and the bot itself through the real
 * discord.js client against the Discord stand-in.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createInferenceClient } from '../../src/inference/inference.client.ts';
import { loadModelInfo } from '../../src/inference/model.registry.ts';
import { loadCalibrationCrops, splitCrops, type CalibrationCrop } from '../../src/training/export/calibration-images.ts';
import { exportGenerator } from '../../src/training/export/exporter.ts';
import { DEFAULT_EVAL_FRACTION } from '../../src/training/export/quantize-generator.ts';
import { measureQuality, outputQuality, quantizeWeightPerChannel, tensorRange, uint8Params } from '../../src/training/export/quantize.ts';
import { readTorchCheckpoint } from '../../src/training/torch-import/torch-checkpoint.ts';
import { ExportError } from '../../src/training/training.errors.ts';
import { exportedTestModels, fixtureCheckpoint, installModel, repoRoot } from '../helpers/models.ts';
import { dbTargets, useTestDatabase } from '../helpers/databases.ts';
import { startHarness } from '../bot/bot-harness.ts';
import { astronautPath } from '../inference/sample-images.ts';
import { runWebtoon } from '../helpers/cli.ts';

const demoPhotos = path.join(repoRoot, 'node_modules/@vladmandic/face-api/demo');
const config = { variant: 'pytorch' as const, light: true, ngf: 8, n_blocks: 2, img_size: 64, step: 0 };
const state = await readTorchCheckpoint(fixtureCheckpoint);
const work = mkdtempSync(path.join(os.tmpdir(), 'webtoon-int8-'));
let crops: CalibrationCrop[];

const webtoon = runWebtoon;

beforeAll(async () => {
  crops = (await loadCalibrationCrops(demoPhotos, { direction: 'a2b', size: 64, threads: 1 })).crops;
}, 120_000);

describe('quantisation arithmetic', () => {
  it('per-channel symmetric int8 weights reconstruct every weight within half a step of its channel', () => {
    const data = Float32Array.from({ length: 4 * 18 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 4)) * (i < 18 ? 0.01 : 1));
    const sut = quantizeWeightPerChannel({ shape: [4, 2, 3, 3], data });
    for (let c = 0; c < 4; c++) {
      let maxAbs = 0;
      for (let i = c * 18; i < (c + 1) * 18; i++) maxAbs = Math.max(maxAbs, Math.abs(data[i]));
      expect(sut.scales[c]).toBeCloseTo(maxAbs / 127, 9);
      for (let i = c * 18; i < (c + 1) * 18; i++) expect(Math.abs(sut.q[i] * sut.scales[c] - data[i])).toBeLessThanOrEqual(sut.scales[c] / 2 + 1e-9);
    }
  });

  it('uint8 activation parameters always represent 0 exactly and cover the range', () => {
    for (const r of [{ min: 0, max: 6 }, { min: -2, max: 3 }, { min: 1, max: 2 }, { min: -4, max: -1 }]) {
      const { scale, zeroPoint } = uint8Params(r);
      expect(Number.isInteger(zeroPoint) && zeroPoint >= 0 && zeroPoint <= 255).toBe(true);
      expect(scale * (0 - zeroPoint)).toBeLessThanOrEqual(Math.min(0, r.min) + scale / 2);
      expect(scale * (255 - zeroPoint)).toBeGreaterThanOrEqual(Math.max(0, r.max) - scale / 2);
    }
  });

  it('percentile ranges ignore a handful of outliers that min/max keeps', () => {
    const data = Float32Array.from({ length: 100_000 }, (_, i) => (i % 1000) / 1000);
    data[5] = 1000;
    expect(tensorRange(data, { method: 'minmax' }).max).toBe(1000);
    expect(tensorRange(data, { method: 'percentile', percentile: 99.9 }).max).toBeLessThan(1);
  });

  it('PSNR and mean abs difference are in pixel units (peak 255)', () => {
    const a = new Float32Array(100).fill(0);
    const b = new Float32Array(100).fill(2 / 255); // exactly one pixel level everywhere
    const q = outputQuality(a, b);
    expect(q.meanAbsDiff).toBeCloseTo(1, 5);
    expect(q.psnrDb).toBeCloseTo(20 * Math.log10(255), 4);
    expect(outputQuality(a, a).psnrDb).toBe(Infinity);
  });
});

describe('exportGenerator with int8', () => {
  it('finds real face crops in the calibration photos', () => {
    expect(crops.length).toBeGreaterThanOrEqual(12);
    expect(crops.filter((c) => c.source.includes('#face')).length).toBeGreaterThanOrEqual(15);
  });

  it('writes a QDQ model whose recorded quality is what a fresh measurement on its held-out crops gives', async () => {
    const outPath = path.join(work, 'fixture-int8.onnx');
    const fp32Path = path.join(work, 'fixture-fp32.onnx');
    const res = await exportGenerator({ state, config, direction: 'a2b', outPath, version: 'int8-test', verify: false, int8: { crops, psnrFloor: 20, threads: 1 } });
    await exportGenerator({ state, config, direction: 'a2b', outPath: fp32Path, version: 'fp32-test', verify: false });
    const md = res.metadata;
    expect(md).toMatchObject({ precision: 'int8', quant_psnr_floor: '20', quant_calibration: 'percentile-99.99' });
    expect(md.quantization).toMatch(/^qdq-static/);
    // convs: 2×2 encoder blocks + 2×2 decoder blocks + 2 up; MLP Gemms: 4 (the stem, the two stride-2 convs,
    // conv1x1 and the output conv stay float)
    expect(Number(md.quant_ops)).toBe(4 + 4 + 2 + 4);
    expect(md.quant_float_ops).toBe('DownBlock.1.weight,DownBlock.5.weight,DownBlock.9.weight,conv1x1.weight,UpBlock2.11.weight');
    const bytes = readFileSync(outPath);
    expect(bytes.includes('QuantizeLinear')).toBe(true);
    expect(bytes.includes('DequantizeLinear')).toBe(true);
    expect(bytes.length).toBeLessThan(readFileSync(fp32Path).length);

    const { evaluation } = splitCrops(crops, DEFAULT_EVAL_FRACTION);
    expect(String(evaluation.length)).toBe(md.quant_eval_crops);
    const again = await measureQuality(fp32Path, outPath, evaluation.map((c) => c.data), 64, 1);
    // the model's output stays within its recorded quality (ONNX Runtime on the CPU is deterministic)
    expect(again.psnrDb).toBeGreaterThanOrEqual(Number(md.quant_psnr_db) - 0.01);
    expect(again.meanAbsDiff).toBeLessThanOrEqual(Number(md.quant_mean_abs_diff) + 0.001);
    expect(again.psnrDb).toBeGreaterThan(20);

    const info = await loadModelInfo(outPath);
    expect(info.version).toBe('int8-test');
  }, 300_000);

  it('refuses a model below the PSNR floor with its PSNR in the message, and writes nothing', async () => {
    const outPath = path.join(work, 'refused.onnx');
    const err = await exportGenerator({ state, config, direction: 'a2b', outPath, verify: false, int8: { crops, psnrFloor: 90, threads: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportError);
    expect((err as ExportError).code).toBe('QUALITY_TOO_LOW');
    expect((err as ExportError).message).toMatch(/reaches \d+\.\d\d dB PSNR against fp32 on \d+ held-out crops .* below the floor of 90 dB; nothing was written/);
    expect(((err as ExportError).details as { psnrDb: number }).psnrDb).toBeLessThan(90);
    expect(readdirSync(work).filter((f) => f.startsWith('refused'))).toEqual([]);
  }, 300_000);

  it('refuses bad int8 options before any work, and writes nothing', async () => {
    const outPath = path.join(work, 'bad.onnx');
    const empty = path.join(work, 'empty-folder');
    mkdirSync(empty);
    writeFileSync(path.join(empty, 'notes.txt'), 'not an image');
    const cases: [Parameters<typeof exportGenerator>[0], string][] = [
      [{ state, config, direction: 'a2b', outPath, verify: false, int8: {} }, 'BAD_OPTION'],
      [{ state, config, direction: 'a2b', outPath, verify: false, fp16: true, int8: { crops } }, 'BAD_OPTION'],
      [{ state, config, direction: 'a2b', outPath, verify: false, int8: { crops, psnrFloor: -3 } }, 'BAD_OPTION'],
      [{ state, config, direction: 'a2b', outPath, verify: false, int8: { crops, evalFraction: 1.5 } }, 'BAD_OPTION'],
      [{ state, config, direction: 'a2b', outPath, verify: false, int8: { calibrationDir: path.join(work, 'missing') } }, 'CALIBRATION_NOT_FOUND'],
      [{ state, config, direction: 'a2b', outPath, verify: false, int8: { calibrationDir: empty } }, 'CALIBRATION_EMPTY'],
    ];
    for (const [opts, code] of cases) {
      const err = await exportGenerator(opts).catch((e: unknown) => e);
      expect(err, code).toBeInstanceOf(ExportError);
      expect((err as ExportError).code).toBe(code);
    }
    expect(existsSync(outPath)).toBe(false);
  }, 120_000);
});

describe('an int8 model exported from the fixture checkpoint by the CLI', () => {
  let model: string;
  beforeAll(async () => {
    const ck = path.join(work, 'ck');
    const imported = await webtoon(['import-torch', fixtureCheckpoint, '--out', ck]);
    expect(imported.code).toBe(0);
    model = path.join(work, 'models', 'a2b-int8.onnx');
    const r = await webtoon(['export', ck, '--direction', 'a2b', '-o', model, '--quantize', 'int8', '--calibration', demoPhotos, '--psnr-floor', '20', '--no-verify']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { int8Quality: { psnrDb: number; heldOutCrops: number }; metadata: Record<string, string> };
    expect(summary.metadata.precision).toBe('int8');
    expect(summary.int8Quality.psnrDb).toBeGreaterThanOrEqual(20);
    expect(summary.int8Quality.heldOutCrops).toBeGreaterThan(0);
  }, 300_000);

  it('refuses --quantize without calibration images, and unknown modes, with one line', async () => {
    const r = await webtoon(['export', path.join(work, 'ck'), '--direction', 'a2b', '-o', path.join(work, 'x.onnx'), '--quantize', 'int4']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/ExportError\[BAD_OPTION\]: --quantize supports only int8/);
    expect(existsSync(path.join(work, 'x.onnx'))).toBe(false);
  }, 60_000);

  it('runs through webtoon translate', async () => {
    const out = path.join(work, 'translated.png');
    const r = await webtoon(['translate', astronautPath, '-o', out, '--model', model, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ direction: 'a2b', facesFound: 1, cropMode: 'face' });
    expect((await sharp(readFileSync(out)).metadata()).format).toBe('png');
  }, 120_000);

  it("is served from MODELS_DIR by the bot's inference client (worker thread, registry)", async () => {
    const cfg = loadConfig({ LOG_LEVEL: 'error', ORT_PROVIDERS: 'cpu', MODELS_DIR: path.dirname(model) });
    const sut = await createInferenceClient(cfg);
    try {
      const r = await sut.translate(readFileSync(astronautPath), { direction: 'a2b' });
      expect(r.facesFound).toBe(1);
      expect(r.modelVersion).toMatch(/^step0-/);
      expect((await sharp(r.png).metadata()).format).toBe('png');
    } finally {
      await sut.close();
    }
  }, 120_000);
  describe('answered by the bot through the real discord.js client (Discord stand-in, MODELS_DIR)', () => {
    const db = useTestDatabase(dbTargets.find((t) => t.kind === 'pglite')!);

    it('replies to /webtoonify with the int8 model\'s face and records its version', async () => {
      const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'webtoon-int8-bot-models-'));
      installModel(model, modelsDir, 'a2b-int8.onnx');
      installModel((await exportedTestModels()).b2a, modelsDir, 'b2a.onnx');
      const version = (await loadModelInfo(model)).version;
      const h = await startHarness({ database: db(), modelsDir });
      try {
        const member = h.standIn.makeUser('int8-member');
        const astronaut = readFileSync(astronautPath);
        const att = h.standIn.addAttachment(astronaut, 'selfie.png', 'image/png', { width: 512, height: 512 });
        const rec = h.standIn.sendSlashCommand(member, 'webtoonify', { image: att });
        const reply = await h.standIn.waitFor(() => {
          const m = h.standIn.original(rec.id);
          return m && m.files.length === 1 ? m : undefined;
        }, 'the reply with the translated face', 90_000);
        const png = await sharp(reply.files[0].bytes).metadata();
        expect(png.format).toBe('png');
        const fields = Object.fromEntries(reply.embeds[0].fields.map((f: { name: string; value: string }) => [f.name, f.value]));
        expect(fields.Model).toBe(version);
        expect(fields.Faces).toBe('1');
        const row = await h.feedback.findGenerationByMessageId(reply.id);
        expect(row).toMatchObject({ userId: member.id, direction: 'a2b', modelVersion: version, status: 'ok', facesFound: 1 });
      } finally {
        await h.dispose();
        rmSync(modelsDir, { recursive: true, force: true });
      }
    }, 180_000);
  });
});
