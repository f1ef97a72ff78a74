import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../src/onnx/runtime.ts';
import { ModelRegistry, loadModelInfo } from '../../src/inference/model.registry.ts';
import { readOnnxHeader } from '../../src/onnx/proto.ts';
import {
  checkGeneratorContract,
  contractMessage,
  encodeGeneratorMetadata,
  GENERATOR_IO,
  type OnnxHeader,
  type OnnxValueInfo,
} from '../../src/shared/generator-contract.ts';
import { ExportError } from '../../src/training/training.errors.ts';
import { assertGeneratorContract, exportGenerator } from '../../src/training/export/exporter.ts';
import { readTorchCheckpoint } from '../../src/training/torch-import/torch-checkpoint.ts';
import { exportedTestModels, fixtureCheckpoint, tempModelsDir, type TestModels, writeModelWithoutMetadata, writeWithMetadata } from '../helpers/models.ts';
import { rejectionOf } from '../helpers/rejection.ts';

const tensor = (name: string, shape: (number | string)[]): OnnxValueInfo => ({ name, elemType: 1, shape });
const header = (metadata: Record<string, string>, size: number | string = 'H'): OnnxHeader => ({
  metadata,
  inputs: [tensor('input', ['N', 3, size, size])],
  outputs: [tensor('output', ['N', 3, size, size]), tensor('cam_logit', ['N', 2]), tensor('heatmap', ['N', 1, 'h', 'w'])],
});

describe('checkGeneratorContract', () => {
  it('reads typed facts from the metadata the exporter encodes', () => {
    const md = encodeGeneratorMetadata({ direction: 'b2a', imgSize: 128, version: 'v1', light: true, variant: 'pytorch' });
    const sut = checkGeneratorContract(header(md));
    expect(sut).toMatchObject({ ok: true, facts: { direction: 'b2a', imgSize: 128, version: 'v1', light: true, hasCamLogit: true, hasHeatmap: true, maxBatch: Infinity } });
  });

  it('prefers metadata, then flags, then the static input shape, then the fallbacks', () => {
    const fill = { direction: 'a2b' as const, fallbackVersion: 'stem-1234abcd', defaultImgSize: 256 };
    expect(checkGeneratorContract(header({}, 128), fill)).toMatchObject({ ok: true, facts: { direction: 'a2b', imgSize: 128, version: 'stem-1234abcd' } });
    expect(checkGeneratorContract(header({}), fill)).toMatchObject({ ok: true, facts: { imgSize: 256 } });
    expect(checkGeneratorContract(header({ version: 'meta' }), { ...fill, version: 'flag' })).toMatchObject({ ok: true, facts: { version: 'meta' } });
    expect(checkGeneratorContract(header({}), { ...fill, version: 'flag' })).toMatchObject({ ok: true, facts: { version: 'flag' } });
  });

  it('refuses an img_size that contradicts the static input shape', () => {
    const sut = checkGeneratorContract(header({}, 128), { direction: 'a2b', version: 'v', imgSize: 256 });
    expect(sut).toEqual({ ok: false, problems: ["img_size 256 does not match the graph's static input 128×128"] });
  });

  it('knows cam_logit: a mis-shaped one is refused', () => {
    const h = header(encodeGeneratorMetadata({ direction: 'a2b', imgSize: 64, version: 'v' }));
    h.outputs[1] = tensor('cam_logit', ['N', 2, 1]);
    expect(checkGeneratorContract(h)).toEqual({ ok: false, problems: ['output "cam_logit" must be float32 [N, 2], is float32 [N, 2, 1]'] });
  });

  it('names every missing required key', () => {
    const sut = checkGeneratorContract(header({}));
    expect(sut).toEqual({ ok: false, problems: ['metadata has no direction (a2b or b2a)', 'metadata has no img_size', 'metadata has no version'] });
  });
});

describe('the contract on both sides', () => {
  let models: TestModels;
  beforeAll(async () => {
    models = await exportedTestModels();
  });

  it('refuses a model missing a required metadata key with the same message in the exporter and the registry', async () => {
    const dir = tempModelsDir();
    const bare = writeModelWithoutMetadata(models.a2b, path.join(dir, 'stripped.onnx'));
    const file = writeWithMetadata(bare, path.join(dir, 'bare.onnx'), { img_size: '64', version: 'no-direction-1' });
    const registryErr = await rejectionOf(loadModelInfo(file));
    let exporterErr: unknown;
    try {
      assertGeneratorContract('bare.onnx', [readFileSync(file)]);
    } catch (err) {
      exporterErr = err;
    }
    expect(exporterErr).toBeInstanceOf(ExportError);
    expect((exporterErr as ExportError).code).toBe('CONTRACT_VIOLATION');
    expect(registryErr.code).toBe('INVALID_MODEL');
    expect(registryErr.message).toBe(contractMessage('bare.onnx', ['metadata has no direction (a2b or b2a)']));
    expect((exporterErr as ExportError).message).toBe(registryErr.message);
  });

  it('exports a tiny model and serves it through the registry using only the shared contract', async () => {
    const dir = tempModelsDir();
    const state = await readTorchCheckpoint(fixtureCheckpoint);
    const config = { variant: 'pytorch' as const, light: true, ngf: 8, n_blocks: 2, img_size: 64, step: 3 };
    await exportGenerator({ state, config, direction: 'b2a', outPath: path.join(dir, 'tiny.onnx'), version: 'contract-1', verify: false });

    const sut = new ModelRegistry(dir);
    const info = await sut.resolve('b2a');
    expect(info).toMatchObject({ direction: 'b2a', imgSize: 64, version: 'contract-1', hasCamLogit: true, hasHeatmap: true, light: true });
    expect(checkGeneratorContract(readOnnxHeader(readFileSync(info.path))).ok).toBe(true);

    const s = info.imgSize;
    const model = await createModel(info.path, { devices: ['cpu'], threads: 1 });
    try {
      const input = new Float32Array(2 * 3 * s * s).map((_, i) => Math.sin(i) * 0.9);
      const out = await model.run({ [GENERATOR_IO.input]: { data: input, dims: [2, 3, s, s] } });
      expect(out[GENERATOR_IO.output].dims).toEqual([2, 3, s, s]);
      expect(out[GENERATOR_IO.camLogit].dims).toEqual([2, 2]);
      expect(out[GENERATOR_IO.heatmap].dims).toEqual([2, 1, s / 4, s / 4]);
      expect(Math.max(...out[GENERATOR_IO.output].data.map(Math.abs))).toBeLessThanOrEqual(1);
    } finally {
      await model.dispose();
    }
  });
});
