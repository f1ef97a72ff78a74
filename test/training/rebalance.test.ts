import { execFile } from 'node:child_process';
import { RebalanceError } from '../../src/training/training.errors.ts';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { computeSamplingWeights, parseFactors, parseLabels } from '../../src/training/data/rebalance.ts';
import { openDatabase, migrateDatabase } from '../../src/db/client.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/webtoon.mjs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'webtoon-rebalance-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function expectRebalanceError(act: () => unknown, code: string, text: string): void {
  try {
    act();
  } catch (err) {
    expect(err).toBeInstanceOf(RebalanceError);
    expect((err as RebalanceError).code).toBe(code);
    expect((err as Error).message).toContain(text);
    return;
  }
  throw new Error('expected a RebalanceError');
}

describe('parseLabels', () => {
  it('reads CSV with ;-separated attributes and normalises paths', () => {
    const sut = parseLabels('path,attributes\n./trainB/a.png,glasses;gender\ntrainB\\b.png,\n\n', 'labels.csv');
    expect(sut.get('trainB/a.png')).toEqual(['glasses', 'gender']);
    expect(sut.get('trainB/b.png')).toEqual([]);
  });

  it('reads JSON and drops duplicate attributes', () => {
    const sut = parseLabels('{"trainB/a.png":["hands","hands"]}', 'labels.json');
    expect(sut.get('trainB/a.png')).toEqual(['hands']);
  });

  it('refuses an unknown attribute naming the line and the vocabulary', () => {
    expectRebalanceError(() => parseLabels('path,attributes\ntrainB/a.png,glases', 'l.csv'), 'UNKNOWN_ATTRIBUTE', 'l.csv line 2: unknown attribute "glases"');
  });

  it('reads quoted fields: "trainB/img3.png","glasses" is the image trainB/img3.png with glasses (issue 15)', () => {
    const sut = parseLabels('path,attributes\n"trainB/img3.png","glasses"\n"trainB/a, b.png","gender=male;glasses"\n', 'labels.csv');
    expect(sut.get('trainB/img3.png')).toEqual(['glasses']);
    expect(sut.get('trainB/a, b.png')).toEqual(['gender=male', 'glasses']);
    expect(sut.size).toBe(2);
  });

  it('reads a spreadsheet export: BOM, CRLF and a quoted comma-separated tag list', () => {
    const sut = parseLabels('\ufeffpath,attributes\r\ntrainB/a.png,"glasses, hands"\r\n', 'labels.csv');
    expect(sut.get('trainB/a.png')).toEqual(['glasses', 'hands']);
  });

  it('refuses malformed CSV (an unclosed quote) naming the file', () => {
    expectRebalanceError(() => parseLabels('path,attributes\n"trainB/a.png,glasses\n', 'l.csv'), 'LABELS_INVALID', 'l.csv: not valid CSV');
  });

  it('refuses a CSV without the header, bad JSON, and a non-list JSON value', () => {
    expectRebalanceError(() => parseLabels('trainB/a.png,glasses', 'l.csv'), 'LABELS_INVALID', 'header "path,attributes"');
    expectRebalanceError(() => parseLabels('{nope', 'l.json'), 'LABELS_INVALID', 'not valid JSON');
    expectRebalanceError(() => parseLabels('{"trainB/a.png":"glasses"}', 'l.json'), 'LABELS_INVALID', 'must map to a list');
  });
});

describe('parseFactors', () => {
  it('parses attribute=factor pairs', () => {
    expect(parseFactors('glasses=3, gender=1.5')).toEqual({ glasses: 3, gender: 1.5 });
  });

  it('refuses factors below 1, non-numbers and unknown attributes', () => {
    expectRebalanceError(() => parseFactors('glasses=0.5'), 'FACTORS_INVALID', 'factor >= 1');
    expectRebalanceError(() => parseFactors('glasses'), 'FACTORS_INVALID', 'attribute=factor');
    expectRebalanceError(() => parseFactors('wings=2'), 'UNKNOWN_ATTRIBUTE', 'unknown attribute "wings"');
  });
});

describe('computeSamplingWeights', () => {
  const files = ['trainB/1.png', 'trainB/2.png', 'trainB/3.png', 'trainB/4.png'];
  const labels = parseLabels('path,attributes\ntrainB/1.png,glasses\ntrainB/2.png,glasses;gender\ntrainB/3.png,\ntrainB/9.png,hands', 'l.csv');

  it('weights each image by the largest factor among its attributes, others stay at the default 1', () => {
    const sut = computeSamplingWeights('B', files, labels, { glasses: 3, gender: 2 });
    expect(sut.file.domain).toBe('B');
    expect(sut.file.default).toBe(1);
    expect(sut.file.weights).toEqual({ 'trainB/1.png': 3, 'trainB/2.png': 3 });
    expect(sut.labelledImages).toBe(3);
    expect(sut.unknownPaths).toEqual(['trainB/9.png']);
  });

  it('reports each attribute share before and after weighting', () => {
    const sut = computeSamplingWeights('B', files, labels, { glasses: 3, gender: 2 });
    const glasses = sut.balance.find((b) => b.attribute === 'glasses');
    expect(glasses).toMatchObject({ factor: 3, images: 2, shareBefore: 0.5 });
    expect(glasses?.shareAfter).toBeCloseTo(6 / 8, 10); // weights 3+3 of 3+3+1+1
    const gender = sut.balance.find((b) => b.attribute === 'gender');
    expect(gender?.shareAfter).toBeCloseTo(3 / 8, 10);
  });

  it('refuses labels that match no training image of the domain', () => {
    expectRebalanceError(() => computeSamplingWeights('A', ['trainA/x.png'], labels, {}), 'NO_LABELLED_IMAGE', 'domain A');
  });
});

