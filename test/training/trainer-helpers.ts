/**
 * Test helpers of the trainer suites: a tiny generated dataset (no artwork needed) and a tiny
 * network configuration that trains in seconds on the wasm backend.
 * Domain A = random coloured shapes on a light background; domain B = the same kind of shapes,
 * colour-inverted. Drawn as SVG and rasterised by sharp.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/training/data/rng.ts';
import type { TrainOptions } from '../../src/training/trainer/options.ts';

/** An SVG with 1–3 random shapes. */
export function shapesSvg(rng: Rng, size: number): string {
  const shapes: string[] = [];
  const n = 1 + rng.int(3);
  const colour = () => `rgb(${40 + rng.int(180)},${40 + rng.int(180)},${40 + rng.int(180)})`;
  for (let i = 0; i < n; i++) {
    const cx = size * (0.2 + 0.6 * rng.next());
    const cy = size * (0.2 + 0.6 * rng.next());
    const r = size * (0.1 + 0.2 * rng.next());
    const kind = rng.int(3);
    if (kind === 0) shapes.push(`<circle cx="${cx}" cy="${cy}" r="${r}" fill="${colour()}"/>`);
    else if (kind === 1) shapes.push(`<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${1.4 * r}" fill="${colour()}"/>`);
    else shapes.push(`<polygon points="${cx},${cy - r} ${cx + r},${cy + r} ${cx - r},${cy + r}" fill="${colour()}"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="rgb(235,230,220)"/>${shapes.join('')}</svg>`;
}

/**
 * Write a dataset dir with trainA/trainB (n images each) and testA/testB (nTest each), PNGs of
 * `size`² (B colour-inverted). Returns the dataset dir.
 */
export async function makeShapesDataset(opts: { n?: number; nTest?: number; size?: number; seed?: number; root?: string } = {}): Promise<string> {
  const { n = 12, nTest = 2, size = 48, seed = 1 } = opts;
  const root = opts.root ?? (await mkdtemp(path.join(tmpdir(), 'webtoon-shapes-')));
  const rng = new Rng(seed);
  for (const [split, count] of [
    ['trainA', n],
    ['trainB', n],
    ['testA', nTest],
    ['testB', nTest],
  ] as const) {
    const dir = path.join(root, split);
    await mkdir(dir, { recursive: true });
    for (let i = 0; i < count; i++) {
      let img = sharp(Buffer.from(shapesSvg(rng, size))).removeAlpha();
      if (split.endsWith('B')) img = img.negate({ alpha: false });
      await writeFile(path.join(dir, `img_${String(i).padStart(3, '0')}.png`), await img.png().toBuffer());
    }
  }
  return root;
}

/** A configuration small enough for tests: light, ngf 4, 1 block, 32², 4+3-layer discriminators, one worker. */
export const TINY: Partial<TrainOptions> = {
  light: true,
  imgSize: 32,
  ngf: 4,
  ndf: 4,
  nRes: 1,
  disLayersGlobal: 4,
  disLayersLocal: 3,
  backend: 'wasm',
  sampleCount: 2,
  // one process: the data-parallel suites (trainer-workers.test.ts) set workers themselves
  workers: 1,
};
