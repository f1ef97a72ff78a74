/**
 * Parity of one training iteration with the official UGATIT-pytorch code, on the recorded fixture
 * `../shared/fixtures/ugatit-train-step/light-ngf8-nb2-96/` (see its README): every loss term, every
 * gradient after the D and G steps, spectral norm's u after each step, and ρ after Adam + clipping.
 * Runs the same UgatitTrainStep class the CLI trainer uses, on wasm and on webgpu. webgpu runs on a
 * hardware adapter where one exists, else on Mesa's software OpenGL ES (llvmpipe, through EGL; Debian
 * libegl1 libegl-mesa0 libgles2, which .ci/run installs): where neither starts the webgpu block is
 * skipped with the reason, except under CI=true, where that is a failure.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, type BackendPreference } from '../../src/training/backend.ts';
import { createDiscriminator, createGenerator } from '../../src/training/networks/index.ts';
import { readSafetensors } from '../../src/training/safetensors.ts';
import type { NamedTensor } from '../../src/training/tensors.ts';
import { readTorchCheckpoint } from '../../src/training/torch-import/index.ts';
import { UgatitTrainStep, type StepLosses, type UgatitNetworks } from '../../src/training/trainer/train-step.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtureDir = path.resolve(repoRoot, '../shared/fixtures/ugatit-train-step/light-ngf8-nb2-96');

interface Meta {
  config: { img_size: number; ngf: number; ndf: number; n_blocks: number; light: boolean; dis_layers_global: number; dis_layers_local: number };
  losses: Record<string, number>;
}

/** NCHW → NHWC. */
function toNhwc(t: NamedTensor): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(t.data, t.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Whether webgpu starts here (hardware, or software GL for this test); the reason when it does not. */
async function probeWebgpu(): Promise<{ ok: true; adapter: string } | { ok: false; reason: string }> {
  try {
    const choice = await selectBackend('webgpu');
    return { ok: true, adapter: choice.adapter ?? '' };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
const webgpu = await probeWebgpu();
if (!webgpu.ok) {
  if (process.env.CI === 'true') throw new Error(`CI: the webgpu backend must start for the train-step parity test: ${webgpu.reason}`);
  console.warn(`train-step parity on webgpu skipped: ${webgpu.reason}`);
}

const cases: { backend: BackendPreference; lowMemory: boolean }[] = [
  { backend: 'wasm', lowMemory: false },
  { backend: 'wasm', lowMemory: true },
  // one-tape mode is what webgpu runs by default (low memory is a wasm-heap measure); software GL
  // compiles a shader per kernel shape, so one webgpu case keeps the file's run time bearable
  { backend: 'webgpu', lowMemory: false },
];

for (const { backend, lowMemory } of cases) describe.skipIf(backend === 'webgpu' && !webgpu.ok)(`UgatitTrainStep parity with the official training iteration on ${backend} (G step ${lowMemory ? 'low-memory: one tape per D, per domain for G' : 'one tape per step'})`, () => {
  const meta = JSON.parse(readFileSync(path.join(fixtureDir, 'meta.json'), 'utf8')) as Meta;
  let ref: Map<string, NamedTensor>;
  let sut: UgatitTrainStep;
  let nets: UgatitNetworks;
  let losses: StepLosses;
  const grads = { D: new Map<string, Float32Array>(), G: new Map<string, Float32Array>() };
  const uAfterD = new Map<string, Float32Array>();
  const uAfterG = new Map<string, Float32Array>();
  const rhoAfterG = new Map<string, Float32Array>();

  // shader compilation on software GL dominates: minutes on a loaded 2-core machine
  beforeAll(async () => {
    await selectBackend(backend);
    const before = await readTorchCheckpoint(path.join(fixtureDir, 'params_before.pt'));
    ref = (await readSafetensors(path.join(fixtureDir, 'step.safetensors'))).tensors;
    const c = meta.config;
    const gen = { light: c.light, ngf: c.ngf, n_blocks: c.n_blocks, img_size: c.img_size };
    nets = {
      genA2B: createGenerator(gen, before.genA2B),
      genB2A: createGenerator(gen, before.genB2A),
      disGA: createDiscriminator({ ndf: c.ndf, nLayers: c.dis_layers_global }, before.disGA),
      disGB: createDiscriminator({ ndf: c.ndf, nLayers: c.dis_layers_global }, before.disGB),
      disLA: createDiscriminator({ ndf: c.ndf, nLayers: c.dis_layers_local }, before.disLA),
      disLB: createDiscriminator({ ndf: c.ndf, nLayers: c.dis_layers_local }, before.disLB),
    };
    sut = new UgatitTrainStep(nets, { lowMemory });
    const realA = toNhwc(ref.get('real_A')!);
    const realB = toNhwc(ref.get('real_B')!);
    const snapshot = async (into: Map<string, Float32Array>, suffix: string) => {
      for (const [net, n] of Object.entries(nets)) {
        for (const [k, t] of await n.readStateDict()) if (k.endsWith(suffix)) into.set(`${net}.${k}`, t.data);
      }
    };
    losses = await sut.run(realA, realB, 1e-4, {
      onGradients: async (phase, g) => {
        for (const [k, t] of g) grads[phase].set(k, (await t.data()) as Float32Array);
      },
      afterDStep: () => snapshot(uAfterD, 'weight_u'),
    });
    await snapshot(uAfterG, 'weight_u');
    await snapshot(rhoAfterG, 'rho');
    realA.dispose();
    realB.dispose();
  }, backend === 'webgpu' ? 600_000 : undefined);

  afterAll(() => {
    sut?.dispose();
    for (const n of Object.values(nets ?? {})) n.dispose();
  });

  it('matches every loss term to 1e-4 relative', () => {
    const names = Object.keys(meta.losses);
    expect(names.length).toBe(24);
    for (const name of names) {
      const want = meta.losses[name];
      const got = losses[name as keyof StepLosses];
      expect(Math.abs(got - want), `${name}: ours ${got}, official ${want}`).toBeLessThanOrEqual(1e-4 * Math.abs(want));
    }
  });

  for (const phase of ['D', 'G'] as const) {
    it(`matches every gradient of the ${phase} step (max |Δ| ≤ 1e-3·max|ref|)`, () => {
      const prefix = `grad_${phase}_step/`;
      const refKeys = [...ref.keys()].filter((k) => k.startsWith(prefix));
      expect(refKeys.length).toBe(phase === 'D' ? 60 : 64); // 2 global × 17 + 2 local × 13 params; 2 generators × 32
      const ours = grads[phase];
      expect(ours.size).toBe(refKeys.length);
      for (const k of refKeys) {
        const name = k.slice(prefix.length);
        const want = ref.get(k)!;
        const got = ours.get(name);
        expect(got, `no gradient for ${name}`).toBeDefined();
        expect(got!.length).toBe(want.data.length);
        const scale = maxAbs(want.data);
        const tol = scale === 0 ? 1e-6 : 1e-3 * scale;
        expect(maxAbsDiff(got!, want.data), `${name} (max|ref| ${scale})`).toBeLessThanOrEqual(tol);
      }
    });
  }

  for (const [phase, ours] of [
    ['D', uAfterD],
    ['G', uAfterG],
  ] as const) {
    it(`matches spectral norm's u after the ${phase} step to 1e-5`, () => {
      const prefix = `after_${phase}_step/`;
      const refKeys = [...ref.keys()].filter((k) => k.startsWith(prefix) && k.endsWith('weight_u'));
      expect(refKeys.length).toBe(32);
      for (const k of refKeys) {
        const name = k.slice(prefix.length);
        expect(maxAbsDiff(ours.get(name)!, ref.get(k)!.data), name).toBeLessThanOrEqual(1e-5);
      }
    });
  }

  it('matches ρ after the Adam step and clipping (2.5e-4; exact at the clip bounds)', () => {
    const refKeys = [...ref.keys()].filter((k) => k.startsWith('after_G_step/') && k.endsWith('rho'));
    expect(refKeys.length).toBe(12);
    let clipped = 0;
    for (const k of refKeys) {
      const name = k.slice('after_G_step/'.length);
      const want = ref.get(k)!.data;
      const got = rhoAfterG.get(name)!;
      expect(maxAbsDiff(got, want), name).toBeLessThanOrEqual(2.5e-4);
      for (let i = 0; i < want.length; i++) {
        if (want[i] === 0 || want[i] === 1) {
          clipped++;
          expect(got[i], `${name}[${i}]`).toBe(want[i]);
        }
      }
    }
    expect(clipped).toBeGreaterThan(0); // the fixture moves some ρ outside [0, 1]
  });
});
