/**
 * The plan in plain words and the weights it comes with: valued attributes oversample their rarer
 * value, an attribute no target image carries asks for collection, and a weights file made for
 * another dataset is refused by the trainer's loader (fingerprint).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { domainFingerprint, scanDataset } from '../../src/training/data/dataset.ts';
import { carriersOf, computeSamplingWeights, type ImageLabels } from '../../src/training/data/rebalance.ts';
import { formatPlan, imagesToReach, rebalancePlan } from '../../src/training/data/rebalance-plan.ts';
import { loadSamplingWeights } from '../../src/training/data/sampler.ts';

// 10 webtoon images: 8 women, 2 men; 1 with glasses; nobody shows hands
const files = Array.from({ length: 10 }, (_, i) => `trainB/${i}.png`);
const labels: ImageLabels = new Map(files.map((f, i) => [f, [i < 8 ? 'gender=female' : 'gender=male', ...(i === 3 ? ['glasses'] : [])]]));

describe('carriersOf', () => {
  it('a valued attribute is carried by its rarer values, a presence tag by itself', () => {
    expect(carriersOf('gender', files, labels)).toEqual({ carriers: new Set(['trainB/8.png', 'trainB/9.png']), values: { female: 8, male: 2 }, rareValues: ['male'] });
    expect([...carriersOf('glasses', files, labels).carriers]).toEqual(['trainB/3.png']);
    expect(carriersOf('hands', files, labels).carriers.size).toBe(0);
  });
});

describe('imagesToReach', () => {
  it('is the smallest n with (have + n) / (total + n) >= target', () => {
    expect(imagesToReach(2, 10, 0.5)).toBe(6); // 8 / 16
    expect(imagesToReach(0, 10, 0.25)).toBe(4); // 4 / 14 = 0.286; 3 / 13 = 0.23
    expect(imagesToReach(5, 10, 0.5)).toBe(0);
  });
});

describe('rebalancePlan', () => {
  const result = computeSamplingWeights('B', files, labels, { gender: 4, hands: 3, glasses: 2 });
  const reported = [
    { attribute: 'gender' as const, reports: 12, reportRate: 0.3, factor: 4 },
    { attribute: 'hands' as const, reports: 8, reportRate: 0.2, factor: 3 },
    { attribute: 'glasses' as const, reports: 5, reportRate: 0.125, factor: 2 },
    { attribute: 'hair' as const, reports: 2, reportRate: 0.05, factor: 1 },
  ];
  const sut = rebalancePlan(result, reported, 0.25, 'webtoon');

  it('weights the men ×4 and the glasses ×2', () => {
    expect(result.file.weights).toEqual({ 'trainB/8.png': 4, 'trainB/9.png': 4, 'trainB/3.png': 2 });
  });

  it('says oversampling cannot help hands: no webtoon image carries them, collect', () => {
    const hands = sut.find((i) => i.attribute === 'hands')!;
    expect(hands).toMatchObject({ action: 'collect', images: 0, moreImages: 4 });
    expect(hands.text).toBe('hands: reported on 20.0% of generations (8 reports), but no webtoon image is tagged with it: oversampling cannot help, collection is needed. About 4 webtoon images showing hands would make it 25.0% of the set.');
    expect(sut[0].attribute).toBe('hands'); // collection first
  });

  it('for gender: share of the rarer value, the factor, the share drawn after, images to an even share', () => {
    const gender = sut.find((i) => i.attribute === 'gender')!;
    expect(gender).toMatchObject({ action: 'oversample', images: 2, share: 0.2, rareValues: ['male'], targetShare: 0.5, moreImages: 6 });
    // weights: 2 men ×4 = 8, 1 glasses ×2, 7 others ×1 → total 17; men drawn 8/17
    expect(gender.shareAfter).toBeCloseTo(8 / 17, 12);
    expect(gender.text).toBe('gender: reported on 30.0% of generations (12 reports); gender=male on 2 of 10 webtoon images (20.0%). Oversampled ×4: now drawn 47.1% of the time. About 6 more such images would make it 50.0% of the set without oversampling.');
  });

  it('leaves an attribute with factor 1 unchanged and says why', () => {
    expect(sut.find((i) => i.attribute === 'hair')).toMatchObject({ action: 'unchanged', moreImages: 0 });
    expect(formatPlan(sut, 'Rebalancing a2b')).toMatch(/^Rebalancing a2b\n2 attribute\(s\) oversampled, 1 need collection\.\n- hands: /);
  });

  it('when every tagged image has one value, collection of other values is asked for', () => {
    const women: ImageLabels = new Map(files.map((f) => [f, ['gender=female']]));
    const [item] = rebalancePlan(computeSamplingWeights('B', files, women, { gender: 4 }), [reported[0]], 0.25, 'webtoon');
    expect(item.action).toBe('collect');
    expect(item.text).toContain('every tagged webtoon image has gender=female: oversampling cannot help');
  });
});

describe('sampling weights made for another dataset', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'webtoon-fingerprint-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5d6b0a10000000049454e44ae426082', 'hex');

  it('are refused by the trainer with a one-line message once the split changed', async () => {
    for (const d of ['trainA', 'trainB']) {
      const dir = path.join(root, d);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'a.png'), png);
      writeFileSync(path.join(dir, 'b.png'), png);
    }
    const ds = await scanDataset(root);
    const file = path.join(root, 'w.json');
    writeFileSync(file, JSON.stringify({ domain: 'B', default: 1, weights: { 'trainB/a.png': 3 }, dataset: { split: 'trainB', images: 2, fingerprint: await domainFingerprint(ds, 'trainB') } }));
    expect((await loadSamplingWeights(file, ds)).matched).toBe(1);
    writeFileSync(path.join(root, 'trainB', 'c.png'), png);
    const changed = await scanDataset(root);
    const err = await loadSamplingWeights(file, changed).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ name: 'TrainingError[SAMPLING_WEIGHTS_INVALID]' });
    expect((err as Error).message).toMatch(/made for another dataset: its trainB fingerprint is [0-9a-f]{12} \(2 images\), .*trainB is [0-9a-f]{12} \(3 images\); run webtoon rebalance again$/);
  });
});
