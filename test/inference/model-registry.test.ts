import { readFileSync, rmSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkContract, compareVersions, loadModelInfo, ModelRegistry, SingleModelRegistry } from '../../src/inference/model.registry.ts';
import { readOnnxHeader } from '../../src/onnx/proto.ts';
import {
  exportedTestModels,
  installModel,
  type TestModels,
  tempModelsDir,
  writeContractBreakingModel,
  writeModelWithoutMetadata,
  writeWithMetadata,
} from '../helpers/models.ts';
import { rejectionOf } from '../helpers/rejection.ts';

let models: TestModels;
beforeAll(async () => {
  models = await exportedTestModels();
});

describe('readOnnxHeader', () => {
  it("reads our exporter's metadata and the declared input and outputs", () => {
    const sut = readOnnxHeader(readFileSync(models.a2b));
    expect(sut.metadata).toMatchObject({ direction: 'a2b', img_size: '64', version: 'fixture-a2b-1', light: 'true', variant: 'pytorch' });
    expect(sut.inputs.map((i) => i.name)).toEqual(['input']);
    expect(sut.inputs[0].elemType).toBe(1);
    expect(sut.inputs[0].shape).toHaveLength(4);
    expect(sut.inputs[0].shape![1]).toBe(3);
    expect(sut.outputs.map((o) => o.name).sort()).toEqual(['cam_logit', 'heatmap', 'output']);
  });

  it('throws on bytes that are not a model', () => {
    expect(() => readOnnxHeader(Buffer.from('not a model at all'))).toThrow();
  });
});

describe('checkContract', () => {
  it('accepts the exported generator with a dynamic batch axis and a heatmap', () => {
    const sut = checkContract(readOnnxHeader(readFileSync(models.b2a)));
    expect(sut.ok).toBe(true);
    if (sut.ok) expect(sut.info).toMatchObject({ direction: 'b2a', imgSize: 64, version: 'fixture-b2a-1', maxBatch: Infinity, hasHeatmap: true, light: true });
  });

  it('names every problem of a contract-breaking model', () => {
    const dir = tempModelsDir();
    const sut = checkContract(readOnnxHeader(readFileSync(writeContractBreakingModel(path.join(dir, 'broken.onnx')))));
    expect(sut.ok).toBe(false);
    if (!sut.ok) {
      expect(sut.problems.join('\n')).toMatch(/no input named "input" \(inputs: image\)/);
      expect(sut.problems.join('\n')).toMatch(/output "output" must be float32 \[N, 3, H, W\], is float32 \[N, H, W, 3\]/);
    }
  });

  it('takes missing metadata from overrides and reports it missing without them', () => {
    const dir = tempModelsDir();
    const bare = readOnnxHeader(readFileSync(writeModelWithoutMetadata(models.a2b, path.join(dir, 'bare.onnx'))));
    const refused = checkContract(bare);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.problems).toEqual(expect.arrayContaining(['metadata has no direction (a2b or b2a)', 'metadata has no version']));
    const sut = checkContract(bare, { direction: 'b2a', version: 'cli-1', imgSize: 64 });
    expect(sut.ok && sut.info).toMatchObject({ direction: 'b2a', version: 'cli-1', imgSize: 64 });
  });
});

describe('compareVersions', () => {
  it('orders numbers inside versions naturally', () => {
    expect(compareVersions('step10-abc', 'step9-abc')).toBeGreaterThan(0);
    expect(compareVersions('1.10.0', '1.9.9')).toBeGreaterThan(0);
    expect(compareVersions('v2', 'v2')).toBe(0);
  });
});

