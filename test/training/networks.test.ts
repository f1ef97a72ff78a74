/**
 * ResnetGenerator and Discriminator (PyTorch variant): official names and shapes, configuration and
 * weight validation with typed errors, state_dict round trips, seeded init, spectral-norm training
 * behaviour against the official train-step fixture, no tensor leaks, and wasm gradients equal to cpu.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/training/backend.ts';
import {
  createDiscriminator,
  createGenerator,
  NetworkError,
  type Discriminator,
  type Generator,
} from '../../src/training/networks/index.ts';
import { readSafetensors } from '../../src/training/safetensors.ts';
import type { StateDict } from '../../src/training/tensors.ts';
import { readTorchCheckpoint } from '../../src/training/torch-import/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const torchFixtures = path.resolve(repoRoot, '../shared/fixtures/ugatit-torch');
const stepFixture = path.resolve(repoRoot, '../shared/fixtures/ugatit-train-step/light-ngf8-nb2-96');

const SMALL = { light: true, ngf: 4, n_blocks: 1, img_size: 16 } as const;

const shapesOf = (sd: StateDict): Record<string, number[]> => Object.fromEntries([...sd].map(([k, v]) => [k, v.shape]));
const paramCount = (net: Generator | Discriminator): number => [...net.trainableVariables().values()].reduce((n, v) => n + v.size, 0);
const input = (shape: number[], seed: number): tf.Tensor4D => tf.randomUniform(shape as [number, number, number, number], -1, 1, 'float32', seed);
const maxAbs = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

function withoutOne(sd: StateDict, name: string): StateDict {
  const out = new Map(sd);
  out.delete(name);
  return out;
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('createGenerator', () => {
  it.each(['light-ngf8-nb2-64', 'full-ngf8-nb2-64'])('has exactly the official parameter names and shapes (%s)', async (name) => {
    const official = (await readTorchCheckpoint(path.join(torchFixtures, name, 'params.pt'))).genA2B!;
    const sut = createGenerator({ light: name.startsWith('light'), ngf: 8, n_blocks: 2, img_size: 64 }, undefined, { seed: 1 });
    expect(shapesOf(sut.stateDict())).toEqual(shapesOf(official));
    expect([...sut.trainableVariables().keys()].sort()).toEqual([...official.keys()].sort());
    sut.dispose();
  });

  it('has the published parameter count of the light generator (ngf 64, 4 blocks): 10,589,888', () => {
    const sut = createGenerator({ light: true, ngf: 64, nBlocks: 4, imgSize: 256 }, undefined, { seed: 2 });
    expect(paramCount(sut)).toBe(10_589_888);
    sut.dispose();
  });

  it('returns image [B,H,W,3] in (−1,1), CAM logits [B,2] and heatmap [B,H/4,W/4,1]', () => {
    const sut = createGenerator(SMALL, undefined, { seed: 3 });
    const out = sut.apply(input([3, 16, 16, 3], 1));
    expect(out.image.shape).toEqual([3, 16, 16, 3]);
    expect(out.camLogit.shape).toEqual([3, 2]);
    expect(out.heatmap.shape).toEqual([3, 4, 4, 1]);
    expect(Math.max(...Array.from(out.image.dataSync()).map(Math.abs))).toBeLessThan(1);
    tf.dispose([out.image, out.camLogit, out.heatmap]);
    sut.dispose();
  });

  it('runs a light model at another input size (multiples of 4, not square)', () => {
    const sut = createGenerator(SMALL, undefined, { seed: 4 });
    const out = sut.apply(input([1, 24, 36, 3], 2));
    expect(out.image.shape).toEqual([1, 24, 36, 3]);
    expect(out.heatmap.shape).toEqual([1, 6, 9, 1]);
    tf.dispose([out.image, out.camLogit, out.heatmap]);
    sut.dispose();
  });

  it('refuses input a full model cannot take, or that is not NHWC RGB', () => {
    const sut = createGenerator({ ...SMALL, light: false }, undefined, { seed: 5 });
    const wrongSize = input([1, 20, 20, 3], 3);
    expect(() => sut.apply(wrongSize)).toThrow(expect.objectContaining({ code: 'INPUT_SHAPE' }));
    const nchw = input([1, 3, 16, 16], 3);
    expect(() => sut.apply(nchw)).toThrow(NetworkError);
    tf.dispose([wrongSize, nchw]);
    sut.dispose();
  });

  it('initialises like PyTorch: AdaILN ρ = 0.9, ILN ρ = 0, γ = 1, β = 0, conv weights within ±1/√fan_in', () => {
    const sd = createGenerator(SMALL, undefined, { seed: 6 }).stateDict();
    expect(Array.from(sd.get('UpBlock1_1.norm2.rho')!.data).every((v) => v === Math.fround(0.9))).toBe(true);
    expect(Array.from(sd.get('UpBlock2.3.rho')!.data).every((v) => v === 0)).toBe(true);
    expect(Array.from(sd.get('UpBlock2.8.gamma')!.data).every((v) => v === 1)).toBe(true);
    const w = sd.get('DownBlock.1.weight')!;
    expect(Math.max(...Array.from(w.data).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(3 * 49));
  });

  it('is reproducible from a seed and differs across seeds', () => {
    const a = createGenerator(SMALL, undefined, { seed: 7 });
    const b = createGenerator(SMALL, undefined, { seed: 7 });
    const c = createGenerator(SMALL, undefined, { seed: 8 });
    expect(b.stateDict()).toEqual(a.stateDict());
    expect(c.stateDict().get('FC.0.weight')).not.toEqual(a.stateDict().get('FC.0.weight'));
    [a, b, c].forEach((g) => g.dispose());
  });

  it('round-trips its state_dict bit-exactly and reproduces its outputs from it', () => {
    const a = createGenerator({ ...SMALL, light: false }, undefined, { seed: 9 });
    const sd = a.stateDict();
    const sut = createGenerator({ ...SMALL, light: false }, sd);
    expect(sut.stateDict()).toEqual(sd);
    const x = input([2, 16, 16, 3], 4);
    const [oa, ob] = [a.apply(x), sut.apply(x)];
    expect(maxAbs(oa.image, ob.image)).toBe(0);
    tf.dispose([x, oa.image, oa.camLogit, oa.heatmap, ob.image, ob.camLogit, ob.heatmap]);
    a.dispose();
    sut.dispose();
  });

  it('refuses bad configurations with INVALID_CONFIG or UNSUPPORTED_VARIANT', () => {
    expect(() => createGenerator({ ...SMALL, ngf: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => createGenerator({ ...SMALL, img_size: 30 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => createGenerator({ light: true, ngf: 4 } as never)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => createGenerator({ ...SMALL, variant: 'tensorflow' })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VARIANT' }));
  });

  it('refuses weights that miss a tensor, have a wrong shape or an extra tensor, and leaks no tensors doing so', () => {
    const sd = createGenerator(SMALL, undefined, { seed: 10 }).stateDict();
    const before = tf.memory().numTensors;
    expect(() => createGenerator(SMALL, withoutOne(sd, 'UpBlock2.8.beta'))).toThrow(expect.objectContaining({ code: 'MISSING_TENSOR' }));
    const wrong = new Map(sd).set('conv1x1.bias', { shape: [3], data: new Float32Array(3) });
    expect(() => createGenerator(SMALL, wrong)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    const extra = new Map(sd).set('DownBlock.99.weight', { shape: [1], data: new Float32Array(1) });
    expect(() => createGenerator(SMALL, extra)).toThrow(expect.objectContaining({ code: 'UNEXPECTED_TENSOR' }));
    // a light state_dict does not load into a full generator (FC.0 input width differs)
    expect(() => createGenerator({ ...SMALL, light: false }, sd)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loadStateDict changes nothing when the state_dict does not fit', () => {
    const sut = createGenerator(SMALL, undefined, { seed: 11 });
    const before = sut.stateDict();
    const other = createGenerator(SMALL, undefined, { seed: 12 }).stateDict();
    expect(() => sut.loadStateDict(withoutOne(other, 'gamma.weight'))).toThrow(NetworkError);
    expect(sut.stateDict()).toEqual(before);
    sut.loadStateDict(other);
    expect(sut.stateDict()).toEqual(other);
    sut.dispose();
  });

  it('clipRho clamps every ρ into [0,1] and nothing else', () => {
    const sut = createGenerator(SMALL, undefined, { seed: 13 });
    const vars = sut.trainableVariables();
    vars.get('UpBlock1_1.norm1.rho')!.assign(tf.fill([1, 16, 1, 1], 1.5));
    vars.get('UpBlock2.3.rho')!.assign(tf.fill([1, 8, 1, 1], -0.5));
    vars.get('UpBlock2.3.gamma')!.assign(tf.fill([1, 8, 1, 1], 3));
    sut.clipRho();
    const sd = sut.stateDict();
    expect(new Set(sd.get('UpBlock1_1.norm1.rho')!.data)).toEqual(new Set([1]));
    expect(new Set(sd.get('UpBlock2.3.rho')!.data)).toEqual(new Set([0]));
    expect(new Set(sd.get('UpBlock2.3.gamma')!.data)).toEqual(new Set([3]));
    sut.dispose();
  });

  it('leaves the tensor count unchanged after a forward and after a gradient step', () => {
    const sut = createGenerator({ ...SMALL, light: false }, undefined, { seed: 14 });
    const x = input([2, 16, 16, 3], 5);
    const opt = tf.train.adam(1e-3);
    const vars = [...sut.trainableVariables().values()];
    const step = (): void => {
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.mean(tf.abs(tf.sub(sut.apply(x, { training: true }).image, x)))) as tf.Scalar, vars);
      opt.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
      tf.dispose([value, ...Object.values(grads)]);
      sut.clipRho();
    };
    step(); // Adam creates its moment variables on the first step
    const before = tf.memory().numTensors;
    const out = sut.apply(x);
    tf.dispose([out.image, out.camLogit, out.heatmap]);
    expect(tf.memory().numTensors).toBe(before);
    const w0 = sut.stateDict().get('UpBlock2.11.weight')!.data;
    step();
    expect(tf.memory().numTensors).toBe(before);
    expect(sut.stateDict().get('UpBlock2.11.weight')!.data).not.toEqual(w0);
    opt.dispose();
    x.dispose();
    sut.dispose();
  });

  it('frees its variables on dispose and refuses to run afterwards', () => {
    const before = tf.memory().numTensors;
    const sut = createGenerator(SMALL, undefined, { seed: 15 });
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    sut.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const x = input([1, 16, 16, 3], 6);
    expect(() => sut.apply(x)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    x.dispose();
  });
});

describe('createDiscriminator', () => {
  it.each([['disGA', 7], ['disLA', 5]] as const)('has exactly the official parameter and buffer names and shapes (%s)', async (name, nLayers) => {
    const official = (await readTorchCheckpoint(path.join(torchFixtures, 'light-ngf8-nb2-64', 'params.pt')))[name]!;
    const sut = createDiscriminator({ ndf: 8, nLayers }, undefined, { seed: 1 });
    expect(shapesOf(sut.stateDict())).toEqual(shapesOf(official));
    expect([...sut.trainableVariables().keys()].some((k) => k.endsWith('weight_u') || k.endsWith('weight_v'))).toBe(false);
    sut.dispose();
  });

  it('has the published parameter count of the local discriminator (ndf 64): 3,290,560', () => {
    const sut = createDiscriminator({ ndf: 64, nLayers: 5 }, undefined, { seed: 2 });
    expect(paramCount(sut)).toBe(3_290_560);
    sut.dispose();
  });

  it('returns patch logits, CAM logits and heatmap with the official sizes (global 7 layers, 256² → 6×6 and 7×7)', () => {
    const sut = createDiscriminator({ ndf: 2, nLayers: 7 }, undefined, { seed: 3 });
    const x = input([2, 256, 256, 3], 7);
    const out = sut.apply(x);
    expect(out.patch.shape).toEqual([2, 6, 6, 1]);
    expect(out.camLogit.shape).toEqual([2, 2]);
    expect(out.heatmap.shape).toEqual([2, 7, 7, 1]);
    tf.dispose([x, out.patch, out.camLogit, out.heatmap]);
    sut.dispose();
  });

  it('updates u and v in training mode only', () => {
    const sut = createDiscriminator({ ndf: 4, nLayers: 5 }, undefined, { seed: 4 });
    const x = input([1, 32, 32, 3], 8);
    const u0 = sut.stateDict().get('model.4.weight_u')!.data;
    tf.dispose(Object.values(sut.apply(x)));
    expect(sut.stateDict().get('model.4.weight_u')!.data).toEqual(u0);
    tf.dispose(Object.values(sut.apply(x, { training: true })));
    expect(sut.stateDict().get('model.4.weight_u')!.data).not.toEqual(u0);
    x.dispose();
    sut.dispose();
  });

  it('reproduces the official u after the D step’s two training-mode calls (ugatit-train-step fixture)', async () => {
    const before = await readTorchCheckpoint(path.join(stepFixture, 'params_before.pt'));
    const step = (await readSafetensors(path.join(stepFixture, 'step.safetensors'))).tensors;
    const meta = JSON.parse(readFileSync(path.join(stepFixture, 'meta.json'), 'utf8')) as { config: { ndf: number; img_size: number } };
    const x = input([1, meta.config.img_size, meta.config.img_size, 3], 9); // u does not depend on the input
    let compared = 0;
    for (const [name, nLayers] of [['disGA', 7], ['disGB', 7], ['disLA', 5], ['disLB', 5]] as const) {
      const sut = createDiscriminator({ ndf: meta.config.ndf, nLayers }, before[name]);
      for (let i = 0; i < 2; i++) tf.dispose(Object.values(sut.apply(x, { training: true })));
      for (const [k, t] of sut.stateDict()) {
        if (!k.endsWith('weight_u')) continue;
        const ref = step.get(`after_D_step/${name}.${k}`)!;
        const diff = Math.max(...Array.from(t.data, (v, i) => Math.abs(v - ref.data[i])));
        expect(diff, `${name}.${k}`).toBeLessThan(1e-5);
        compared++;
      }
      sut.dispose();
    }
    expect(compared).toBe(2 * 9 + 2 * 7); // global: 6 convs + gap + gmp + conv; local: 4 + 3
    x.dispose();
  });

  it('leaves the tensor count unchanged after a training forward (u updates) and a gradient step', () => {
    const sut = createDiscriminator({ ndf: 4, nLayers: 5 }, undefined, { seed: 5 });
    const x = input([2, 32, 32, 3], 10);
    const opt = tf.train.adam(1e-3);
    const vars = [...sut.trainableVariables().values()];
    const step = (): void => {
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.mean(tf.square(sut.apply(x, { training: true }).patch))) as tf.Scalar, vars);
      opt.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    tf.dispose(Object.values(sut.apply(x, { training: true })));
    expect(tf.memory().numTensors).toBe(before);
    step();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    x.dispose();
    sut.dispose();
  });

  it('refuses bad configurations, unsupported variants, bad weights and too-small inputs with typed errors', () => {
    expect(() => createDiscriminator({ ndf: 4, nLayers: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => createDiscriminator({ ndf: 4.5, nLayers: 5 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => createDiscriminator({ ndf: 4, nLayers: 5, variant: 'tensorflow' })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VARIANT' }));
    const sd = createDiscriminator({ ndf: 4, nLayers: 5 }, undefined, { seed: 6 }).stateDict();
    const before = tf.memory().numTensors;
    expect(() => createDiscriminator({ ndf: 4, nLayers: 5 }, withoutOne(sd, 'gap_fc.weight_v'))).toThrow(expect.objectContaining({ code: 'MISSING_TENSOR' }));
    expect(() => createDiscriminator({ ndf: 4, nLayers: 7 }, sd)).toThrow(NetworkError);
    expect(tf.memory().numTensors).toBe(before);
    const sut = createDiscriminator({ ndf: 4, nLayers: 5 }, sd);
    const tiny = input([1, 4, 4, 3], 11);
    expect(() => sut.apply(tiny)).toThrow(expect.objectContaining({ code: 'INPUT_SHAPE' }));
    tiny.dispose();
    sut.dispose();
  });
});

describe('gradients on wasm', () => {
  /** Gradients of a loss touching every output, keyed by official name, on the given backend. */
  async function gradsOn(backend: 'wasm' | 'cpu', gSd: StateDict, dSd: StateDict): Promise<Map<string, Float32Array>> {
    await selectBackend(backend);
    const gen = createGenerator({ ...SMALL, light: false }, gSd);
    const dis = createDiscriminator({ ndf: 4, nLayers: 5 }, dSd);
    const x = input([2, 16, 16, 3], 12);
    const vars = new Map<string, tf.Variable>([...gen.trainableVariables()].map(([k, v]) => [`G.${k}`, v] as [string, tf.Variable]));
    for (const [k, v] of dis.trainableVariables()) vars.set(`D.${k}`, v);
    const { value, grads } = tf.variableGrads(() => {
      const g = gen.apply(x);
      const up = tf.image.resizeBilinear(g.image, [32, 32]);
      const d = dis.apply(up, { training: true });
      return tf.addN([tf.mean(tf.square(d.patch)), tf.mean(tf.square(d.camLogit)), tf.mean(d.heatmap), tf.mean(g.camLogit), tf.mean(tf.square(g.heatmap))]) as tf.Scalar;
    }, [...vars.values()]);
    const out = new Map<string, Float32Array>();
    for (const [k, v] of vars) out.set(k, grads[v.name].dataSync() as Float32Array);
    tf.dispose([value, x, ...Object.values(grads)]);
    gen.dispose();
    dis.dispose();
    return out;
  }

  it('match the cpu backend for every generator and discriminator parameter', async () => {
    const gSd = createGenerator({ ...SMALL, light: false }, undefined, { seed: 16 }).stateDict();
    const dSd = createDiscriminator({ ndf: 4, nLayers: 5 }, undefined, { seed: 17 }).stateDict();
    const ref = await gradsOn('cpu', gSd, dSd);
    const sut = await gradsOn('wasm', gSd, dSd);
    expect([...sut.keys()]).toEqual([...ref.keys()]);
    let worst = 0;
    for (const [k, r] of ref) {
      const s = sut.get(k)!;
      const scale = Math.max(1e-3, ...Array.from(r, Math.abs));
      const rel = Math.max(...Array.from(r, (v, i) => Math.abs(v - s[i]))) / scale;
      expect(rel, k).toBeLessThan(1e-3);
      worst = Math.max(worst, rel);
    }
    console.log(`wasm vs cpu gradients: worst max|Δ|/max|g| = ${worst.toExponential(2)} over ${ref.size} parameters`);
  });
});
