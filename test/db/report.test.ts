import { beforeEach, describe, expect, it } from 'vitest';
import { ATTRIBUTES } from '../../src/shared/attributes.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';
import {
  buildReport,
  computeReport,
  oversamplingFactor,
  oversamplingFactors,
  ReportError,
  type RebalancingReport,
  type ReportRow,
  type VersionCounts,
} from '../../src/db/report.ts';
import { parseSince } from '../../src/cli/parse-since.ts';
import { dbTargets, useTestDatabase } from '../helpers/databases.ts';
import { seedReportHistory } from './report-seed.ts';

const NOW = new Date('2026-03-01T00:00:00Z');

function row(report: RebalancingReport, direction: string, modelVersion: string, attribute: string): ReportRow {
  const found = report.rows.find((r) => r.direction === direction && r.modelVersion === modelVersion && r.attribute === attribute);
  if (!found) throw new Error(`no row ${direction}/${modelVersion}/${attribute}`);
  return found;
}

const rankingOf = (report: RebalancingReport) => report.ranking.map((r) => [r.rank, r.direction, r.modelVersion, r.attribute, r.reports, r.oversamplingFactor]);

describe('oversamplingFactor', () => {
  it('is the rate over the baseline, rounded to two decimals', () => {
    expect(oversamplingFactor(3, 0.15, 11 / 240)).toBe(3.27);
  });
  it('never exceeds the cap of 4', () => {
    expect(oversamplingFactor(30, 0.9, 0.05)).toBe(4);
  });
  it('never goes below 1 for attributes reported less than average', () => {
    expect(oversamplingFactor(5, 0.01, 0.05)).toBe(1);
  });
  it('is 1 with fewer than 3 reports, however high the rate', () => {
    expect(oversamplingFactor(2, 0.5, 0.01)).toBe(1);
  });
});