describe('ModelRegistry', () => {
  describe('resolve', () => {
    it('serves the newest version per direction', async () => {
      const dir = tempModelsDir();
      installModel(models.a2b, dir, 'a2b-old.onnx');
      writeWithMetadata(models.a2b, path.join(dir, 'a2b-new.onnx'), { version: 'fixture-a2b-10' });
      installModel(models.b2a, dir, 'b2a.onnx');
      const sut = new ModelRegistry(dir);
      expect((await sut.resolve('a2b')).file).toBe('a2b-new.onnx');
      expect((await sut.resolve('b2a')).version).toBe('fixture-b2a-1');
      expect(await sut.versions()).toEqual({ a2b: 'fixture-a2b-10', b2a: 'fixture-b2a-1' });
    });

    it('serves a pinned version instead of the newest', async () => {
      const dir = tempModelsDir();
      installModel(models.a2b, dir, 'a2b-old.onnx');
      writeWithMetadata(models.a2b, path.join(dir, 'a2b-new.onnx'), { version: 'fixture-a2b-10' });
      const sut = new ModelRegistry(dir, { pins: { a2b: 'fixture-a2b-1' } });
      expect((await sut.resolve('a2b')).file).toBe('a2b-old.onnx');
    });

    it('fails with MODEL_UNAVAILABLE naming the pin and what is available when the pin matches nothing', async () => {
      const dir = tempModelsDir();
      installModel(models.a2b, dir, 'a2b.onnx');
      const err = await rejectionOf(new ModelRegistry(dir, { pins: { a2b: 'v99' } }).resolve('a2b'));
      expect(err.code).toBe('MODEL_UNAVAILABLE');
      expect(err.message).toMatch(/pinned a2b model "v99"/);
      expect(err.details.available).toEqual(['fixture-a2b-1']);
    });

    it('fails with MODEL_UNAVAILABLE telling how to get a model when the folder is empty or missing', async () => {
      const err = await rejectionOf(new ModelRegistry(path.join(tempModelsDir(), 'absent')).resolve('b2a'));
      expect(err.code).toBe('MODEL_UNAVAILABLE');
      expect(err.message).toMatch(/import-torch .* export .* --direction b2a/);
    });

    it('picks up an added file and a replaced file without a restart, and forgets a removed one', async () => {
      const dir = tempModelsDir();
      const sut = new ModelRegistry(dir);
      await expect(sut.resolve('a2b')).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
      const file = installModel(models.a2b, dir, 'a2b.onnx');
      expect((await sut.resolve('a2b')).version).toBe('fixture-a2b-1');
      writeWithMetadata(models.a2b, file, { version: 'fixture-a2b-2' });
      const later = new Date(Date.now() + 5000);
      utimesSync(file, later, later); // coarse file systems: make the change visible
      expect((await sut.resolve('a2b')).version).toBe('fixture-a2b-2');
      rmSync(file);
      await expect(sut.resolve('a2b')).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
    });

    it('refuses a contract-breaking model (listed with its reason) and serves the good one', async () => {
      const dir = tempModelsDir();
      writeContractBreakingModel(path.join(dir, 'zzz-broken.onnx'));
      installModel(models.a2b, dir, 'a2b.onnx');
      const sut = new ModelRegistry(dir);
      expect((await sut.resolve('a2b')).file).toBe('a2b.onnx');
      const { refused } = sut.list();
      expect(refused).toHaveLength(1);
      expect(refused[0].file).toBe('zzz-broken.onnx');
      expect(refused[0].reason).toMatch(/breaks the generator contract: no input named "input"/);
    });

    it('fails with INVALID_MODEL when the pinned file is the broken one', async () => {
      const dir = tempModelsDir();
      writeContractBreakingModel(path.join(dir, 'broken.onnx'));
      const err = await rejectionOf(new ModelRegistry(dir, { pins: { a2b: 'broken.onnx' } }).resolve('a2b'));
      expect(err.code).toBe('INVALID_MODEL');
      expect(err.message).toMatch(/no input named "input"/);
    });
  });
});

describe('loadModelInfo', () => {
  it('refuses a file that is not ONNX with INVALID_MODEL', async () => {
    const dir = tempModelsDir();
    const p = path.join(dir, 'junk.onnx');
    writeWithMetadata(models.a2b, p, {});
    const bytes = readFileSync(p);
    bytes.fill(0xff, 0, 64);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(p, bytes);
    const err = await rejectionOf(loadModelInfo(p));
    expect(err.code).toBe('INVALID_MODEL');
    expect(err.message).toMatch(/not a readable ONNX file/);
  });
});

describe('SingleModelRegistry', () => {
  it('serves one file, with direction and version from flags when its metadata has none', async () => {
    const dir = tempModelsDir();
    const bare = writeModelWithoutMetadata(models.a2b, path.join(dir, 'bare.onnx'));
    const sut = new SingleModelRegistry(bare, { version: 'from-flag' });
    const info = await sut.resolve('b2a');
    // A light model runs at any size; without img_size it runs at the official 256.
    expect(info).toMatchObject({ direction: 'b2a', version: 'from-flag', imgSize: 256 });
  });

  it('refuses a model whose metadata says the other direction', async () => {
    const err = await rejectionOf(new SingleModelRegistry(models.a2b).resolve('b2a'));
    expect(err.code).toBe('INVALID_MODEL');
    expect(err.message).toMatch(/translates a2b, but b2a was asked for/);
  });
});
