/**
 * The exported ONNX generators against the official UGATIT-pytorch outputs (../shared/fixtures/ugatit-torch,
 * see its README): every fixture, both directions, batch 1 and 3, ≤ 1e-4 max abs difference. The export
 * itself verifies against the tfjs generator; fp16 exports are measured against the same references.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportGenerator, type Direction } from '../../src/training/export/exporter.ts';
import { readModelMetadata } from '../../src/onnx/proto.ts';
import { uniformArray } from '../../src/training/export/random-state.ts';
import { createTfjsReference } from '../../src/training/export/tfjs-reference.ts';
import { maxAbsDiff, runOnnxGenerator } from '../../src/training/export/verify.ts';
import type { UgatitState } from '../../src/training/tensors.ts';
import { readTorchCheckpoint } from '../../src/training/torch-import/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixturesDir = path.resolve(repoRoot, '../shared/fixtures/ugatit-torch');
const fixtures = readdirSync(fixturesDir).filter((d) => readdirSync(path.join(fixturesDir, d)).includes('params.pt'));
const TOL = 1e-4;

function f32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Batch 3 from a batch of 2: both samples, then the first again. */
function batchOf3(two: Float32Array): Float32Array {
  const per = two.length / 2;
  const out = new Float32Array(per * 3);
  out.set(two, 0);
  out.set(two.subarray(0, per), 2 * per);
  return out;
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'export-parity-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('finds the official fixtures', () => {
  expect(fixtures.length).toBeGreaterThanOrEqual(2);
});

describe.each(fixtures)('fixture %s', (name) => {
  const dir = path.join(fixturesDir, name);
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as {
    config: { light: boolean; ngf: number; n_blocks: number; img_size: number };
    files: Record<string, number[]>;
  };
  const cfg = { variant: 'pytorch' as const, light: meta.config.light, ngf: meta.config.ngf, n_blocks: meta.config.n_blocks, img_size: meta.config.img_size };
  const [n, c, h, w] = meta.files['input_gen.f32'];
  const input = f32(path.join(dir, 'input_gen.f32'));
  let state: UgatitState;
  beforeAll(async () => {
    state = await readTorchCheckpoint(path.join(dir, 'params.pt'), { require: ['genA2B', 'genB2A'] });
  });

  describe.each([
    ['a2b', 'genA2B'],
    ['b2a', 'genB2A'],
  ] as [Direction, 'genA2B' | 'genB2A'][])('%s (%s)', (direction, net) => {
    const ref = {
      image: f32(path.join(dir, `${net}_image.f32`)),
      cam: f32(path.join(dir, `${net}_cam_logit.f32`)),
      heatmap: f32(path.join(dir, `${net}_heatmap.f32`)),
    };

    it('exports, self-verifies against tfjs and matches the PyTorch reference at batch 1 and 3', async () => {
      const sut = await exportGenerator({ state, config: cfg, direction, outPath: path.join(work, `${name}-${direction}.onnx`) });
      expect(sut.maxAbsDiff).not.toBeNull();
      expect(sut.maxAbsDiff!).toBeLessThanOrEqual(TOL);
      const stamped = readModelMetadata(readFileSync(sut.path));
      expect(stamped).toMatchObject({ direction, variant: 'pytorch', light: String(cfg.light), img_size: String(cfg.img_size), precision: 'fp32' });
      expect(Number(stamped.verify_max_abs_diff)).toBe(sut.maxAbsDiff);

      const one = await runOnnxGenerator(sut.path, input.slice(0, c * h * w), [1, c, h, w]);
      expect(maxAbsDiff(one.output, ref.image.slice(0, 3 * h * w))).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(one.camLogit, ref.cam.slice(0, 2))).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(one.heatmap, ref.heatmap.slice(0, (h / 4) * (w / 4)))).toBeLessThanOrEqual(TOL);

      const three = await runOnnxGenerator(sut.path, batchOf3(input), [3, c, h, w]);
      expect(three.dims.output).toEqual([3, 3, h, w]);
      const diffs = {
        output: maxAbsDiff(three.output, batchOf3(ref.image)),
        cam_logit: maxAbsDiff(three.camLogit, batchOf3(ref.cam)),
        heatmap: maxAbsDiff(three.heatmap, batchOf3(ref.heatmap)),
      };
      console.log(JSON.stringify({ fixture: name, direction, precision: 'fp32', verify: sut.verification?.perOutput, vsTorchBatch3: diffs }));
      expect(Math.max(diffs.output, diffs.cam_logit, diffs.heatmap)).toBeLessThanOrEqual(TOL);
      expect(n).toBe(2);
    });

    it('exports fp16 weights within the fp16 tolerance and records the measured difference', async () => {
      const sut = await exportGenerator({ state, config: cfg, direction, fp16: true, outPath: path.join(work, `${name}-${direction}-fp16.onnx`) });
      expect(sut.metadata.precision).toBe('fp16');
      expect(sut.maxAbsDiff!).toBeGreaterThan(0);
      expect(sut.maxAbsDiff!).toBeLessThanOrEqual(5e-2);
      const res = await runOnnxGenerator(sut.path, input, [n, c, h, w]);
      const diffs = {
        output: maxAbsDiff(res.output, ref.image),
        cam_logit: maxAbsDiff(res.camLogit, ref.cam),
        heatmap: maxAbsDiff(res.heatmap, ref.heatmap),
      };
      console.log(JSON.stringify({ fixture: name, direction, precision: 'fp16', verify: sut.verification?.perOutput, vsTorch: diffs }));
      expect(Math.max(diffs.output, diffs.cam_logit, diffs.heatmap)).toBeLessThanOrEqual(5e-2);
    });
  });
});

const lightFixtures = fixtures.filter((d) => (JSON.parse(readFileSync(path.join(fixturesDir, d, 'meta.json'), 'utf8')) as { config: { light: boolean } }).config.light);

describe.each(lightFixtures)('light fixture %s at another size', (name) => {
  const dir = path.join(fixturesDir, name);
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { config: { ngf: number; n_blocks: number; img_size: number } };
  const cfg = { variant: 'pytorch' as const, light: true, ngf: meta.config.ngf, n_blocks: meta.config.n_blocks, img_size: meta.config.img_size };
  let state: UgatitState;
  beforeAll(async () => {
    state = await readTorchCheckpoint(path.join(dir, 'params.pt'), { require: ['genA2B'] });
  });

  it('runs the light model at a second size and matches tfjs there', async () => {
    const sut = await exportGenerator({ state, config: cfg, direction: 'a2b', outPath: path.join(work, `${name}-size.onnx`) });
    const size = 72;
    const x = uniformArray(2 * 3 * size * size, 72);
    const onnxOut = await runOnnxGenerator(sut.path, x, [2, 3, size, size]);
    expect(onnxOut.dims).toEqual({ output: [2, 3, size, size], cam_logit: [2, 2], heatmap: [2, 1, size / 4, size / 4] });
    const reference = await createTfjsReference(state.genA2B!, cfg);
    try {
      const tfOut = await reference.run(x, [2, 3, size, size]);
      const diff = Math.max(maxAbsDiff(onnxOut.output, tfOut.output), maxAbsDiff(onnxOut.camLogit, tfOut.camLogit), maxAbsDiff(onnxOut.heatmap, tfOut.heatmap));
      console.log(JSON.stringify({ fixture: name, size, onnxVsTfjs: diff }));
      expect(diff).toBeLessThanOrEqual(TOL);
    } finally {
      reference.dispose?.();
    }
  });
});
