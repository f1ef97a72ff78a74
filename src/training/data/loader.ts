/**
 * Feeds the trainer: for step s it yields `real_A` and `real_B` batches (NHWC float32 in [-1, 1]),
 * decoded and augmented ahead of time so the training step never waits on disk or sharp. Images are
 * decoded once at (img+30)² and kept in a byte-bounded LRU cache; flips and crops are drawn per draw.
 * Unreadable images are skipped with a counted warning and replaced by a deterministic redraw.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { augmentParams, cropFlipNormalize, loadSizeFor, normalizeImage } from './augment.ts';
import type { Dataset, Split } from './dataset.ts';
import { decodeResizedRgb, probeImage, type RawImage } from '../../media/media.ts';
import { DomainSampler, type SamplingWeights } from './sampler.ts';
import { TrainingError } from '../training.errors.ts';

/** One step's inputs. */
export interface TrainBatch {
  /** 0-based step index this batch belongs to. */
  step: number;
  /** [batch, img, img, 3] row-major, in [-1, 1]. */
  a: Float32Array;
  b: Float32Array;
  /** Relative paths of the images used, for logs and tests. */
  pathsA: string[];
  pathsB: string[];
}

/** Options of {@link TrainDataLoader.create}. */
export interface TrainDataLoaderOptions {
  dataset: Dataset;
  imgSize: number;
  batch: number;
  seed: number;
  /** Official flip + resize(img+30) + random crop; false = resize to img and nothing else. */
  augment?: boolean;
  /** Per-image weights for one domain (the other is drawn in shuffled epochs). */
  samplingWeights?: SamplingWeights;
  /** How many steps to prepare ahead (default 3). */
  prefetch?: number;
  /** Decoded-image cache budget in bytes (default 512 MiB). */
  cacheBytes?: number;
  log?: Logger;
}

const DOMAINS = [
  { id: 0, split: 'trainA' as Split, name: 'A' as const },
  { id: 1, split: 'trainB' as Split, name: 'B' as const },
];

/** Training-data pipeline with prefetch; see the module comment. */
export class TrainDataLoader {
  /** Images skipped because they could not be decoded (probe or decode), by relative path. */
  readonly skipped = new Set<string>();
  private readonly cache = new Map<string, RawImage>();
  private cacheUsed = 0;
  private readonly inflight = new Map<string, Promise<RawImage | null>>();
  private readonly ahead = new Map<number, Promise<TrainBatch>>();
  private readonly loadSize: number;

  private constructor(
    private readonly opts: Required<Omit<TrainDataLoaderOptions, 'samplingWeights' | 'log'>> & Pick<TrainDataLoaderOptions, 'log'>,
    private readonly files: [string[], string[]],
    private readonly samplers: [DomainSampler, DomainSampler],
  ) {
    this.loadSize = opts.augment ? loadSizeFor(opts.imgSize) : opts.imgSize;
  }

  /**
   * Check every training image's header (unreadable ones are skipped with a counted warning) and
   * build the samplers.
   * @throws {TrainingError} DOMAIN_EMPTY when trainA or trainB has no usable image.
   */
  static async create(options: TrainDataLoaderOptions): Promise<TrainDataLoader> {
    const opts = {
      augment: true,
      prefetch: 3,
      cacheBytes: 512 * 1024 * 1024,
      ...options,
    };
    const { dataset } = opts;
    const skipped: string[] = [];
    const files: [string[], string[]] = [[], []];
    const samplers: DomainSampler[] = [];
    for (const d of DOMAINS) {
      const all = dataset.files[d.split];
      const ok = await mapLimit(all, 8, (rel) => probeImage(path.join(dataset.root, rel)));
      const usable = all.filter((_, i) => ok[i]);
      for (let i = 0; i < all.length; i++) if (!ok[i]) skipped.push(all[i]);
      if (usable.length === 0) {
        throw new TrainingError(
          'DOMAIN_EMPTY',
          `domain ${d.name} has no usable image: ${path.join(dataset.root, d.split)} holds ${all.length} image file(s), ${all.length - usable.length} unreadable`,
          { domain: d.name, dir: path.join(dataset.root, d.split), files: all.length },
        );
      }
      files[d.id] = usable;
      let weights: Float64Array | undefined;
      const sw = opts.samplingWeights;
      if (sw && sw.domain === d.name) {
        // weights are indexed by the full sorted list; keep those of usable files
        const full = new Map(all.map((f, i) => [f, sw.weights[i]]));
        weights = Float64Array.from(usable, (f) => full.get(f) ?? sw.defaultWeight);
        if (!weights.some((w) => w > 0)) {
          throw new TrainingError('SAMPLING_WEIGHTS_INVALID', `every usable image of domain ${d.name} has weight 0`, { domain: d.name });
        }
      }
      samplers.push(new DomainSampler(usable.length, opts.seed, d.id, weights));
    }
    const loader = new TrainDataLoader(opts, files, samplers as [DomainSampler, DomainSampler]);
    for (const rel of skipped) loader.noteSkipped(rel, 'not a readable image');
    return loader;
  }