describe('webtoon rebalance --labels (the former dataset weights)', () => {
  const data = path.join(tmp, 'dataset');
  for (const split of ['trainA', 'trainB/men']) mkdirSync(path.join(data, split), { recursive: true });
  // one-pixel images are enough: the tool only lists files
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5d6b0a10000000049454e44ae426082', 'hex');
  for (const f of ['trainA/p.png', 'trainB/w1.png', 'trainB/w2.png', 'trainB/men/m1.png']) writeFileSync(path.join(data, f), png);
  const labelsFile = path.join(tmp, 'labels.csv');
  writeFileSync(labelsFile, 'path,attributes\ntrainB/men/m1.png,gender;glasses\ntrainB/w1.png,\n');
  const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '', HOME: tmp, LOG_LEVEL: 'error', DATA_DIR: path.join(tmp, 'db'), ...extra });

  it('writes the weights file from --factors and the trainer can read it', async () => {
    const out = path.join(tmp, 'w-factors.json');
    const { stdout } = await run(process.execPath, [bin, 'rebalance', '--data', data, '--labels', labelsFile, '-d', 'a2b', '--factors', 'gender=2.5', '-o', out], { env: env() });
    expect(stdout).toContain('3 webtoon images in trainB/, 2 tagged, 1 reweighted');
    const written = JSON.parse(readFileSync(out, 'utf8'));
    expect(written).toMatchObject({ domain: 'B', default: 1, weights: { 'trainB/men/m1.png': 2.5 } });
    const { loadSamplingWeights } = await import('../../src/training/data/sampler.ts');
    const { scanDataset } = await import('../../src/training/data/dataset.ts');
    const ds = await scanDataset(data);
    const sw = await loadSamplingWeights(out, ds);
    expect(sw.domain).toBe('B');
  });

  it('takes the factors from the rebalancing report in the configured database', async () => {
    const dbDir = path.join(tmp, 'db-report');
    const handle = await openDatabase({ pgliteDir: path.join(dbDir, 'pglite') });
    try {
      await migrateDatabase(handle);
      const sut = new FeedbackService(handle);
      await sut.registerModelVersion({ version: 'v1', direction: 'a2b', fileSha256: 'a'.repeat(64) });
      // 8 generations; 4 "gender flipped" reports and 1 "glasses" report
      for (let i = 0; i < 8; i++) {
        const g = await sut.recordGeneration({
          userId: `1000000000000000${i + 10}`, guildId: '200000000000000001', channelId: '300000000000000001', direction: 'a2b', modelVersion: 'v1',
          inputSha256: String(i).repeat(64).slice(0, 64), facesFound: 1, latencyMs: 100, status: 'ok',
        });
        if (i < 4) await sut.report(g.id, `1000000000000000${i + 10}`, ['gender']);
        if (i === 0) await sut.report(g.id, `1000000000000000${i + 10}`, ['glasses']);
      }
    } finally {
      await handle.close();
    }
    const out = path.join(tmp, 'w-report.json');
    const { stdout } = await run(process.execPath, [bin, 'rebalance', '--data', data, '--labels', labelsFile, '-d', 'a2b', '-o', out, '--json'], { env: env({ DATA_DIR: dbDir }) });
    const summary = JSON.parse(stdout);
    // gender: 4 reports / 8 generations = 0.5; baseline = (0.5 + 0.125)/12 → factor capped at 4; glasses has < 3 reports → 1
    expect(summary.factors).toEqual({ gender: 4 });
    const written = JSON.parse(readFileSync(out, 'utf8'));
    expect(written.weights).toEqual({ 'trainB/men/m1.png': 4 });
    expect(written.provenance).toMatchObject({ source: 'report', modelVersion: 'v1', direction: 'a2b' });
  });

  it('refuses a bad labels file with a one-line error and writes nothing', async () => {
    const bad = path.join(tmp, 'bad.csv');
    writeFileSync(bad, 'path,attributes\ntrainB/w1.png,wings\n');
    const out = path.join(tmp, 'never.json');
    const err = await run(process.execPath, [bin, 'rebalance', '--data', data, '--labels', bad, '-d', 'a2b', '--factors', 'gender=2', '-o', out], { env: env() }).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('RebalanceError[UNKNOWN_ATTRIBUTE]');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses to overwrite an existing file without --force', async () => {
    const out = path.join(tmp, 'exists.json');
    writeFileSync(out, '{}');
    const err = await run(process.execPath, [bin, 'rebalance', '--data', data, '--labels', labelsFile, '-d', 'a2b', '--factors', 'gender=2', '-o', out], { env: env() }).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('--force');
    expect(readFileSync(out, 'utf8')).toBe('{}');
  });
});
