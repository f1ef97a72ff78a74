/**
 * The dataset stats as a chart PNG: the share of each feature in domain A (photos) and B (webtoon)
 * side by side, with the features the stats flag (common in one domain, rare in the other) shaded
 * red and their labels marked. Rendered by the chart owner (src/media/chart.ts), as the report chart is.
 */
import { type TopLevelSpec, vegaLiteToPng } from '../../media/chart.ts';
import type { DatasetStats } from './dataset-stats.ts';

const FONT = 'DejaVu Sans';

/** The vega-lite spec (exported for tests). Features with no image in either domain are left out. */
export function datasetChartSpec(s: DatasetStats): TopLevelSpec {
  const shown = s.gaps.filter((g) => g.shareA > 0 || g.shareB > 0);
  const label = (g: (typeof shown)[number]) => (g.lostBy ? `▲ ${g.feature}` : g.feature);
  const bars = shown.flatMap((g) => [
    { feature: label(g), domain: `A photos (${s.A.images})`, share: g.shareA },
    { feature: label(g), domain: `B webtoon (${s.B.images})`, share: g.shareB },
  ]);
  const top = Math.max(0.05, ...shown.map((g) => Math.max(g.shareA, g.shareB)));
  const flagged = shown.filter((g) => g.lostBy).map((g) => ({ feature: label(g), top, note: g.lostBy === 'a2b' ? 'rare in webtoons' : 'rare in photos' }));
  const order = shown.map(label);
  const x = { field: 'feature', type: 'nominal' as const, sort: order, title: null, axis: { labelAngle: -35, labelLimit: 200 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Dataset attribute distribution: photos (A) vs webtoon faces (B)',
      subtitle: '▲ shaded: common in one domain, rare in the other — the model translating into the rare side will lose it',
    },
    width: Math.max(480, order.length * 56),
    height: 300,
    layer: [
      {
        data: { values: flagged },
        mark: { type: 'bar', color: '#fbd3d0', width: { band: 1 } },
        encoding: { x, y: { field: 'top', type: 'quantitative' } },
      },
      {
        data: { values: flagged },
        mark: { type: 'text', color: '#b3261e', dy: -8, fontSize: 11 },
        encoding: { x, y: { field: 'top', type: 'quantitative' }, text: { field: 'note' } },
      },
      {
        data: { values: bars },
        mark: { type: 'bar' },
        encoding: {
          x,
          xOffset: { field: 'domain', type: 'nominal' },
          y: { field: 'share', type: 'quantitative', title: 'share of the domain\u2019s images', axis: { format: '.0%' } },
          color: { field: 'domain', type: 'nominal', title: 'domain', scale: { range: ['#4e79a7', '#f28e2b'] } },
        },
      },
    ],
    config: { font: FONT, background: 'white', axis: { labelFontSize: 12, titleFontSize: 13 }, legend: { labelFontSize: 12 }, title: { fontSize: 16, subtitleFontSize: 11, subtitleColor: '#555' } },
  };
}

/** Render the chart as PNG (`scale` multiplies the pixel size, default 2). */
export function renderDatasetChart(s: DatasetStats, opts: { scale?: number } = {}): Promise<Buffer> {
  return vegaLiteToPng(datasetChartSpec(s), { scale: opts.scale ?? 2, density: 72 });
}