  /** Number of usable images per domain. */
  get sizes(): { A: number; B: number } {
    return { A: this.files[0].length, B: this.files[1].length };
  }

  /**
   * The inputs of 0-based step `step`; also starts preparing the next `prefetch` steps.
   * Ask for steps in increasing order for the prefetch to pay off (any order is correct).
   */
  async batch(step: number): Promise<TrainBatch> {
    const p = this.ahead.get(step) ?? this.prepare(step);
    this.ahead.delete(step);
    for (const k of [...this.ahead.keys()]) if (k < step) this.ahead.delete(k);
    for (let s = step + 1; s <= step + this.opts.prefetch; s++) {
      if (!this.ahead.has(s)) {
        const q = this.prepare(s);
        q.catch(() => undefined); // surfaced when that step is asked for
        this.ahead.set(s, q);
      }
    }
    return p;
  }

  /**
   * Fixed images for sample grids: the first `count` images of testA/testB (sorted), or of the train
   * split when the test split is empty, resized to img×img without augmentation.
   */
  async fixedImages(domain: 'A' | 'B', count: number): Promise<{ data: Float32Array; paths: string[] }> {
    const { dataset, imgSize } = this.opts;
    const test = dataset.files[domain === 'A' ? 'testA' : 'testB'];
    const pool = test.length > 0 ? test : this.files[domain === 'A' ? 0 : 1];
    const paths: string[] = [];
    const imgs: RawImage[] = [];
    for (const rel of pool) {
      if (imgs.length >= count) break;
      try {
        imgs.push(await decodeResizedRgb(path.join(dataset.root, rel), imgSize, imgSize));
        paths.push(rel);
      } catch {
        this.noteSkipped(rel, 'not a readable image');
      }
    }
    const per = imgSize * imgSize * 3;
    const data = new Float32Array(imgs.length * per);
    imgs.forEach((img, i) => normalizeImage(img, data, i * per));
    return { data, paths };
  }

  private noteSkipped(rel: string, why: string): void {
    if (this.skipped.has(rel)) return;
    this.skipped.add(rel);
    this.opts.log?.warn({ image: rel, skipped: this.skipped.size }, `skipping ${rel}: ${why} (${this.skipped.size} skipped so far)`);
  }

  private async prepare(step: number): Promise<TrainBatch> {
    const { batch, imgSize, seed, augment } = this.opts;
    const per = imgSize * imgSize * 3;
    const out = { a: new Float32Array(batch * per), b: new Float32Array(batch * per), pathsA: [] as string[], pathsB: [] as string[] };
    await Promise.all(
      DOMAINS.flatMap((d) =>
        Array.from({ length: batch }, async (_, slot) => {
          const draw = step * batch + slot;
          const { img, rel } = await this.drawImage(d.id, draw);
          const target = d.id === 0 ? out.a : out.b;
          if (augment) {
            cropFlipNormalize(img, imgSize, augmentParams(seed, d.id, draw, this.loadSize, imgSize), target, slot * per);
          } else {
            normalizeImage(img, target, slot * per);
          }
          (d.id === 0 ? out.pathsA : out.pathsB)[slot] = rel;
        }),
      ),
    );
    return { step, ...out };
  }

  private async drawImage(domainId: number, draw: number): Promise<{ img: RawImage; rel: string }> {
    const files = this.files[domainId];
    const sampler = this.samplers[domainId];
    const maxAttempts = 10 * files.length + 100;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const rel = files[sampler.indexAt(draw, attempt)];
      const img = await this.decode(rel);
      if (img) return { img, rel };
      if (files.every((f) => this.skipped.has(f))) break;
    }
    const name = DOMAINS[domainId].name;
    throw new TrainingError('DOMAIN_EMPTY', `domain ${name} has no usable image left: every file failed to decode`, {
      domain: name,
      skipped: this.skipped.size,
    });
  }

  private decode(rel: string): Promise<RawImage | null> {
    const hit = this.cache.get(rel);
    if (hit) {
      this.cache.delete(rel); // refresh LRU position
      this.cache.set(rel, hit);
      return Promise.resolve(hit);
    }
    if (this.skipped.has(rel)) return Promise.resolve(null);
    let p = this.inflight.get(rel);
    if (!p) {
      p = decodeResizedRgb(path.join(this.opts.dataset.root, rel), this.loadSize, this.loadSize).then(
        (img) => {
          this.inflight.delete(rel);
          this.remember(rel, img);
          return img;
        },
        (err: unknown) => {
          this.inflight.delete(rel);
          this.noteSkipped(rel, (err as Error).message);
          return null;
        },
      );
      this.inflight.set(rel, p);
    }
    return p;
  }

  private remember(rel: string, img: RawImage): void {
    const bytes = img.data.byteLength;
    if (bytes > this.opts.cacheBytes) return;
    while (this.cacheUsed + bytes > this.opts.cacheBytes && this.cache.size > 0) {
      const [oldest, old] = this.cache.entries().next().value as [string, RawImage];
      this.cache.delete(oldest);
      this.cacheUsed -= old.data.byteLength;
    }
    this.cache.set(rel, img);
    this.cacheUsed += bytes;
  }
}

/** Map with at most `limit` promises in flight, keeping order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
