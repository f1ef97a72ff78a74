/** Render a {@link RebalancingReport} as an aligned text table, JSON, or CSV. */
import type { RebalancingReport, ReportRow } from './report.ts';

export const REPORT_FORMATS = ['table', 'json', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
const pp = (x: number | null): string => (x === null ? '–' : `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x * 100).toFixed(1)} pp`);

function table(headers: string[], rows: string[][], rightAligned: Set<number>): string {
  const width = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(width[i]) : c.padEnd(width[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function formatTable(report: RebalancingReport): string {
  const f = report.filters;
  const out: string[] = [
    `Rebalancing report (generated ${report.generatedAt}; since ${f.since ?? 'the beginning'}; direction ${f.direction ?? 'all'}; model version ${f.modelVersion ?? 'all'})`,
    '',
  ];
  if (report.versions.length === 0) {
    out.push('No generations in the selected window.');
    return `${out.join('\n')}\n`;
  }
  out.push('Model versions (oldest first per direction)');
  out.push(
    table(
      ['direction', 'version', 'previous', 'generations', 'failed', 'rated', 'up share', 'change', 'reports'],
      report.versions.map((v) => [
        v.direction,
        v.modelVersion,
        v.previousModelVersion ?? '–',
        String(v.generations),
        String(v.failedGenerations),
        String(v.ratedGenerations),
        pct(v.upShare),
        pp(v.upShareChange),
        String(v.reports),
      ]),
      new Set([3, 4, 5, 6, 7, 8]),
    ),
  );
  const shown = report.rows.filter((r: ReportRow) => r.reports > 0 || (r.previousReportRate ?? 0) > 0);
  out.push('', 'Attribute reports per generation (attributes never reported in a version or its predecessor are left out)');
  out.push(
    shown.length === 0
      ? 'No attribute reports.'
      : table(
          ['direction', 'version', 'attribute', 'generations', 'rated', 'up share', 'reports', 'report rate', 'vs previous'],
          shown.map((r) => [
            r.direction,
            r.modelVersion,
            r.label,
            String(r.generations),
            String(r.ratedGenerations),
            pct(r.upShare),
            String(r.reports),
            pct(r.reportRate),
            pp(r.reportRateChange),
          ]),
          new Set([3, 4, 5, 6, 7, 8]),
        ),
  );
  out.push('', 'Attributes that fail most: oversample target-domain training images that carry them');
  out.push(
    report.ranking.length === 0
      ? 'No attribute reports on the ranked versions.'
      : table(
          ['rank', 'direction', 'version', 'target', 'attribute', 'reports', 'report rate', 'baseline', 'factor'],
          report.ranking.map((r) => [
            String(r.rank),
            r.direction,
            r.modelVersion,
            r.targetDomain,
            r.label,
            String(r.reports),
            pct(r.reportRate),
            pct(r.baselineRate),
            `×${r.oversamplingFactor.toFixed(2)}`,
          ]),
          new Set([0, 5, 6, 7, 8]),
        ),
  );
  out.push('', report.oversampling.formula);
  return `${out.join('\n')}\n`;
}

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const s = typeof value === 'number' ? String(Math.round(value * 1e6) / 1e6) : value;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const CSV_COLUMNS: [string, (r: ReportRow) => string | number | null][] = [
  ['direction', (r) => r.direction],
  ['model_version', (r) => r.modelVersion],
  ['attribute', (r) => r.attribute],
  ['label', (r) => r.label],
  ['generations', (r) => r.generations],
  ['rated_generations', (r) => r.ratedGenerations],
  ['up_share', (r) => r.upShare],
  ['reports', (r) => r.reports],
  ['reported_generations', (r) => r.reportedGenerations],
  ['report_rate', (r) => r.reportRate],
  ['previous_model_version', (r) => r.previousModelVersion],
  ['previous_report_rate', (r) => r.previousReportRate],
  ['report_rate_change', (r) => r.reportRateChange],
  ['up_share_change', (r) => r.upShareChange],
  ['rank', (r) => r.rank],
  ['oversampling_factor', (r) => r.oversamplingFactor],
];

/** One line per direction × model version × attribute, with the ranking's rank and factor where they apply. */
function formatCsv(report: RebalancingReport): string {
  const lines = [CSV_COLUMNS.map(([name]) => name).join(',')];
  for (const row of report.rows) lines.push(CSV_COLUMNS.map(([, get]) => csvCell(get(row))).join(','));
  return `${lines.join('\n')}\n`;
}

/** The report as text in `format`, ending with a newline. */
export function formatReport(report: RebalancingReport, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return formatCsv(report);
    case 'table':
      return formatTable(report);
  }
}
