/**
 * The GPU serving path on a machine without a GPU: an fp16 export of the fixture checkpoint, asked for with
 * ORT_PROVIDERS cuda,cpu, falls back to the CPU provider (the CUDA provider library is never installed on
 * these machines) and gives the fp32 model's output within the fp16 tolerance.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModel, providerFailures } from '../../src/onnx/runtime.ts';
import { exportGenerator, FP16_TOLERANCE } from '../../src/training/export/exporter.ts';
import { uniformArray } from '../../src/training/export/random-state.ts';
import { maxAbsDiff } from '../../src/training/export/verify.ts';
import { readTorchCheckpoint } from '../../src/training/torch-import/torch-checkpoint.ts';
import { fixtureCheckpoint } from '../helpers/models.ts';

describe('fp16 model on the cuda,cpu provider list', () => {
  it('falls back to the CPU, says why once, and matches the fp32 output within the fp16 tolerance', async () => {
    const state = await readTorchCheckpoint(fixtureCheckpoint);
    const config = { variant: 'pytorch' as const, light: true, ngf: 8, n_blocks: 2, img_size: 64, step: 0 };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'webtoon-fp16-'));
    const fp16 = path.join(dir, 'fp16.onnx');
    const fp32 = path.join(dir, 'fp32.onnx');
    await exportGenerator({ state, config, direction: 'a2b', outPath: fp16, fp16: true, verify: false, version: 'h' });
    await exportGenerator({ state, config, direction: 'a2b', outPath: fp32, verify: false, version: 'f' });
    const sut = await createModel(fp16, { devices: ['cuda', 'cpu'], threads: 1 });
    const ref = await createModel(fp32, { devices: ['cpu'], threads: 1 });
    try {
      expect(sut.provider).toBe('cpu');
      expect(providerFailures().get('cuda')).toMatch(/./);
      const feed = { input: { data: uniformArray(2 * 3 * 64 * 64, 7), dims: [2, 3, 64, 64] } };
      const a = await sut.run(feed);
      const b = await ref.run(feed);
      expect(a.output.dims).toEqual([2, 3, 64, 64]);
      expect(maxAbsDiff(a.output.data, b.output.data)).toBeLessThan(FP16_TOLERANCE);
    } finally {
      await Promise.all([sut.dispose(), ref.dispose()]);
    }
  }, 120_000);
});
