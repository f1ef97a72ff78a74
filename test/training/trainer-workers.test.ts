/**
 * Data-parallel training (`--workers`): real worker threads, each with its own tfjs-wasm instance.
 * A step of 2 workers × batch 1 equals a single-process step at batch 2 on the same images (losses,
 * the averaged gradients of both phases, every parameter after both Adam updates, the spectral-norm
 * u/v, over two steps at the official lr); a run with workers records the
 * effective batch, and stopping + resuming it ends where an uninterrupted run ends.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/training/backend.ts';
import { loadCheckpoint } from '../../src/training/checkpoint.ts';
import { NETWORK_NAMES, type NamedTensor, type UgatitState } from '../../src/training/tensors.ts';
import { DataParallelStep } from '../../src/training/trainer/data-parallel.ts';
import { resolveTrainOptions, resolveWorkers } from '../../src/training/trainer/options.ts';
import { UgatitTrainStep, type StepLosses } from '../../src/training/trainer/train-step.ts';
import { buildNetworks, resumeOptions, runTraining } from '../../src/training/trainer/trainer.ts';
import { TrainingError } from '../../src/training/training.errors.ts';
import { makeShapesDataset, TINY } from './trainer-helpers.ts';

let work: string;
let data: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'webtoon-workers-'));
  data = await makeShapesDataset({ n: 6, nTest: 2, size: 40, root: path.join(work, 'data') });
  await selectBackend('wasm');
});
afterAll(() => rm(work, { recursive: true, force: true }));

function maxDiff(a: NamedTensor, b: NamedTensor): number {
  expect(a.data.length).toBe(b.data.length);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

function randomImages(n: number, size: number, seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform([n, size, size, 3], -1, 1, 'float32', seed).dataSync() as Float32Array).slice();
}

describe('DataParallelStep (2 workers × batch 1) against UgatitTrainStep at batch 2', () => {
  const o = resolveTrainOptions({ ...TINY, dataDir: '-', outDir: '-', seed: 3 });
  const size = o.imgSize;
  type Grads = Record<'D' | 'G', Map<string, Float32Array>>;
  let single: { losses: StepLosses[]; state: UgatitState; grads: Grads };
  let parallel: { losses: StepLosses[]; state: UgatitState; grads: Grads };
  const capture = (into: Grads) => async (phase: 'D' | 'G', g: ReadonlyMap<string, tf.Tensor>) => {
    if (into[phase].size > 0) return; // first step only
    for (const [k, t] of g) into[phase].set(k, ((await t.data()) as Float32Array).slice());
  };
  const lr = 1e-4; // official; Adam's first steps are ±lr per element, so a larger lr only magnifies rounding

  beforeAll(async () => {
    const batches = [0, 1].map((k) => ({ a: randomImages(2, size, 10 + k), b: randomImages(2, size, 20 + k) }));
    const shape: [number, number, number, number] = [2, size, size, 3];
    // single process, batch 2
    {
      const nets = buildNetworks(o);
      const sut = new UgatitTrainStep(nets, { adam: { weightDecay: o.weightDecay } });
      const losses: StepLosses[] = [];
      const grads: Grads = { D: new Map(), G: new Map() };
      for (const { a, b } of batches) {
        const ta = tf.tensor4d(a, shape);
        const tb = tf.tensor4d(b, shape);
        losses.push(await sut.run(ta, tb, lr, { onGradients: capture(grads) }));
        tf.dispose([ta, tb]);
      }
      const state: UgatitState = {};
      for (const n of NETWORK_NAMES) state[n] = await nets[n].readStateDict();
      single = { losses, state, grads };
      sut.dispose();
      for (const n of Object.values(nets)) n.dispose();
    }
    // two worker threads of batch 1 each, from the same initial weights
    {
      const nets = buildNetworks(o);
      const sut = await DataParallelStep.start(nets, {
        workers: 2,
        backend: 'wasm',
        nets: { light: o.light, ngf: o.ngf, ndf: o.ndf, nRes: o.nRes, imgSize: o.imgSize, disLayersGlobal: o.disLayersGlobal, disLayersLocal: o.disLayersLocal },
        lowMemory: false,
        adam: { weightDecay: o.weightDecay },
      });
      try {
        const losses: StepLosses[] = [];
        const grads: Grads = { D: new Map(), G: new Map() };
        for (const { a, b } of batches) losses.push(await sut.run(a.slice(), b.slice(), shape, lr, { onGradients: capture(grads) }));
        parallel = { losses, state: await sut.readState(), grads };
      } finally {
        await sut.dispose();
        for (const n of Object.values(nets)) n.dispose();
      }
    }
  }, 600_000);

  it('gives the same 24 loss values at each of two steps (1e-5 relative)', () => {
    for (let s = 0; s < 2; s++) {
      const keys = Object.keys(single.losses[s]) as (keyof StepLosses)[];
      expect(keys.length).toBe(24);
      for (const k of keys) {
        const want = single.losses[s][k];
        expect(Math.abs(parallel.losses[s][k] - want), `step ${s + 1} ${k}: ${parallel.losses[s][k]} vs ${want}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
      }
    }
  });

  for (const phase of ['D', 'G'] as const) {
    it(`averages the ${phase} step's gradients to the batch-2 gradients (max |Δ| ≤ 1e-5·max(1, max|g|))`, () => {
      const want = single.grads[phase];
      expect(want.size).toBeGreaterThan(10);
      expect(parallel.grads[phase].size).toBe(want.size);
      for (const [k, g] of want) {
        const got = parallel.grads[phase].get(k)!;
        const scale = g.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        expect(maxDiff({ shape: [], data: got }, { shape: [], data: g }), `${k} (max|g| ${scale})`).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
      }
    });
  }

  it('ends with every parameter and spectral-norm vector within 1e-5 of the batch-2 step', () => {
    let compared = 0;
    let worst = 0;
    for (const n of NETWORK_NAMES) {
      for (const [k, t] of single.state[n]!) {
        const d = maxDiff(parallel.state[n]!.get(k)!, t);
        worst = Math.max(worst, d);
        expect(d, `${n}.${k}`).toBeLessThanOrEqual(1e-5);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(100);
    // the update really moved the weights (a no-op on both sides would also "match")
    const before = buildNetworks(o);
    try {
      const w0 = before.genA2B.stateDict().get('UpBlock2.6.weight') ?? [...before.genA2B.stateDict().values()][0];
      const w2 = single.state.genA2B!.get('UpBlock2.6.weight') ?? [...single.state.genA2B!.values()][0];
      expect(maxDiff(w0, w2)).toBeGreaterThan(1e-4);
    } finally {
      for (const n of Object.values(before)) n.dispose();
    }
  });
});

describe('runTraining with --workers 2', () => {
  const common = { ...TINY, iterations: 4, saveEvery: 2, sampleEvery: 4, seed: 5, workers: 2 };
  let stopped: string;
  let straight: string;
  let full: Awaited<ReturnType<typeof runTraining>>;

  beforeAll(async () => {
    stopped = path.join(work, 'w-stopped');
    straight = path.join(work, 'w-straight');
    await runTraining({ ...common, dataDir: data, outDir: stopped }, { progress: 'none', stopAfterStep: 2 });
    await runTraining(await resumeOptions(stopped), { progress: 'none', resume: true });
    full = await runTraining({ ...common, dataDir: data, outDir: straight }, { progress: 'none' });
  }, 600_000); // three runs, each starting two worker threads (tsx + tfjs-wasm each) on a shared machine

  it('reports and records workers × batch = effective batch', async () => {
    expect(full).toMatchObject({ workers: 2, effectiveBatch: 2, step: 4 });
    expect(full.imagesPerSecond).toBeGreaterThan(0);
    const run = JSON.parse(await readFile(path.join(straight, 'run.json'), 'utf8')) as { options: { workers: number }; effectiveBatch: number };
    expect(run.options.workers).toBe(2);
    expect(run.effectiveBatch).toBe(2);
    const ck = await loadCheckpoint(path.join(straight, 'checkpoints', 'step_0000004'));
    expect(ck.config.source).toMatchObject({ workers: 2, effectiveBatch: 2 });
  });

  it('stop at 2 + resume to 4 ends with the weights, u/v and Adam moments of an uninterrupted run', async () => {
    const a = await loadCheckpoint(path.join(stopped, 'checkpoints', 'step_0000004'));
    const b = await loadCheckpoint(path.join(straight, 'checkpoints', 'step_0000004'));
    for (const n of NETWORK_NAMES) for (const [k, t] of b.state[n]!) expect(maxDiff(a.state[n]!.get(k)!, t), `${n}.${k}`).toBeLessThanOrEqual(1e-5);
    for (const [k, t] of b.optimizer!) expect(maxDiff(a.optimizer!.get(k)!, t), k).toBeLessThanOrEqual(1e-5);
    const losses = async (dir: string) => (await readFile(path.join(dir, 'losses.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { Generator_loss: number }).Generator_loss);
    const la = await losses(stopped);
    const lb = await losses(straight);
    expect(la.length).toBe(4);
    la.forEach((v, i) => expect(v).toBeCloseTo(lb[i], 4));
  });

  it('refuses to resume with another worker count (the effective batch would change), writing nothing', async () => {
    const before = await readFile(path.join(stopped, 'run.json'), 'utf8');
    const err = await resumeOptions(stopped, { workers: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingError);
    expect((err as TrainingError).code).toBe('RESUME_FAILED');
    expect((err as Error).message).toMatch(/workers/);
    expect(await readFile(path.join(stopped, 'run.json'), 'utf8')).toBe(before);
  });
});

describe('resolveWorkers', () => {
  it('auto = the cores on wasm and cpu, 1 on a GPU backend', () => {
    expect(resolveWorkers('auto', 'wasm', 8)).toBe(8);
    expect(resolveWorkers('auto', 'cpu', 2)).toBe(2);
    expect(resolveWorkers('auto', 'webgpu', 8)).toBe(1);
    expect(resolveWorkers(3, 'wasm', 2)).toBe(3);
  });

  it('refuses several workers on webgpu with a one-line reason', () => {
    expect(() => resolveWorkers(2, 'webgpu', 8)).toThrow(TrainingError);
    expect(() => resolveWorkers(2, 'webgpu', 8)).toThrow(/--workers 2 needs the wasm or cpu backend/);
  });

  it('refuses a worker count that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5]) {
      expect(() => resolveTrainOptions({ ...TINY, dataDir: '-', outDir: '-', workers: bad })).toThrow(/--workers must be an integer/);
    }
  });
});
