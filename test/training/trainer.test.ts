/**
 * The training loop end to end on a tiny generated dataset (wasm backend): every bad input is
 * refused with a typed error before anything is written; a run writes losses.jsonl, sample grids,
 * the loss curve and checkpoints with Adam state; a stopped-and-resumed run ends with the same
 * weights as an uninterrupted one; --init fine-tunes from a checkpoint.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../src/training/checkpoint.ts';
import { selectBackend } from '../../src/training/backend.ts';
import { NETWORK_NAMES, type NamedTensor, type UgatitState } from '../../src/training/tensors.ts';
import { resolveTrainOptions } from '../../src/training/trainer/options.ts';
import { buildNetworks, resumeOptions, runTraining } from '../../src/training/trainer/trainer.ts';
import { TrainingError } from '../../src/training/training.errors.ts';
import { readTorchCheckpoint } from '../../src/training/torch-import/index.ts';
import { makeShapesDataset, TINY } from './trainer-helpers.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let data: string;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'webtoon-train-'));
  data = await makeShapesDataset({ n: 6, nTest: 2, size: 40, root: path.join(work, 'data') });
  await selectBackend('wasm');
});
afterAll(() => rm(work, { recursive: true, force: true }));

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function expectRefused(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected TrainingError[${code}]`).toBeInstanceOf(TrainingError);
  expect((err as TrainingError).code).toBe(code);
  if (message) expect((err as Error).message).toMatch(message);
}

function maxDiff(a: NamedTensor, b: NamedTensor): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

describe('runTraining input checks (nothing is written)', () => {
  it('refuses a dataset without trainA/trainB', async () => {
    const bad = path.join(work, 'no-train');
    await mkdir(path.join(bad, 'trainA'), { recursive: true });
    const out = path.join(work, 'out-no-train');
    await expectRefused(runTraining({ ...TINY, dataDir: bad, outDir: out }, { progress: 'none' }), 'DATA_DIR_INVALID', /trainB/);
    expect(await exists(out)).toBe(false);
  });

  it('refuses an image size too small for the 7-layer global discriminator, saying what size works', async () => {
    const out = path.join(work, 'out-small');
    await expectRefused(runTraining({ ...TINY, disLayersGlobal: 7, imgSize: 64, dataDir: data, outDir: out }, { progress: 'none' }), 'IMG_SIZE_INVALID', /≥ 96/);
    await expectRefused(runTraining({ ...TINY, imgSize: 30, dataDir: data, outDir: out }, { progress: 'none' }), 'IMG_SIZE_INVALID', /multiple of 4/);
    expect(await exists(out)).toBe(false);
  });

  it('refuses out-of-range options with the flag name', async () => {
    expect(() => resolveTrainOptions({ dataDir: data, outDir: 'x', ngf: 0 })).toThrow(/--ngf must be an integer/);
    expect(() => resolveTrainOptions({ dataDir: data, outDir: 'x', lr: Number.NaN })).toThrow(/--lr must be a number/);
  });

  it('refuses a domain with no readable image', async () => {
    const bad = await makeShapesDataset({ n: 2, nTest: 0, size: 36, root: path.join(work, 'empty-b') });
    await rm(path.join(bad, 'trainB'), { recursive: true });
    await mkdir(path.join(bad, 'trainB'));
    await writeFile(path.join(bad, 'trainB', 'x.png'), 'not an image');
    const out = path.join(work, 'out-empty');
    await expectRefused(runTraining({ ...TINY, dataDir: bad, outDir: out }, { progress: 'none' }), 'DOMAIN_EMPTY', /domain B/);
    expect(await exists(out)).toBe(false);
  });

  it('refuses a sampling-weights file with a negative weight', async () => {
    const file = path.join(work, 'neg-weights.json');
    await writeFile(file, JSON.stringify({ domain: 'B', weights: { 'trainB/img_000.png': -1 } }));
    const out = path.join(work, 'out-neg');
    await expectRefused(runTraining({ ...TINY, dataDir: data, outDir: out, samplingWeights: file }, { progress: 'none' }), 'SAMPLING_WEIGHTS_INVALID', /negative/);
    expect(await exists(out)).toBe(false);
  });

  it('refuses to start over a run dir that holds a run, and to resume a dir that holds none', async () => {
    const out = path.join(work, 'out-used');
    await mkdir(out, { recursive: true });
    await writeFile(path.join(out, 'run.json'), '{"keep":"me"}');
    await expectRefused(runTraining({ ...TINY, dataDir: data, outDir: out }, { progress: 'none' }), 'RUN_DIR_IN_USE', /--resume/);
    expect(await readFile(path.join(out, 'run.json'), 'utf8')).toBe('{"keep":"me"}');
    expect(await readdir(out)).toEqual(['run.json']);
    await expectRefused(resumeOptions(path.join(work, 'never-ran')), 'RESUME_FAILED');
  });

  it('refuses an --init checkpoint whose shapes do not fit the configuration', async () => {
    const other = resolveTrainOptions({ ...TINY, ngf: 8, ndf: 8, dataDir: data, outDir: 'unused' });
    const nets = buildNetworks(other);
    const state: UgatitState = {};
    for (const n of NETWORK_NAMES) state[n] = nets[n].stateDict();
    for (const n of Object.values(nets)) n.dispose();
    const ck = path.join(work, 'ngf8-ckpt');
    await saveCheckpoint(ck, {
      config: { format: 'webtoonfaces-ugatit', formatVersion: 1, variant: 'pytorch', light: true, ngf: 8, ndf: 8, n_blocks: 1, img_size: 32, dis_layers_global: 4, dis_layers_local: 3, step: 0, data_manifest_hash: null, source: {} },
      state,
    });
    const out = path.join(work, 'out-init-bad');
    await expectRefused(runTraining({ ...TINY, dataDir: data, outDir: out, init: ck }, { progress: 'none' }), 'INIT_FAILED', /does not fit/);
    await expectRefused(runTraining({ ...TINY, dataDir: data, outDir: out, init: path.join(work, 'missing.pt') }, { progress: 'none' }), 'INIT_FAILED');
    expect(await exists(out)).toBe(false);
  });
});

describe('runTraining divergence', () => {
  it('stops with DIVERGED and writes no checkpoint of broken weights when a loss turns non-finite', async () => {
    const out = path.join(work, 'run-diverged');
    await expectRefused(runTraining({ ...TINY, dataDir: data, outDir: out, iterations: 5, lr: 1e30, saveEvery: 1, sampleCount: 0 }, { progress: 'none' }), 'DIVERGED', /non-finite/);
    expect(await readdir(path.join(out, 'checkpoints'))).toEqual([]);
  });
});

describe('runTraining outputs and exact resume', () => {
  const common = { ...TINY, iterations: 6, saveEvery: 2, sampleEvery: 3, seed: 7 };
  let stopped: string;
  let straight: string;

  beforeAll(async () => {
    stopped = path.join(work, 'run-stopped');
    straight = path.join(work, 'run-straight');
    const first = await runTraining({ ...common, dataDir: data, outDir: stopped }, { progress: 'none', stopAfterStep: 3 });
    expect(first.step).toBe(3);
    expect(first.stoppedEarly).toBe(true);
    const resumed = await runTraining(await resumeOptions(stopped), { progress: 'none', resume: true });
    expect(resumed.startStep).toBe(3);
    expect(resumed.step).toBe(6);
    const full = await runTraining({ ...common, dataDir: data, outDir: straight }, { progress: 'none' });
    expect(full.step).toBe(6);
  });

  it('writes one losses.jsonl line per step with every official loss term and the learning rate', async () => {
    const lines = (await readFile(path.join(straight, 'losses.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const k of ['Discriminator_loss', 'Generator_loss', 'G_recon_loss_A', 'G_cam_loss_B', 'D_ad_cam_loss_LB']) expect(Number.isFinite(lines[0][k])).toBe(true);
    // linear decay over the second half: steps 4, 5, 6 of 6
    expect(lines.map((l) => l.lr)).toEqual([1e-4, 1e-4, 1e-4, expect.closeTo(2e-4 / 3, 12), expect.closeTo(1e-4 / 3, 12), 0]);
  });

  it('writes sample grids and a loss-curve PNG that decode as images', async () => {
    expect(await readdir(path.join(straight, 'samples'))).toEqual(['step_0000003.png', 'step_0000006.png']);
    const grid = await sharp(path.join(straight, 'samples', 'step_0000006.png')).metadata();
    // 7 rows of 96-px tiles (32² enlarged ×3) under a 26-px header; 2+2 columns, label column and gap
    expect(grid.height).toBe(26 + 7 * 96);
    expect(grid.width).toBe(130 + 4 * 96 + 12);
    const curve = await sharp(path.join(straight, 'loss-curve.png')).stats();
    expect(curve.channels.length).toBeGreaterThanOrEqual(3);
    expect(curve.isOpaque).toBe(true);
  });

  it('checkpoints every --save-every steps with weights, Adam moments and step, keeping the newest', async () => {
    expect(await readdir(path.join(straight, 'checkpoints'))).toEqual(['step_0000002', 'step_0000004', 'step_0000006']);
    const ck = await loadCheckpoint(path.join(straight, 'checkpoints', 'step_0000006'));
    expect(ck.config.step).toBe(6);
    expect(ck.config.data_manifest_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(ck.optimizer?.get('__step__')?.data[0]).toBe(6);
    expect(ck.optimizer?.has('G.m.genA2B.UpBlock2.2.weight')).toBe(true);
    expect(ck.optimizer?.has('D.v.disLB.model.1.weight_orig')).toBe(true);
  });

  it('ends a stopped-then-resumed run with the weights of an uninterrupted one (within 1e-5)', async () => {
    const a = await loadCheckpoint(path.join(stopped, 'checkpoints', 'step_0000006'));
    const b = await loadCheckpoint(path.join(straight, 'checkpoints', 'step_0000006'));
    let compared = 0;
    for (const n of NETWORK_NAMES) {
      for (const [k, t] of b.state[n]!) {
        expect(maxDiff(a.state[n]!.get(k)!, t), `${n}.${k}`).toBeLessThanOrEqual(1e-5);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(100);
    for (const [k, t] of b.optimizer!) expect(maxDiff(a.optimizer!.get(k)!, t), k).toBeLessThanOrEqual(1e-5);
    const la = (await readFile(path.join(stopped, 'losses.jsonl'), 'utf8')).trim().split('\n').map((l) => ({ ...JSON.parse(l), time: 0 }));
    const lb = (await readFile(path.join(straight, 'losses.jsonl'), 'utf8')).trim().split('\n').map((l) => ({ ...JSON.parse(l), time: 0 }));
    expect(la).toEqual(lb);
  });

  it('fine-tunes from --init: the run starts from the given weights', async () => {
    const init = path.join(straight, 'checkpoints', 'step_0000006');
    const out = path.join(work, 'run-init');
    // lr 0 and no weight decay: one step must leave the generators exactly as loaded
    await runTraining({ ...TINY, dataDir: data, outDir: out, init, iterations: 1, lr: 0, weightDecay: 0, sampleCount: 0 }, { progress: 'none' });
    const src = await loadCheckpoint(init);
    const got = await loadCheckpoint(path.join(out, 'checkpoints', 'step_0000001'));
    expect(got.config.step).toBe(1);
    expect(got.config.source.init).toBe(init);
    for (const [k, t] of src.state.genA2B!) expect(maxDiff(got.state.genA2B!.get(k)!, t), k).toBe(0);
  });

  it('fine-tunes from an official UGATIT-pytorch .pt given to --init', async () => {
    const pt = path.resolve(repoRoot, '../shared/fixtures/ugatit-train-step/light-ngf8-nb2-96/params_before.pt');
    const out = path.join(work, 'run-init-pt');
    const cfg = { light: true, imgSize: 96, ngf: 8, ndf: 8, nRes: 2, disLayersGlobal: 7, disLayersLocal: 5, backend: 'wasm' as const };
    await runTraining({ ...cfg, dataDir: data, outDir: out, init: pt, iterations: 1, lr: 0, weightDecay: 0, sampleCount: 0 }, { progress: 'none' });
    const official = await readTorchCheckpoint(pt);
    const got = await loadCheckpoint(path.join(out, 'checkpoints', 'step_0000001'));
    expect(got.config.source.init).toBe(pt);
    for (const [k, t] of official.genB2A!) {
      // this fixture moved some ρ outside [0, 1]; the step clips them like the official RhoClipper
      const want = k.endsWith('rho') ? { shape: t.shape, data: t.data.map((v) => Math.min(1, Math.max(0, v))) } : t;
      expect(maxDiff(got.state.genB2A!.get(k)!, want), k).toBe(0);
    }
  });
});
