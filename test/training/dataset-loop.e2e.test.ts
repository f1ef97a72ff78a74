/**
 * The whole dataset loop as an operator runs it, each step the real `webtoon` command in a child
 * process: build both domains from raw folders (real detectors), tag them (AFAD folders, a hand-made
 * CSV with quoted fields), describe them (stats JSON + chart), rebalance a2b from the reports in a
 * PGlite database, train with the weights. Then the trainer's loader draws with the frequencies the
 * weights ask for, and a weights file made before the dataset changed is refused.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase, openDatabase } from '../../src/db/client.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';
import { scanDataset } from '../../src/training/data/dataset.ts';
import { TrainDataLoader } from '../../src/training/data/loader.ts';
import { readManifest, type ManifestEntry } from '../../src/training/data/manifest.ts';
import { loadSamplingWeights } from '../../src/training/data/sampler.ts';
import { CAST, PAGES, writeRawPhotos, writeWebtoonPages } from './dataset-fixtures.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin/webtoon.mjs');
const STEP = 240_000;
/** The tiny network of the trainer suites: trains a step in seconds on wasm. */
const TINY = ['--light', '--img-size', '32', '--ngf', '4', '--n-res', '1', '--dis-layers-global', '4', '--dis-layers-local', '3', '--backend', 'wasm', '--sample-count', '1'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let work: string;
let env: Record<string, string>;

function webtoon(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: repoRoot, env, timeout: STEP - 10_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'webtoon-loop-'));
  env = { PATH: process.env.PATH ?? '', HOME: work, LOG_LEVEL: 'info', NODE_ENV: 'development', DATA_DIR: path.join(work, 'db'), ORT_PROVIDERS: 'cpu' };
  await writeRawPhotos(path.join(work, 'raw', 'photos'));
  await writeWebtoonPages(path.join(work, 'raw', 'pages'));
  // The bot's history: a2b model v1, 10 generations; members reported gender 5×, hands 4×, glasses once.
  const handle = await openDatabase({ pgliteDir: path.join(work, 'db', 'pglite') });
  try {
    await migrateDatabase(handle);
    const feedback = new FeedbackService(handle);
    await feedback.registerModelVersion({ version: 'v1', direction: 'a2b', fileSha256: 'c'.repeat(64) });
    for (let i = 0; i < 10; i++) {
      const member = `10000000000000000${i + 10}`;
      const g = await feedback.recordGeneration({
        userId: member, guildId: '200000000000000001', channelId: '300000000000000001', direction: 'a2b', modelVersion: 'v1',
        inputSha256: String(i).repeat(64), facesFound: 1, latencyMs: 120, status: 'ok',
      });
      const lost = [...(i < 5 ? ['gender'] : []), ...(i >= 5 && i < 9 ? ['hands'] : []), ...(i === 0 ? ['glasses'] : [])];
      if (lost.length) await feedback.report(g.id, member, lost as never);
    }
  } finally {
    await handle.close();
  }
}, STEP);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('build → tag → stats → rebalance → train --sampling-weights', () => {
  const ds = () => path.join(work, 'dataset');

  it('builds domain A from the photos (JSON summary) and domain B from the pages (plain summary)', async () => {
    const a = await webtoon(['dataset', 'build', '--domain', 'photo', '--in', path.join(work, 'raw', 'photos'), '--out', path.join(ds(), 'trainA'), '--size', '64', '--min-face', '24', '--json']);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).counts).toMatchObject({ sources: 8, added: 6, duplicates: 1, tooSmall: 1, unreadable: 1 });
    const b = await webtoon(['dataset', 'build', '--domain', 'webtoon', '--in', path.join(work, 'raw', 'pages'), '--out', path.join(ds(), 'trainB'), '--size', '64', '--min-face', '24']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain(`${path.join(ds(), 'trainB')}: 7 faces added (7 in the manifest)`);
    expect(b.stdout).toContain('raw images: 7 found, 7 processed, 0 already processed earlier, 0 unreadable, 1 without a face');
    expect(b.stdout).toContain('faces: 8 found, 7 added, 0 smaller than 24 px, 1 near-duplicates');
  }, STEP);

  it('tags A from the AFAD folders and B from a hand-made CSV with quoted fields', async () => {
    const a = await webtoon(['dataset', 'tag', '--manifest', path.join(ds(), 'trainA', 'manifest.jsonl'), '--from', 'afad', path.join(work, 'raw', 'photos')]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('4 of 6 entries matched, 4 got new tags');
    // the CSV an operator writes after looking at the crops: which cast member each crop shows
    const entries = await readManifest(path.join(ds(), 'trainB', 'manifest.jsonl'));
    const lines = ['path,attributes'];
    for (const [page, cast] of Object.entries(PAGES)) {
      const faces = entries.filter((e) => e.source === page).sort((x, y) => x.box.x - y.box.x);
      expect(faces).toHaveLength(cast.length);
      faces.forEach((e, i) => {
        const who = CAST[cast[i]];
        lines.push(`"trainB/${e.file}","gender=${who.gender}${who.glasses ? ';glasses' : ''}"`);
      });
    }
    lines.push('missing.png,hands');
    await writeFile(path.join(work, 'tags.csv'), `${lines.join('\n')}\n`);
    const b = await webtoon(['dataset', 'tag', '--manifest', path.join(ds(), 'trainB', 'manifest.jsonl'), '--csv', path.join(work, 'tags.csv')]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('7 of 7 entries matched, 7 got new tags');
    expect(b.stdout).toContain('warning: 1 row(s) name no image of the manifest:\n  line 9: missing.png');
    const tagged = await readManifest(path.join(ds(), 'trainB', 'manifest.jsonl'));
    expect(tagged.filter((e) => e.tags.includes('gender=male'))).toHaveLength(1);
    expect(tagged.filter((e) => e.tags.includes('glasses'))).toHaveLength(4);
  }, STEP);

  it('describes both domains: JSON stats and a chart, the gender gap flagged for a2b', async () => {
    const chart = path.join(work, 'stats.png');
    const r = await webtoon(['dataset', 'stats', '--data', ds(), '--json', '--chart', chart]);
    expect(r.code, r.stderr).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect([stats.A.images, stats.B.images]).toEqual([6, 7]);
    const gap = (f: string) => stats.gaps.find((g: { feature: string }) => g.feature === f);
    expect(gap('gender=male')).toMatchObject({ shareA: 2 / 6, shareB: 1 / 7, lostBy: 'a2b' });
    expect(gap('glasses')).toMatchObject({ shareA: 0, shareB: 4 / 7, lostBy: 'b2a' });
    expect((await sharp(chart).metadata()).format).toBe('png');
  }, STEP);

  it('rebalances a2b from the database: men ×4, hands need collecting, the file is stamped', async () => {
    const out = path.join(work, 'weights.json');
    const plan = path.join(work, 'plan.txt');
    const r = await webtoon(['rebalance', '--data', ds(), '--direction', 'a2b', '-o', out, '--plan', plan]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Rebalancing a2b (/webtoonify): 7 webtoon images in trainB/, 7 tagged, 1 reweighted.');
    expect(r.stdout).toContain('hands: reported on 40.0% of generations (4 reports), but no webtoon image is tagged with it: oversampling cannot help, collection is needed.');
    expect(r.stdout).toContain('gender: reported on 50.0% of generations (5 reports); gender=male on 1 of 7 webtoon images (14.3%). Oversampled ×4');
    // the plan docs/datasets.md quotes
    expect(readFileSync(plan, 'utf8')).toBe(
      [
        'Rebalancing a2b (/webtoonify): 7 webtoon images in trainB/, 7 tagged, 1 reweighted.',
        '1 attribute(s) oversampled, 1 need collection.',
        '- hands: reported on 40.0% of generations (4 reports), but no webtoon image is tagged with it: oversampling cannot help, collection is needed. About 3 webtoon images showing hands would make it 25.0% of the set.',
        '- gender: reported on 50.0% of generations (5 reports); gender=male on 1 of 7 webtoon images (14.3%). Oversampled ×4: now drawn 40.0% of the time. About 5 more such images would make it 50.0% of the set without oversampling.',
        '- glasses: reported on 10.0% of generations (1 report) — fewer than the reports needed or not above the average attribute; weights unchanged.',
        '',
      ].join('\n'),
    );
    const file = JSON.parse(readFileSync(out, 'utf8'));
    const male = (await readManifest(path.join(ds(), 'trainB', 'manifest.jsonl'))).find((e: ManifestEntry) => e.tags.includes('gender=male'))!;
    expect(file).toMatchObject({ domain: 'B', default: 1, weights: { [`trainB/${male.file}`]: 4 }, dataset: { split: 'trainB', images: 7 }, provenance: { source: 'report', modelVersion: 'v1' } });
    expect(Object.keys(file.weights)).toHaveLength(1);
  }, STEP);

  it('trains with the weights', async () => {
    const run = path.join(work, 'run');
    const r = await webtoon([
      'train', '--data', ds(), '--out', run, '--sampling-weights', path.join(work, 'weights.json'),
      ...TINY,
      '--iterations', '2', '--save-every', '2', '--sample-every', '2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toContain('sampling with weights');
    expect(existsSync(path.join(run, 'checkpoints'))).toBe(true);
    expect(statSync(path.join(run, 'losses.jsonl')).size).toBeGreaterThan(0);
  }, STEP);

  it("the trainer's loader draws each webtoon image as often as the weights ask (chi-square, p = 0.001)", async () => {
    const dataset = await scanDataset(ds());
    const weights = await loadSamplingWeights(path.join(work, 'weights.json'), dataset);
    const sut = await TrainDataLoader.create({ dataset, imgSize: 32, batch: 8, seed: 5, samplingWeights: weights, augment: false });
    const counts = new Map<string, number>();
    const steps = 120;
    for (let s = 0; s < steps; s++) for (const p of (await sut.batch(s)).pathsB) counts.set(p, (counts.get(p) ?? 0) + 1);
    const n = steps * 8;
    const w = [...weights.weights];
    const total = w.reduce((a, b) => a + b, 0);
    const chi = dataset.files.trainB.reduce((x, p, i) => x + ((counts.get(p) ?? 0) - (n * w[i]) / total) ** 2 / ((n * w[i]) / total), 0);
    expect(chi).toBeLessThan(22.46); // chi-square 0.999 quantile, 6 degrees of freedom
    const male = dataset.files.trainB[w.indexOf(4)];
    expect((counts.get(male) ?? 0) / n).toBeGreaterThan(0.3); // 4/10 expected, 1/7 without weights
  }, STEP);

  it('refuses the weights once domain B changed, with one line and no run written', async () => {
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#888888' } }).png().toFile(path.join(ds(), 'trainB', 'added-later.png'));
    const run = path.join(work, 'run-stale');
    const r = await webtoon(['train', '--data', ds(), '--out', run, '--sampling-weights', path.join(work, 'weights.json'), ...TINY, '--iterations', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('webtoon:'))).toEqual([
      expect.stringMatching(/^webtoon: TrainingError\[SAMPLING_WEIGHTS_INVALID\]: sampling weights .*weights\.json: made for another dataset: its trainB fingerprint is [0-9a-f]{12} \(7 images\), .* \(8 images\); run webtoon rebalance again$/),
    ]);
    expect(existsSync(run)).toBe(false);
  }, STEP);
});
