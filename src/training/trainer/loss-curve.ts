/**
 * The loss-curve PNG: one panel per loss group (discriminator, generator total, adversarial, cycle,
 * identity, CAM), each with its own y scale, drawn with vega-lite → vega SVG → sharp PNG. Long runs
 * are averaged into at most `maxPoints` buckets per series so the chart stays legible and fast.
 */
import { type TopLevelSpec, vegaLiteToPng } from '../../media/chart.ts';

/** One line of `losses.jsonl`. */
export interface LossRecord {
  step: number;
  lr?: number;
  losses: Record<string, number>;
}

/** Which loss terms are drawn in which panel (sums of A and B where the official code has two). */
const PANELS: { panel: string; series: Record<string, (l: Record<string, number>) => number> }[] = [
  { panel: '1 discriminator', series: { Discriminator_loss: (l) => l.Discriminator_loss } },
  { panel: '2 generator (total)', series: { Generator_loss: (l) => l.Generator_loss } },
  {
    panel: '3 generator adversarial',
    series: {
      'adv A (GA+LA, patch+cam)': (l) => l.G_ad_loss_GA + l.G_ad_cam_loss_GA + l.G_ad_loss_LA + l.G_ad_cam_loss_LA,
      'adv B (GB+LB, patch+cam)': (l) => l.G_ad_loss_GB + l.G_ad_cam_loss_GB + l.G_ad_loss_LB + l.G_ad_cam_loss_LB,
    },
  },
  { panel: '4 cycle L1', series: { 'cycle A': (l) => l.G_recon_loss_A, 'cycle B': (l) => l.G_recon_loss_B } },
  { panel: '5 identity L1', series: { 'identity A': (l) => l.G_identity_loss_A, 'identity B': (l) => l.G_identity_loss_B } },
  { panel: '6 generator CAM BCE', series: { 'cam A': (l) => l.G_cam_loss_A, 'cam B': (l) => l.G_cam_loss_B } },
];

interface Point {
  step: number;
  value: number;
  series: string;
  panel: string;
}

/** Average consecutive records into at most `maxPoints` buckets; returns long-format points. */
export function lossCurvePoints(records: readonly LossRecord[], maxPoints = 400): Point[] {
  const out: Point[] = [];
  if (records.length === 0) return out;
  const per = Math.max(1, Math.ceil(records.length / maxPoints));
  for (const { panel, series } of PANELS) {
    for (const [name, f] of Object.entries(series)) {
      for (let i = 0; i < records.length; i += per) {
        const chunk = records.slice(i, i + per);
        let sum = 0;
        let n = 0;
        for (const r of chunk) {
          const v = f(r.losses);
          if (Number.isFinite(v)) {
            sum += v;
            n++;
          }
        }
        if (n > 0) out.push({ step: chunk[chunk.length - 1].step, value: sum / n, series: name, panel });
      }
    }
  }
  return out;
}

/** Render the loss curves of `records` as a PNG. */
export async function renderLossCurve(records: readonly LossRecord[], title = 'U-GAT-IT training losses'): Promise<Buffer> {
  const values = lossCurvePoints(records);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, fontSize: 16 },
    data: { values },
    facet: { row: { field: 'panel', type: 'nominal', title: null, header: { labelFontSize: 13, labelAngle: 0, labelAlign: 'left', labelOrient: 'top', labelExpr: 'slice(datum.value, 2)' } } },
    resolve: { scale: { y: 'independent', color: 'independent' } },
    spec: {
      width: 720,
      height: 130,
      mark: { type: 'line', strokeWidth: 1.5, interpolate: 'linear' },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
        color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'right', labelFontSize: 11, labelLimit: 260 } },
      },
    },
    config: { font: 'DejaVu Sans', background: 'white' },
  };
  return vegaLiteToPng(spec);
}
