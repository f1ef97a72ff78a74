/**
 * `datasetStats` over the seed project's webtoon set (woman without glasses 1,050, man 249, man with
 * glasses 49, woman with glasses 38) against a balanced photo set: the seed's table comes out, and the
 * gap that made gender flip and glasses vanish is flagged. The chart is rendered for real.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { datasetChartSpec, renderDatasetChart } from '../../src/training/data/dataset-chart.ts';
import { datasetStats, formatStatsTable } from '../../src/training/data/dataset-stats.ts';
import type { ManifestEntry } from '../../src/training/data/manifest.ts';
import { ATTRIBUTE_IDS } from '../../src/shared/attributes.ts';

let k = 0;
const entries = (n: number, tags: string[]): ManifestEntry[] =>
  Array.from({ length: n }, () => ({
    file: `f${k++}.png`,
    source: 's.png',
    sourceSha256: 'b'.repeat(64),
    box: { x: 0, y: 0, width: 10, height: 10 },
    crop: { left: 0, top: 0, width: 15, height: 15 },
    detector: 'test',
    score: 1,
    hash: '0'.repeat(64),
    size: 64,
    tags,
  }));

const seedWebtoon = [...entries(1050, ['gender=female']), ...entries(249, ['gender=male']), ...entries(49, ['gender=male', 'glasses']), ...entries(38, ['gender=female', 'glasses'])];
const photos = [...entries(400, ['gender=female']), ...entries(100, ['gender=female', 'glasses']), ...entries(380, ['gender=male']), ...entries(120, ['gender=male', 'glasses', 'facial_hair']), ...entries(20, [])];

describe('datasetStats', () => {
  const sut = datasetStats(photos, seedWebtoon);

  it('counts the seed table: gender × glasses in the webtoon domain', () => {
    expect(sut.B.images).toBe(1386);
    expect(sut.B.genderGlasses.map((c) => [c.gender, c.glasses, c.images])).toEqual([
      ['female', false, 1050],
      ['male', false, 249],
      ['male', true, 49],
      ['female', true, 38],
    ]);
    expect(sut.A.genderGlasses.find((c) => c.gender === 'untagged')?.images).toBe(20);
  });

  it('covers the whole vocabulary, each value apart', () => {
    const features = sut.B.features.map((f) => f.feature);
    for (const id of ATTRIBUTE_IDS) expect(features.some((f) => f === id || f.startsWith(`${id}=`))).toBe(true);
    expect(sut.B.features.find((f) => f.feature === 'gender=male')).toMatchObject({ images: 298, share: 298 / 1386 });
    expect(sut.B.features.find((f) => f.feature === 'hands')).toMatchObject({ images: 0, share: 0 });
  });

  it('flags what the a2b model will lose: glasses, men and facial hair are common in photos, rare in webtoons', () => {
    const flagged = Object.fromEntries(sut.gaps.filter((g) => g.lostBy).map((g) => [g.feature, g.lostBy]));
    expect(flagged).toEqual({ 'gender=male': 'a2b', glasses: 'a2b', facial_hair: 'a2b' });
    expect(sut.gaps.find((g) => g.feature === 'gender=female')?.lostBy).toBeNull();
  });

  it('prints the table with the gap marked', () => {
    const text = formatStatsTable(sut);
    expect(text).toMatch(/glasses\s+220\s+21\.6%\s+87\s+6\.3%\s+<< common in photos, rare in webtoons: a2b will lose it/);
    expect(text).toMatch(/female, no glasses\s+400\s+39\.2%\s+1050\s+75\.8%/);
  });
});

describe('renderDatasetChart', () => {
  it('renders a PNG with the flagged features shaded', async () => {
    const stats = datasetStats(photos, seedWebtoon);
    const spec = JSON.stringify(datasetChartSpec(stats));
    expect(spec).toContain('▲ glasses');
    expect(spec).toContain('rare in webtoons');
    const png = await renderDatasetChart(stats);
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(600);
    // the red shading (#fbd3d0) is present in the picture
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let shaded = 0;
    for (let i = 0; i < info.width * info.height; i++) if (data[3 * i] === 0xfb && data[3 * i + 1] === 0xd3 && data[3 * i + 2] === 0xd0) shaded++;
    expect(shaded).toBeGreaterThan(1000);
    if (process.env.DATASET_CHART_OUT) await sharp(png).toFile(process.env.DATASET_CHART_OUT);
  });
});
