/**
 * Rebalancing-ready sampling: the alias table draws with the requested probabilities (chi-square),
 * the sampling-weights file is validated with clear errors, and the loader's empirical frequencies
 * follow the weights file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanDataset, type Dataset } from '../../src/training/data/dataset.ts';
import { TrainDataLoader } from '../../src/training/data/loader.ts';
import { Rng } from '../../src/training/data/rng.ts';
import { AliasTable, DomainSampler, loadSamplingWeights } from '../../src/training/data/sampler.ts';
import { TrainingError } from '../../src/training/training.errors.ts';
import { makeShapesDataset } from './trainer-helpers.ts';

/** Pearson's chi-square statistic of observed counts against expected probabilities. */
function chiSquare(counts: number[], probs: number[], n: number): number {
  let x = 0;
  probs.forEach((p, i) => {
    if (p > 0) x += (counts[i] - n * p) ** 2 / (n * p);
  });
  return x;
}

// 99.9th percentiles of chi-square: df 3 → 16.27, df 5 → 20.52
const CHI2_999 = { 3: 16.27, 5: 20.52 } as Record<number, number>;

describe('AliasTable', () => {
  it('draws each index with probability proportional to its weight (chi-square, p = 0.001)', () => {
    const weights = [1, 2, 0, 4, 0.5, 2.5];
    const sut = new AliasTable(weights);
    const rng = new Rng(42);
    const n = 60_000;
    const counts = new Array(weights.length).fill(0);
    for (let i = 0; i < n; i++) counts[sut.draw(rng.next(), rng.next())]++;
    expect(counts[2]).toBe(0); // weight 0 is never drawn
    const total = weights.reduce((a, b) => a + b, 0);
    expect(chiSquare(counts, weights.map((w) => w / total), n)).toBeLessThan(CHI2_999[5]);
  });

  it('refuses negative, non-finite and all-zero weights', () => {
    expect(() => new AliasTable([1, -1])).toThrow(RangeError);
    expect(() => new AliasTable([1, Number.NaN])).toThrow(RangeError);
    expect(() => new AliasTable([0, 0])).toThrow(/positive/);
  });
});

describe('DomainSampler', () => {
  it('without weights visits every image exactly once per epoch, in a new order each epoch', () => {
    const sut = new DomainSampler(10, 1, 0);
    const e0 = Array.from({ length: 10 }, (_, i) => sut.indexAt(i));
    const e1 = Array.from({ length: 10 }, (_, i) => sut.indexAt(10 + i));
    expect([...e0].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect([...e1].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(e1).not.toEqual(e0);
  });

  it('is a pure function of (seed, domain, draw): asking out of order gives the same answers', () => {
    const a = new DomainSampler(7, 9, 1, [1, 2, 3, 4, 5, 6, 7]);
    const b = new DomainSampler(7, 9, 1, [1, 2, 3, 4, 5, 6, 7]);
    const forward = Array.from({ length: 50 }, (_, i) => a.indexAt(i));
    const backward = Array.from({ length: 50 }, (_, i) => b.indexAt(49 - i)).reverse();
    expect(backward).toEqual(forward);
    expect(new DomainSampler(7, 9, 0, [1, 2, 3, 4, 5, 6, 7]).indexAt(3)).toBeTypeOf('number');
  });
});

describe('loadSamplingWeights', () => {
  let root: string;
  let ds: Dataset;
  let dir: string;
  beforeAll(async () => {
    root = await makeShapesDataset({ n: 4, nTest: 0, size: 40 });
    ds = await scanDataset(root);
    dir = await mkdtemp(path.join(tmpdir(), 'webtoon-weights-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, content: unknown): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  }

  async function expectInvalid(file: string, pattern: RegExp): Promise<void> {
    const err = await loadSamplingWeights(file, ds).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TrainingError);
    expect((err as TrainingError).code).toBe('SAMPLING_WEIGHTS_INVALID');
    expect((err as Error).message).toMatch(pattern);
  }

  it('maps paths relative to the dataset dir onto the domain images, with the default for the rest', async () => {
    const file = await write('ok.json', { domain: 'B', weights: { 'trainB/img_001.png': 5, './trainB/img_002.png': 0 }, default: 1 });
    const sut = await loadSamplingWeights(file, ds);
    expect(sut.domain).toBe('B');
    expect([...sut.weights]).toEqual([1, 5, 0, 1]);
    expect(sut.matched).toBe(2);
    expect(sut.unknownPaths).toEqual([]);
  });

  it('counts paths that are not training images of the domain instead of failing', async () => {
    const file = await write('unknown.json', { domain: 'A', weights: { 'trainA/img_000.png': 2, 'trainA/missing.png': 3, 'trainB/img_000.png': 1 } });
    const sut = await loadSamplingWeights(file, ds);
    expect(sut.unknownPaths).toEqual(['trainA/missing.png', 'trainB/img_000.png']);
    expect([...sut.weights]).toEqual([2, 1, 1, 1]);
  });

  it('refuses a negative weight, naming the path', async () => {
    await expectInvalid(await write('neg.json', { domain: 'B', weights: { 'trainB/img_000.png': -0.5 } }), /"trainB\/img_000.png" is negative/);
  });

  it('refuses a domain other than A or B', async () => {
    await expectInvalid(await write('dom.json', { domain: 'C', weights: {} }), /"domain" must be "A" or "B"/);
  });

  it('refuses a non-numeric weight and a negative default', async () => {
    await expectInvalid(await write('str.json', { domain: 'A', weights: { 'trainA/img_000.png': 'big' } }), /must be a number/);
    await expectInvalid(await write('def.json', { domain: 'A', weights: {}, default: -1 }), /"default" must be a number >= 0/);
  });

  it('refuses a file that is not JSON, and weights that leave nothing to draw', async () => {
    await expectInvalid(await write('bad.json', '{ nope'), /cannot read it as JSON/);
    await expectInvalid(await write('zero.json', { domain: 'A', weights: {}, default: 0 }), /every image of domain A has weight 0/);
  });
});

describe('weighted sampling through the loader', () => {
  it('draws domain B images with the empirical frequencies the weights file asks for (chi-square)', async () => {
    const root = await makeShapesDataset({ n: 4, nTest: 0, size: 36 });
    const ds = await scanDataset(root);
    const file = path.join(root, 'weights.json');
    await writeFile(file, JSON.stringify({ domain: 'B', weights: { 'trainB/img_000.png': 6, 'trainB/img_001.png': 3, 'trainB/img_003.png': 0 }, default: 1 }));
    const weights = await loadSamplingWeights(file, ds);
    const sut = await TrainDataLoader.create({ dataset: ds, imgSize: 32, batch: 8, seed: 11, samplingWeights: weights, augment: false });
    const counts = new Map<string, number>();
    const steps = 150;
    for (let s = 0; s < steps; s++) for (const p of (await sut.batch(s)).pathsB) counts.set(p, (counts.get(p) ?? 0) + 1);
    const n = steps * 8;
    const order = ds.files.trainB;
    const observed = order.map((p) => counts.get(p) ?? 0);
    expect(observed[3]).toBe(0);
    const probs = [6, 3, 1, 0].map((w) => w / 10);
    expect(chiSquare(observed, probs, n)).toBeLessThan(CHI2_999[3]);
    // domain A stays on shuffled epochs: each image equally often
    const a = new Map<string, number>();
    for (let s = 0; s < 3; s++) for (const p of (await sut.batch(s)).pathsA) a.set(p, (a.get(p) ?? 0) + 1);
    expect([...a.values()].every((c) => c === 6)).toBe(true);
    await rm(root, { recursive: true, force: true });
  });
});
