/**
 * Parity with the official UGATIT-pytorch code: every fixture under ../shared/fixtures/ugatit-torch/
 * holds a params.pt written by the official trainer layout plus the official networks' outputs on fixed
 * inputs. We import params.pt with our own reader, run genA2B, genB2A, disGA and disLA in tfjs and
 * require every output within 1e-4 (max absolute difference).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/training/backend.ts';
import { createDiscriminator, createGenerator } from '../../src/training/networks/index.ts';
import type { UgatitState } from '../../src/training/tensors.ts';
import { readTorchCheckpoint } from '../../src/training/torch-import/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixturesRoot = path.resolve(repoRoot, '../shared/fixtures/ugatit-torch');
const TOLERANCE = 1e-4;

interface FixtureMeta {
  config: { name: string; light: boolean; ngf: number; n_blocks: number; img_size: number; ndf: number };
  files: Record<string, number[]>;
}

const fixtureNames = existsSync(fixturesRoot)
  ? readdirSync(fixturesRoot).filter((d) => existsSync(path.join(fixturesRoot, d, 'meta.json'))).sort()
  : [];

class Fixture {
  private constructor(
    readonly dir: string,
    readonly meta: FixtureMeta,
    readonly state: UgatitState,
  ) {}

  static async load(dir: string): Promise<Fixture> {
    const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as FixtureMeta;
    return new Fixture(dir, meta, await readTorchCheckpoint(path.join(dir, 'params.pt')));
  }

  /** A raw little-endian float32 NCHW file, as NHWC (rank 4) or as is (rank 2). */
  tensor(file: string): tf.Tensor {
    const buf = readFileSync(path.join(this.dir, file));
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const t = tf.tensor(data, this.meta.files[file]);
    return t.rank === 4 ? tf.tidy(() => tf.transpose(t, [0, 2, 3, 1])) : t;
  }

  maxAbsDiff(actual: tf.Tensor, file: string): number {
    return tf.tidy(() => {
      const expected = this.tensor(file);
      expect(actual.shape).toEqual(expected.shape);
      return tf.max(tf.abs(tf.sub(actual, expected))).dataSync()[0];
    });
  }
}

/** Runs the four networks of a fixture and returns every max abs diff, keyed by output file. */
function measure(fx: Fixture, opts: { generators?: readonly ('genA2B' | 'genB2A')[]; discriminatorsTraining?: boolean } = {}): Record<string, number> {
  const c = fx.meta.config;
  const diffs: Record<string, number> = {};
  const xg = fx.tensor('input_gen.f32') as tf.Tensor4D;
  for (const name of opts.generators ?? (['genA2B', 'genB2A'] as const)) {
    const sut = createGenerator({ variant: 'pytorch', light: c.light, ngf: c.ngf, n_blocks: c.n_blocks, img_size: c.img_size }, fx.state[name]);
    const out = sut.apply(xg);
    diffs[`${name}_image`] = fx.maxAbsDiff(out.image, `${name}_image.f32`);
    diffs[`${name}_cam_logit`] = fx.maxAbsDiff(out.camLogit, `${name}_cam_logit.f32`);
    diffs[`${name}_heatmap`] = fx.maxAbsDiff(out.heatmap, `${name}_heatmap.f32`);
    tf.dispose([out.image, out.camLogit, out.heatmap]);
    sut.dispose();
  }
  const xd = fx.tensor('input_dis.f32') as tf.Tensor4D;
  for (const [name, nLayers] of [['disGA', 7], ['disLA', 5]] as const) {
    const sut = createDiscriminator({ ndf: c.ndf, nLayers }, fx.state[name]);
    const out = sut.apply(xd, { training: opts.discriminatorsTraining ?? false });
    diffs[`${name}_patch`] = fx.maxAbsDiff(out.patch, `${name}_patch.f32`);
    diffs[`${name}_cam_logit`] = fx.maxAbsDiff(out.camLogit, `${name}_cam_logit.f32`);
    diffs[`${name}_heatmap`] = fx.maxAbsDiff(out.heatmap, `${name}_heatmap.f32`);
    tf.dispose([out.patch, out.camLogit, out.heatmap]);
    sut.dispose();
  }
  tf.dispose([xg, xd]);
  return diffs;
}

describe('parity with the official UGATIT-pytorch networks', () => {
  it('has fixtures to compare against', () => {
    expect(fixtureNames.length).toBeGreaterThanOrEqual(2);
  });

  describe.each(fixtureNames)('fixture %s', (name) => {
    let fx: Fixture;
    beforeAll(async () => {
      await selectBackend('wasm');
      fx = await Fixture.load(path.join(fixturesRoot, name));
    });

    it('matches every reference output within 1e-4 on the wasm backend', () => {
      const diffs = measure(fx);
      console.log(`parity ${name} wasm max|Δ|: ${JSON.stringify(diffs)}`);
      expect(Object.keys(diffs)).toHaveLength(12);
      for (const [output, d] of Object.entries(diffs)) expect(d, output).toBeLessThanOrEqual(TOLERANCE);
    });

    it('reproduces the discriminators in eval mode (stored u, v), which a training-mode power iteration would change', () => {
      const trained = measure(fx, { generators: [], discriminatorsTraining: true });
      expect(Math.max(...Object.values(trained))).toBeGreaterThan(TOLERANCE);
    });
  });

  describe('on the pure-JS cpu backend', () => {
    afterAll(async () => {
      await selectBackend('wasm');
    });

    it('matches the reference outputs of one fixture within 1e-4 as well', async () => {
      await selectBackend('cpu');
      const light = fixtureNames.find((n) => n.startsWith('light')) ?? fixtureNames[0];
      const diffs = measure(await Fixture.load(path.join(fixturesRoot, light)), { generators: ['genA2B'] });
      console.log(`parity ${light} cpu max|Δ|: ${JSON.stringify(diffs)}`);
      for (const [output, d] of Object.entries(diffs)) expect(d, output).toBeLessThanOrEqual(TOLERANCE);
    });
  });
});
