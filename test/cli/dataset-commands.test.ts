/**
 * Every dataset command refuses bad input with one `webtoon: Error[CODE]: ...` line, a non-zero exit
 * and nothing written. Runs the real CLI entry (`main`) in this process: the refusals happen before
 * any detector, database or network is loaded, so a child process per case would only add start-up time.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/index.ts';

const work = mkdtempSync(path.join(tmpdir(), 'webtoon-dataset-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5d6b0a10000000049454e44ae426082', 'hex');
const entry = (file: string, tags: string[] = []) =>
  JSON.stringify({ file, source: `raw/${file}`, sourceSha256: 'd'.repeat(64), box: { x: 0, y: 0, width: 10, height: 10 }, crop: { left: 0, top: 0, width: 15, height: 15 }, detector: 'test', score: 1, hash: '0'.repeat(64), size: 64, tags });

/** A dataset: trainA with 2 tagged crops, trainB with 2 crops (tags as given). */
function dataset(name: string, bTags: string[][] = [['gender=male'], []]): string {
  const root = path.join(work, name);
  for (const [split, tags] of [
    ['trainA', [['gender=female'], ['glasses']]],
    ['trainB', bTags],
  ] as const) {
    mkdirSync(path.join(root, split), { recursive: true });
    const lines = tags.map((t, i) => {
      writeFileSync(path.join(root, split, `${i}.png`), png);
      return entry(`${i}.png`, [...t]);
    });
    writeFileSync(path.join(root, split, 'manifest.jsonl'), lines.map((l) => `${l}\n`).join(''));
  }
  return root;
}

async function webtoon(...args: string[]): Promise<{ exitCode: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  await main(['node', 'webtoon', ...args]);
  vi.restoreAllMocks();
  return { exitCode: Number(process.exitCode ?? 0), stderr, stdout };
}