describe('parseSince', () => {
  it('reads durations back from now', () => {
    expect(parseSince('30d', NOW).toISOString()).toBe('2026-01-30T00:00:00.000Z');
    expect(parseSince('12h', NOW).toISOString()).toBe('2026-02-28T12:00:00.000Z');
    expect(parseSince('2w', NOW).toISOString()).toBe('2026-02-15T00:00:00.000Z');
  });
  it('reads a date as UTC midnight and keeps an explicit date-time', () => {
    expect(parseSince('2026-02-01').toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(parseSince('2026-02-01T06:30:00+02:00').toISOString()).toBe('2026-02-01T04:30:00.000Z');
  });
  it.each(['yesterday', '5 years', '2026-13-45', ''])('refuses %j with a typed error', (text) => {
    expect(() => parseSince(text, NOW)).toThrow(ReportError);
  });
});

describe('computeReport', () => {
  const version = (v: Partial<VersionCounts>): VersionCounts => ({
    direction: 'a2b',
    modelVersion: 'v',
    registeredAt: null,
    firstGenerationAt: new Date('2026-01-01T00:00:00Z'),
    generations: 10,
    failedGenerations: 0,
    ratedGenerations: 0,
    upVotes: 0,
    downVotes: 0,
    ...v,
  });

  it('gives a valid empty report for no data', () => {
    const sut = computeReport({ versions: [], attributes: [] }, {}, NOW);
    expect(sut).toMatchObject({ generatedAt: NOW.toISOString(), versions: [], rows: [], ranking: [], oversampling: { cap: 4, minReports: 3 } });
    expect(JSON.parse(JSON.stringify(sut))).toEqual(sut);
  });

  it('orders unregistered versions by their first generation and compares each with its predecessor', () => {
    const sut = computeReport(
      {
        versions: [
          version({ modelVersion: 'late', firstGenerationAt: new Date('2026-02-01T00:00:00Z'), generations: 4 }),
          version({ modelVersion: 'early', firstGenerationAt: new Date('2026-01-01T00:00:00Z'), generations: 8 }),
        ],
        attributes: [
          { direction: 'a2b', modelVersion: 'early', attribute: 'hair', reports: 2, reportedGenerations: 2 },
          { direction: 'a2b', modelVersion: 'late', attribute: 'hair', reports: 2, reportedGenerations: 1 },
        ],
      },
      {},
      NOW,
    );
    expect(sut.versions.map((v) => [v.modelVersion, v.previousModelVersion])).toEqual([
      ['early', null],
      ['late', 'early'],
    ]);
    expect(row(sut, 'a2b', 'late', 'hair')).toMatchObject({ reportRate: 0.5, previousReportRate: 0.25, reportRateChange: 0.25, reportedGenerations: 1 });
    expect(sut.rows).toHaveLength(2 * ATTRIBUTES.length);
  });

  it('leaves rates undefined and ranks nothing for a version whose generations all failed', () => {
    const sut = computeReport({ versions: [version({ generations: 0, failedGenerations: 3 })], attributes: [] }, {}, NOW);
    expect(sut.versions[0]).toMatchObject({ generations: 0, failedGenerations: 3, upShare: null });
    expect(sut.rows.every((r) => r.reportRate === null)).toBe(true);
    expect(sut.ranking).toEqual([]);
  });
});

describe.each(dbTargets)('buildReport over a seeded history on $label', (target) => {
  describe.skipIf(target.skip)('with hand-worked expectations (see report-seed.ts)', () => {
    const handle = useTestDatabase(target);
    let full: RebalancingReport;
    let seeding: Promise<void> | undefined;
    // Seeded once, on first use: a failure (database down under CI=true) then fails each test.
    const seeded = () =>
      (seeding ??= (async () => {
        await seedReportHistory(new FeedbackService(handle()));
        full = await buildReport(handle(), {}, NOW);
      })());
    beforeEach(() => seeded());

    it('summarises each direction × model version: generations, ratings and 👍 share with its change', () => {
      expect(full.versions).toEqual([
        { direction: 'a2b', modelVersion: 'v1', registeredAt: '2026-01-01T00:00:00.000Z', previousModelVersion: null, generations: 10, failedGenerations: 1, ratedGenerations: 4, upVotes: 3, downVotes: 3, upShare: 0.5, upShareChange: null, reports: 8 },
        { direction: 'a2b', modelVersion: 'v2', registeredAt: '2026-02-01T00:00:00.000Z', previousModelVersion: 'v1', generations: 20, failedGenerations: 0, ratedGenerations: 5, upVotes: 6, downVotes: 2, upShare: 0.75, upShareChange: 0.25, reports: 11 },
        { direction: 'b2a', modelVersion: 'r1', registeredAt: '2026-01-15T00:00:00.000Z', previousModelVersion: null, generations: 4, failedGenerations: 0, ratedGenerations: 0, upVotes: 0, downVotes: 0, upShare: null, upShareChange: null, reports: 4 },
      ]);
    });

    it('gives one row per direction × model version × attribute with report rates and their change', () => {
      expect(full.rows).toHaveLength(3 * ATTRIBUTES.length);
      expect(row(full, 'a2b', 'v1', 'glasses')).toMatchObject({ generations: 10, ratedGenerations: 4, upShare: 0.5, reports: 4, reportRate: 0.4, reportRateChange: null, rank: null });
      const gender = row(full, 'a2b', 'v2', 'gender');
      expect(gender).toMatchObject({ reports: 6, reportedGenerations: 5, reportRate: 0.3, previousModelVersion: 'v1', previousReportRate: 0.2, rank: 2, oversamplingFactor: 4 });
      expect(gender.reportRateChange).toBeCloseTo(0.1, 12);
      expect(row(full, 'a2b', 'v2', 'glasses')).toMatchObject({ reports: 3, reportRate: 0.15, previousReportRate: 0.4, reportRateChange: -0.25, rank: 4, oversamplingFactor: 3.27 });
      expect(row(full, 'a2b', 'v2', 'hands')).toMatchObject({ reports: 2, reportRate: 0.1, reportRateChange: 0, rank: 5, oversamplingFactor: 1 });
      expect(row(full, 'a2b', 'v2', 'other')).toMatchObject({ reports: 0, reportRate: 0, previousReportRate: 0.1, reportRateChange: -0.1, rank: null });
      expect(row(full, 'a2b', 'v2', 'hair')).toMatchObject({ reports: 0, reportRate: 0, reportRateChange: 0 });
      expect(row(full, 'b2a', 'r1', 'identity')).toMatchObject({ reports: 3, reportRate: 0.75, upShare: null, previousModelVersion: null, reportRateChange: null, rank: 1, oversamplingFactor: 4 });
    });

    it('ranks the latest version of each direction by report rate with capped oversampling factors', () => {
      expect(rankingOf(full)).toEqual([
        [1, 'b2a', 'r1', 'identity', 3, 4],
        [2, 'a2b', 'v2', 'gender', 6, 4],
        [3, 'b2a', 'r1', 'skin_tone', 1, 1],
        [4, 'a2b', 'v2', 'glasses', 3, 3.27],
        [5, 'a2b', 'v2', 'hands', 2, 1],
      ]);
      expect(full.ranking[1]).toMatchObject({ targetDomain: 'B', generations: 20, reportRate: 0.3 });
      expect(full.ranking[1].baselineRate).toBeCloseTo(11 / 240, 12);
      expect(full.ranking[0]).toMatchObject({ targetDomain: 'A' });
      expect(full.ranking[0].baselineRate).toBeCloseTo(4 / 48, 12);
    });

    it('hands the dataset tools the factors above 1 for one direction', () => {
      expect(oversamplingFactors(full, 'a2b')).toEqual({ gender: 4, glasses: 3.27 });
      expect(oversamplingFactors(full, 'b2a')).toEqual({ identity: 4 });
    });

    it('keeps only generations since the given instant', async () => {
      const sut = await buildReport(handle(), { since: new Date('2026-02-01T00:00:00Z') }, NOW);
      expect(sut.versions.map((v) => [v.direction, v.modelVersion, v.previousModelVersion, v.generations])).toEqual([['a2b', 'v2', null, 20]]);
      expect(sut.filters.since).toBe('2026-02-01T00:00:00.000Z');
      expect(rankingOf(sut)).toEqual([
        [1, 'a2b', 'v2', 'gender', 6, 4],
        [2, 'a2b', 'v2', 'glasses', 3, 3.27],
        [3, 'a2b', 'v2', 'hands', 2, 1],
      ]);
    });

    it('keeps only one direction', async () => {
      const sut = await buildReport(handle(), { direction: 'b2a' }, NOW);
      expect(sut.versions.map((v) => v.modelVersion)).toEqual(['r1']);
      expect(new Set(sut.rows.map((r) => r.direction))).toEqual(new Set(['b2a']));
      expect(rankingOf(sut)).toEqual([
        [1, 'b2a', 'r1', 'identity', 3, 4],
        [2, 'b2a', 'r1', 'skin_tone', 1, 1],
      ]);
    });

    it('keeps one model version, still compared with its predecessor, and ranks that version', async () => {
      const v2 = await buildReport(handle(), { modelVersion: 'v2' }, NOW);
      expect(v2.versions.map((v) => [v.modelVersion, v.previousModelVersion, v.upShareChange])).toEqual([['v2', 'v1', 0.25]]);
      expect(row(v2, 'a2b', 'v2', 'glasses').reportRateChange).toBe(-0.25);

      // v1: baseline = (4 + 2 + 1) / (12 × 10); glasses 0.4 → capped at 4; gender and hands have < 3 reports.
      const v1 = await buildReport(handle(), { modelVersion: 'v1' }, NOW);
      expect(rankingOf(v1)).toEqual([
        [1, 'a2b', 'v1', 'glasses', 4, 4],
        [2, 'a2b', 'v1', 'gender', 2, 1],
        [3, 'a2b', 'v1', 'hands', 1, 1],
      ]);
    });

    it('is empty, not an error, for a window without generations', async () => {
      const sut = await buildReport(handle(), { since: new Date('2030-01-01T00:00:00Z') }, NOW);
      expect(sut).toMatchObject({ versions: [], rows: [], ranking: [] });
    });

    it('refuses malformed filters with a typed error', async () => {
      await expect(buildReport(handle(), { direction: 'sideways' as never })).rejects.toThrow(ReportError);
      await expect(buildReport(handle(), { since: new Date('nope') })).rejects.toThrow(ReportError);
      await expect(buildReport(handle(), { modelVersion: ' ' })).rejects.toThrow(ReportError);
    });
  });
});
