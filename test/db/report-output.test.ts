/** The report's text formats and its PNG chart, from a report computed without a database. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ATTRIBUTES } from '../../src/shared/attributes.ts';
import { computeReport, type RebalancingReport, type ReportInput } from '../../src/db/report.ts';
import { renderReportChart, reportChartSpec } from '../../src/db/report-chart.ts';
import { formatReport } from '../../src/db/report-format.ts';
import { parse } from 'csv-parse/sync';

const NOW = new Date('2026-03-01T00:00:00Z');

/**
 * Two a2b versions: v1 (10 generations, glasses ×4) and v2 (20 generations, glasses ×3, gender ×8).
 * v2's baseline = (3 + 8) / (12 × 20) = 11/240 ≈ 4.6%: glasses 15% → ×3.27, gender 40% → ×8.7, capped at ×4.
 */
const input: ReportInput = {
  versions: [
    { direction: 'a2b', modelVersion: 'v1', registeredAt: new Date('2026-01-01T00:00:00Z'), firstGenerationAt: new Date('2026-01-02T00:00:00Z'), generations: 10, failedGenerations: 1, ratedGenerations: 4, upVotes: 3, downVotes: 3 },
    { direction: 'a2b', modelVersion: 'v2, "beta"', registeredAt: new Date('2026-02-01T00:00:00Z'), firstGenerationAt: new Date('2026-02-02T00:00:00Z'), generations: 20, failedGenerations: 0, ratedGenerations: 5, upVotes: 6, downVotes: 2 },
  ],
  attributes: [
    { direction: 'a2b', modelVersion: 'v1', attribute: 'glasses', reports: 4, reportedGenerations: 4 },
    { direction: 'a2b', modelVersion: 'v2, "beta"', attribute: 'glasses', reports: 3, reportedGenerations: 3 },
    { direction: 'a2b', modelVersion: 'v2, "beta"', attribute: 'gender', reports: 8, reportedGenerations: 6 },
  ],
};
const report = computeReport(input, {}, NOW);
const empty = computeReport({ versions: [], attributes: [] }, {}, NOW);

/** Parse CSV with csv-parse, the library every CSV reader of this project uses (RFC 4180 quoting). */
function parseCsv(text: string): string[][] {
  return parse(text) as string[][];
}

describe('formatReport', () => {
  it('json round-trips the report exactly', () => {
    const sut = formatReport(report, 'json');
    expect(JSON.parse(sut) as RebalancingReport).toEqual(report);
  });

  it('csv has a header and one line per direction × version × attribute, quoting where needed', () => {
    const sut = parseCsv(formatReport(report, 'csv'));
    expect(sut[0]).toEqual([
      'direction', 'model_version', 'attribute', 'label', 'generations', 'rated_generations', 'up_share', 'reports', 'reported_generations',
      'report_rate', 'previous_model_version', 'previous_report_rate', 'report_rate_change', 'up_share_change', 'rank', 'oversampling_factor',
    ]);
    expect(sut).toHaveLength(1 + 2 * ATTRIBUTES.length);
    const glasses = sut.find((r) => r[1] === 'v2, "beta"' && r[2] === 'glasses');
    expect(glasses).toEqual(['a2b', 'v2, "beta"', 'glasses', 'Glasses', '20', '5', '0.75', '3', '3', '0.15', 'v1', '0.4', '-0.25', '0.25', '2', '3.27']);
    const v1 = sut.find((r) => r[1] === 'v1' && r[2] === 'glasses');
    expect(v1?.slice(10)).toEqual(['', '', '', '', '', '']);
  });

  it('table shows versions, reported attributes with their change, and the ranking with its factors', () => {
    const sut = formatReport(report, 'table');
    expect(sut).toMatch(/a2b\s+v2, "beta"\s+v1\s+20\s+0\s+5\s+75\.0%\s+\+25\.0 pp\s+11/);
    expect(sut).toMatch(/a2b\s+v2, "beta"\s+Glasses\s+20\s+5\s+75\.0%\s+3\s+15\.0%\s+−25\.0 pp/);
    expect(sut).toMatch(/1\s+a2b\s+v2, "beta"\s+B\s+Gender\s+8\s+40\.0%\s+4\.6%\s+×4\.00/);
    expect(sut).toMatch(/2\s+a2b\s+v2, "beta"\s+B\s+Glasses\s+3\s+15\.0%\s+4\.6%\s+×3\.27/);
    expect(sut).toContain('clamp(rate(a) / baseline, 1, 4)');
    expect(sut).not.toMatch(/\bHair\b/);
  });

  it('says so when there is nothing to report', () => {
    expect(formatReport(empty, 'table')).toContain('No generations in the selected window.');
    expect(formatReport(empty, 'csv').trimEnd().split('\n')).toHaveLength(1);
  });
});

/** Pixels close to a colour (RGB within `tol`). */
async function countColour(png: Buffer, [r, g, b]: [number, number, number], tol = 12): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    if (Math.abs(data[i] - r) <= tol && Math.abs(data[i + 1] - g) <= tol && Math.abs(data[i + 2] - b) <= tol) n++;
  }
  return n;
}

describe('renderReportChart', () => {
  it('draws one bar series per direction × version, in the tableau10 colours', async () => {
    const spec = reportChartSpec(report) as { data: { values: unknown[] } };
    expect(spec.data.values).toHaveLength(2 * ATTRIBUTES.length);

    const sut = await renderReportChart(report);
    const meta = await sharp(sut).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(1200);
    expect(meta.height).toBeGreaterThan(600);
    // tableau10: #4c78a8 (first series, v1) and #f58518 (second series, v2).
    const blue = await countColour(sut, [0x4c, 0x78, 0xa8]);
    const orange = await countColour(sut, [0xf5, 0x85, 0x18]);
    expect(blue).toBeGreaterThan(1000);
    expect(orange).toBeGreaterThan(1000);
  });

  it('renders a readable placeholder, not an error, for an empty report', async () => {
    const sut = await renderReportChart(empty);
    expect((await sharp(sut).metadata()).format).toBe('png');
    expect(await countColour(sut, [0x4c, 0x78, 0xa8])).toBe(0);
    expect(await countColour(sut, [0, 0, 0], 40)).toBeGreaterThan(100);
  });
});
