/**
 * The report's failure rates as a bar chart PNG: a vega-lite spec, compiled to vega, rendered
 * headless to SVG (`renderer: 'none'`), rasterised by sharp. Text uses DejaVu Sans.
 */
import { type TopLevelSpec, vegaLiteToPng } from '../media/chart.ts';
import { ATTRIBUTES } from '../shared/attributes.ts';
import type { RebalancingReport } from './report.ts';

const FONT = 'DejaVu Sans';

/** The vega-lite spec of the chart (exported for tests and for anyone who wants to restyle it). */
export function reportChartSpec(report: RebalancingReport): TopLevelSpec {
  const rows = report.rows
    .filter((r) => r.reportRate !== null)
    .map((r) => ({ attribute: r.label, series: `${r.direction} ${r.modelVersion}`, reportRate: r.reportRate, reports: r.reports, generations: r.generations }));
  const series = [...new Set(rows.map((r) => r.series))];
  const f = report.filters;
  const subtitle = [
    `since ${f.since ? f.since.slice(0, 10) : 'the beginning'}`,
    `direction ${f.direction ?? 'all'}`,
    `model version ${f.modelVersion ?? 'all'}`,
    `generated ${report.generatedAt.slice(0, 16).replace('T', ' ')} UTC`,
  ].join(' · ');
  const config = {
    font: FONT,
    background: 'white',
    axis: { labelFontSize: 12, titleFontSize: 13 },
    legend: { labelFontSize: 12, titleFontSize: 12 },
    title: { fontSize: 16, subtitleFontSize: 11, subtitleColor: '#555' },
  };
  if (rows.length === 0) {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Attribute reports per generation', subtitle },
      width: 520,
      height: 120,
      data: { values: [{ text: 'No generations in the selected window' }] },
      mark: { type: 'text', fontSize: 14 },
      encoding: { text: { field: 'text', type: 'nominal' } },
      config,
    };
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Attribute reports per generation, by model version', subtitle },
    // Fixed width: with xOffset a width step would size each sub-bar, making wide charts for many versions.
    width: Math.max(640, ATTRIBUTES.length * series.length * 18),
    height: 320,
    data: { values: rows },
    mark: { type: 'bar', tooltip: false },
    encoding: {
      x: {
        field: 'attribute',
        type: 'nominal',
        sort: ATTRIBUTES.map((a) => a.label),
        title: null,
        axis: { labelAngle: -35, labelLimit: 180 },
      },
      xOffset: { field: 'series', type: 'nominal', sort: series },
      y: { field: 'reportRate', type: 'quantitative', title: 'reports per generation', axis: { format: '.0%' } },
      color: { field: 'series', type: 'nominal', sort: series, title: 'version', scale: { scheme: 'tableau10' } },
    },
    config,
  };
}

/** Render the report's failure rates as a PNG bar chart. `scale` multiplies the pixel size (default 2). */
export async function renderReportChart(report: RebalancingReport, opts: { scale?: number } = {}): Promise<Buffer> {
  return vegaLiteToPng(reportChartSpec(report), { scale: opts.scale ?? 2, density: 72, background: null });
}
