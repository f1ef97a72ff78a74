/**
 * The one owner of vega and vega-lite: a vega-lite spec compiled to vega and rendered headless
 * (`renderer: 'none'`) to SVG, then rasterised by the media module. Used by the rebalancing report's
 * chart and the trainer's loss curve. A lint rule refuses `vega`/`vega-lite` anywhere else under src/.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { svgToPng } from './media.ts';

export type { TopLevelSpec };

/** Render a vega-lite spec to an SVG document; `scale` multiplies its pixel size. */
export async function vegaLiteToSvg(spec: TopLevelSpec, scale = 1): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG(scale);
  } finally {
    view.finalize();
  }
}

/** Options of {@link vegaLiteToPng}. */
export interface ChartPngOptions {
  /** Pixel size multiplier (default 1). */
  scale?: number;
  /** SVG rasterisation density in dpi (default 96). */
  density?: number;
  /** Flatten onto this colour (default white); null keeps transparency. */
  background?: string | null;
}

/** Render a vega-lite spec to a PNG. */
export async function vegaLiteToPng(spec: TopLevelSpec, opts: ChartPngOptions = {}): Promise<Buffer> {
  const svg = await vegaLiteToSvg(spec, opts.scale ?? 1);
  return svgToPng(svg, opts.background === undefined ? '#ffffff' : opts.background, opts.density ?? 96);
}