function expectOneLine(r: { exitCode: number; stderr: string }, exitCode: number, pattern: RegExp): void {
  expect(r.exitCode).toBe(exitCode);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('webtoon dataset build refuses', () => {
  it('a missing input folder, an empty one and photos aimed at trainB, creating nothing', async () => {
    const out = path.join(work, 'b1', 'trainA');
    expectOneLine(await webtoon('dataset', 'build', '--domain', 'photo', '--in', path.join(work, 'nope'), '--out', out), 1, /^webtoon: DatasetError\[INPUT_MISSING\]: --in: .*nope does not exist or is not a folder$/);
    mkdirSync(path.join(work, 'empty-raw'));
    expectOneLine(await webtoon('dataset', 'build', '--domain', 'photo', '--in', path.join(work, 'empty-raw'), '--out', out), 1, /^webtoon: DatasetError\[INPUT_EMPTY\]: --in: .*empty-raw holds no images/);
    expectOneLine(await webtoon('dataset', 'build', '--domain', 'photo', '--in', path.join(work, 'empty-raw'), '--out', path.join(work, 'b1', 'trainB')), 1, /DatasetError\[OPTION_INVALID\]: --out: photo faces go to trainA\//);
    expectOneLine(await webtoon('dataset', 'build', '--domain', 'photo', '--in', path.join(work, 'empty-raw'), '--out', out, '--size', 'big'), 2, /^webtoon: UsageError\[USAGE\]: --size: expected a number, received "big"$/);
    expect(existsSync(path.join(work, 'b1'))).toBe(false);
  });
});

describe('webtoon dataset tag refuses', () => {
  it('an unknown attribute in the CSV, naming the line, and leaves the manifest as it was', async () => {
    const root = dataset('t1');
    const manifest = path.join(root, 'trainB', 'manifest.jsonl');
    const before = readFileSync(manifest, 'utf8');
    writeFileSync(path.join(work, 'bad-tags.csv'), 'path,attributes\n"trainB/0.png","glasses"\n"trainB/1.png","wings"\n');
    expectOneLine(await webtoon('dataset', 'tag', '--manifest', manifest, '--csv', path.join(work, 'bad-tags.csv')), 1, /^webtoon: DatasetError\[UNKNOWN_ATTRIBUTE\]: bad-tags\.csv line 3: unknown attribute "wings"; expected one of gender, glasses, hands/);
    expect(readFileSync(manifest, 'utf8')).toBe(before);
  });

  it('a missing manifest, an empty one, two sources at once, a CelebA file without its header', async () => {
    const root = dataset('t2');
    const manifest = path.join(root, 'trainB', 'manifest.jsonl');
    const before = readFileSync(manifest, 'utf8');
    expectOneLine(await webtoon('dataset', 'tag', '--manifest', path.join(root, 'nope.jsonl'), '--csv', 'x.csv'), 1, /^webtoon: DatasetError\[INPUT_MISSING\]: manifest .*nope\.jsonl does not exist$/);
    writeFileSync(path.join(root, 'empty.jsonl'), '');
    expectOneLine(await webtoon('dataset', 'tag', '--manifest', path.join(root, 'empty.jsonl'), '--csv', 'x.csv'), 1, /DatasetError\[INPUT_EMPTY\]: .*empty\.jsonl has no entries/);
    expectOneLine(await webtoon('dataset', 'tag', '--manifest', manifest, '--csv', 'x.csv', '--from', 'afad', work), 2, /UsageError\[USAGE\]: dataset tag: give exactly one of --csv/);
    writeFileSync(path.join(work, 'attrs.txt'), '2\nimage Smiling\n');
    expectOneLine(await webtoon('dataset', 'tag', '--manifest', manifest, '--from', 'celeba', path.join(work, 'attrs.txt')), 1, /DatasetError\[TAGS_INVALID\]: attrs\.txt line 2: expected CelebA's attribute names/);
    expect(readFileSync(manifest, 'utf8')).toBe(before);
  });
});

describe('webtoon dataset stats refuses', () => {
  it('a missing dataset and an empty domain, writing no chart', async () => {
    const chart = path.join(work, 'stats.png');
    expectOneLine(await webtoon('dataset', 'stats', '--data', path.join(work, 'nope'), '--chart', chart), 1, /DatasetError\[INPUT_MISSING\]: --data: .*nope does not exist$/);
    const root = dataset('s1', []);
    expectOneLine(await webtoon('dataset', 'stats', '--data', root, '--chart', chart), 1, /DatasetError\[INPUT_EMPTY\]: .*trainB\/manifest\.jsonl has no entries: domain B is empty$/);
    expect(existsSync(chart)).toBe(false);
  });
});

describe('webtoon rebalance refuses', () => {
  it('an empty target domain, an unknown attribute, an untagged manifest, a bad share; writes nothing', async () => {
    const out = path.join(work, 'w.json');
    const empty = dataset('r1', []);
    expectOneLine(await webtoon('rebalance', '--data', empty, '-d', 'a2b', '--factors', 'gender=2', '-o', out), 1, /RebalanceError\[NO_LABELLED_IMAGE\]: .*trainB holds no images: domain B is empty/);
    const root = dataset('r2');
    expectOneLine(await webtoon('rebalance', '--data', root, '-d', 'a2b', '--factors', 'wings=2', '-o', out), 1, /^webtoon: RebalanceError\[UNKNOWN_ATTRIBUTE\]: --factors: unknown attribute "wings"/);
    const untagged = dataset('r3', [[], []]);
    expectOneLine(await webtoon('rebalance', '--data', untagged, '-d', 'a2b', '--factors', 'gender=2', '-o', out), 1, /RebalanceError\[NO_LABELLED_IMAGE\]: .*manifest\.jsonl: no entry has a tag yet/);
    expectOneLine(await webtoon('rebalance', '--data', root, '-d', 'a2b', '--factors', 'gender=2', '-o', out, '--target-share', '2'), 2, /--target-share: expected a fraction between 0 and 1/);
    expectOneLine(await webtoon('rebalance', '--data', root, '-d', 'a2b', '--factors', 'gender=2', '-o', out, '--manifest', path.join(root, 'trainA', 'manifest.jsonl')), 2, /--manifest: .* describes trainA\/, but a2b rebalances trainB\//);
    expect(existsSync(out)).toBe(false);
  });

  it('writes the weights and the plan from --factors (b2a rebalances the photos)', async () => {
    const root = dataset('r4');
    const out = path.join(work, 'w4.json');
    const r = await webtoon('rebalance', '--data', root, '-d', 'b2a', '--factors', 'glasses=3,hands=2', '-o', out);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Rebalancing b2a (/reverse): 2 photo images in trainA/, 2 tagged, 1 reweighted.');
    expect(r.stdout).toContain('hands: factor ×2 given with --factors, but no photo image is tagged with it: oversampling cannot help');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ domain: 'A', weights: { 'trainA/1.png': 3 }, dataset: { split: 'trainA', images: 2 } });
  });

  it('points the old `dataset weights` to rebalance', async () => {
    expectOneLine(await webtoon('dataset', 'weights', '--data', 'x'), 2, /`webtoon dataset weights` is now `webtoon rebalance/);
  });
});
