/**
 * `webtoon dataset build`: raw photos or webtoon pages → square face crops at the training size, the
 * way the server will see faces. It reuses the inference pipeline's pieces rather than copying them:
 * intake decoding with limits (image.adapter), BlazeFace for photos and the anime-face cascade for
 * webtoon pages (the detectors the worker serves with), `squareCrop` with the serving margin and
 * `cropResize`. Every face of a page is kept (not only the largest), minus faces below the minimum
 * size and near-duplicates (blockhash within a Hamming distance). Each raw image is recorded by
 * content hash in `sources.jsonl`, so running the build again over the same folder only looks at
 * new files; each kept face is appended to `manifest.jsonl` as soon as it is written.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Detection } from '../../inference/face-box.ts';
import { squareCrop } from '../../inference/face-box.ts';
import { cropResize, decodeImage, encodePng, type RawImage } from '../../media/media.ts';
import { DatasetError } from '../training.errors.ts';
import { IMAGE_EXTENSIONS } from './dataset.ts';
import { appendJsonl, MANIFEST_FILE, type ManifestEntry, readManifestIfPresent, readSourcesIfPresent, SOURCES_FILE, type SourceRecord } from './manifest.ts';
import { HASH_SIDE, hammingDistance, perceptualHash } from './perceptual-hash.ts';

/** photo = domain A (real faces, trainA); webtoon = domain B (webtoon faces, trainB). */
export type DatasetDomain = 'photo' | 'webtoon';

/** What finds faces; the CLI passes BlazeFace for photos and the anime cascade for webtoon pages. */
export interface FaceFinder {
  readonly name: string;
  detect(img: RawImage): Promise<Detection[]>;
}

export interface BuildOptions {
  domain: DatasetDomain;
  /** Folder of raw images (searched recursively). */
  inDir: string;
  /** Domain folder to write into, e.g. `<dataset>/trainA`. */
  outDir: string;
  /** Side of the written crops (the training size). */
  size: number;
  /** Faces whose longer box side is below this (source pixels) are skipped. */
  minFace: number;
  /** Margin around the face box, as the serving crop uses (FACE_MARGIN). */
  margin: number;
  /** Largest Hamming distance (of 256 bits) at which a crop is a near-duplicate of one already kept. */
  duplicateDistance: number;
  finder: FaceFinder;
  /** Called after each raw image. */
  onProgress?: (done: number, total: number, counts: BuildCounts) => void;
}

/** Counts of what happened, each skip with its reason. */
export interface BuildCounts {
  /** Raw images found in the input folder. */
  sources: number;
  /** Raw images looked at in this run. */
  processed: number;
  /** Raw images skipped because an earlier run already processed the same content. */
  alreadyProcessed: number;
  /** Raw images that could not be decoded. */
  unreadable: number;
  /** Raw images in which the detector found no face. */
  noFace: number;
  /** Faces found in this run. */
  facesFound: number;
  /** Faces written to the dataset. */
  added: number;
  /** Faces skipped as smaller than the minimum. */
  tooSmall: number;
  /** Faces skipped as near-duplicates of a crop already kept. */
  duplicates: number;
}

export interface BuildResult {
  counts: BuildCounts;
  manifest: string;
  /** Up to 10 unreadable files with the reason, for the summary. */
  unreadableExamples: { source: string; reason: string }[];
  /** Entries in the manifest after the build. */
  totalEntries: number;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Image files under `dir`, relative with forward slashes, sorted; hidden files and folders are skipped. */
export async function listRawImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(child);
      else if ((e.isFile() || e.isSymbolicLink()) && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(child);
    }
  }
  await walk('');
  return out.sort();
}

const EXPECTED_SPLIT: Record<DatasetDomain, string> = { photo: 'trainA', webtoon: 'trainB' };

/** The output name of face `i` of a source: readable, unique, the same on every run. */
export function cropFileName(source: string, sha256: string, i: number): string {
  const stem = source.replace(/\.[^./]+$/, '').replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(-60) || 'image';
  return `${stem}-${sha256.slice(0, 8)}-f${i}.png`;
}

/** Intake limits for raw dataset images: larger than the bot's (webtoon pages are long strips). */
const LIMITS = { maxBytes: 64 * 1024 * 1024, maxPixels: 80_000_000, minSide: 1 };

/** Check the options and the folders; throws before anything is written. */
export async function checkBuildOptions(o: Omit<BuildOptions, 'finder' | 'onProgress'>): Promise<string[]> {
  if (o.domain !== 'photo' && o.domain !== 'webtoon') throw new DatasetError('OPTION_INVALID', `--domain: expected photo or webtoon, received ${JSON.stringify(o.domain)}`);
  if (!Number.isInteger(o.size) || o.size < 16 || o.size > 2048) throw new DatasetError('OPTION_INVALID', `--size: expected an integer from 16 to 2048, received ${o.size}`);
  if (!Number.isFinite(o.minFace) || o.minFace < 1) throw new DatasetError('OPTION_INVALID', `--min-face: expected a number of pixels >= 1, received ${o.minFace}`);
  if (!Number.isFinite(o.margin) || o.margin < 0 || o.margin > 3) throw new DatasetError('OPTION_INVALID', `--margin: expected a number from 0 to 3, received ${o.margin}`);
  if (!Number.isInteger(o.duplicateDistance) || o.duplicateDistance < -1 || o.duplicateDistance > 256) {
    throw new DatasetError('OPTION_INVALID', `--duplicate-distance: expected an integer from -1 (keep duplicates) to 256, received ${o.duplicateDistance}`);
  }
  if (!(await isDir(o.inDir))) throw new DatasetError('INPUT_MISSING', `--in: ${o.inDir} does not exist or is not a folder`, { inDir: o.inDir });
  const split = path.basename(path.resolve(o.outDir));
  const other = o.domain === 'photo' ? 'trainB' : 'trainA';
  if (split === other) {
    throw new DatasetError('OPTION_INVALID', `--out: ${o.domain} faces go to ${EXPECTED_SPLIT[o.domain]}/, not ${other}/ (domain A = photos, B = webtoon)`, { outDir: o.outDir });
  }
  if (path.resolve(o.outDir).startsWith(path.resolve(o.inDir) + path.sep) || path.resolve(o.outDir) === path.resolve(o.inDir)) {
    throw new DatasetError('OPTION_INVALID', `--out: ${o.outDir} lies inside --in ${o.inDir}; the crops would be read back as raw images`);
  }
  const files = await listRawImages(o.inDir);
  if (files.length === 0) {
    throw new DatasetError('INPUT_EMPTY', `--in: ${o.inDir} holds no images (${IMAGE_EXTENSIONS.join(' ')})`, { inDir: o.inDir });
  }
  // A broken manifest must stop us before we append to it.
  await readManifestIfPresent(path.join(o.outDir, MANIFEST_FILE));
  await readSourcesIfPresent(path.join(o.outDir, SOURCES_FILE));
  return files;
}

/**
 * Build (or extend) one domain folder of a dataset.
 * @throws {DatasetError} INPUT_MISSING, INPUT_EMPTY, OPTION_INVALID, MANIFEST_INVALID — before writing anything.
 */
export async function buildDataset(o: BuildOptions): Promise<BuildResult> {
  const files = await checkBuildOptions(o);
  const manifestFile = path.join(o.outDir, MANIFEST_FILE);
  const sourcesFile = path.join(o.outDir, SOURCES_FILE);
  const existing = await readManifestIfPresent(manifestFile);
  const seen = new Set((await readSourcesIfPresent(sourcesFile)).map((s) => s.sourceSha256));
  const hashes = existing.map((e) => e.hash);
  await mkdir(o.outDir, { recursive: true });

  const counts: BuildCounts = { sources: files.length, processed: 0, alreadyProcessed: 0, unreadable: 0, noFace: 0, facesFound: 0, added: 0, tooSmall: 0, duplicates: 0 };
  const unreadableExamples: BuildResult['unreadableExamples'] = [];
  let total = existing.length;
  for (let k = 0; k < files.length; k++) {
    const source = files[k];
    let bytes: Buffer;
    try {
      bytes = await readFile(path.join(o.inDir, source));
    } catch (err) {
      counts.unreadable++;
      if (unreadableExamples.length < 10) unreadableExamples.push({ source, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
      o.onProgress?.(k + 1, files.length, counts);
      continue;
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (seen.has(sha)) {
      counts.alreadyProcessed++;
      o.onProgress?.(k + 1, files.length, counts);
      continue;
    }
    seen.add(sha);
    counts.processed++;
    const record = (outcome: SourceRecord['outcome'], faces: number): SourceRecord => ({ source, sourceSha256: sha, outcome, faces });
    let image: RawImage;
    try {
      ({ image } = await decodeImage(bytes, LIMITS));
    } catch (err) {
      counts.unreadable++;
      if (unreadableExamples.length < 10) unreadableExamples.push({ source, reason: (err as { code?: string }).code ?? (err as Error).message });
      await appendJsonl(sourcesFile, [record('unreadable', 0)]);
      o.onProgress?.(k + 1, files.length, counts);
      continue;
    }
    // Top to bottom, left to right: the order a reader sees the faces of a page.
    const faces = (await o.finder.detect(image)).sort((a, b) => a.y - b.y || a.x - b.x);
    counts.facesFound += faces.length;
    if (faces.length === 0) counts.noFace++;
    const added: ManifestEntry[] = [];
    for (let i = 0; i < faces.length; i++) {
      const face = faces[i];
      if (Math.max(face.width, face.height) < o.minFace) {
        counts.tooSmall++;
        continue;
      }
      const rect = squareCrop(face, image.width, image.height, o.margin);
      const crop = await cropResize(image, rect, o.size);
      // Hash a fixed-size copy: distances then do not depend on --size, and runs at other sizes compare.
      const hash = perceptualHash(o.size === HASH_SIDE ? crop : await cropResize(image, rect, HASH_SIDE));
      if (o.duplicateDistance >= 0 && hashes.some((h) => hammingDistance(h, hash) <= o.duplicateDistance)) {
        counts.duplicates++;
        continue;
      }
      const file = cropFileName(source, sha, i);
      await writeFile(path.join(o.outDir, file), await encodePng(crop));
      hashes.push(hash);
      added.push({
        file,
        source,
        sourceSha256: sha,
        box: { x: round(face.x), y: round(face.y), width: round(face.width), height: round(face.height) },
        crop: rect,
        detector: o.finder.name,
        score: round(face.score, 4),
        hash,
        size: o.size,
        tags: [],
      });
    }
    await appendJsonl(manifestFile, added);
    await appendJsonl(sourcesFile, [record(faces.length ? 'faces' : 'no-face', added.length)]);
    counts.added += added.length;
    total += added.length;
    o.onProgress?.(k + 1, files.length, counts);
  }
  return { counts, manifest: manifestFile, unreadableExamples, totalEntries: total };
}

function round(n: number, digits = 1): number {
  const k = 10 ** digits;
  return Math.round(n * k) / k;
}

/** The closing summary, in plain words. */
export function formatBuildSummary(r: BuildResult, o: Pick<BuildOptions, 'outDir' | 'minFace' | 'duplicateDistance'>): string {
  const c = r.counts;
  const lines = [
    `${o.outDir}: ${c.added} face${c.added === 1 ? '' : 's'} added (${r.totalEntries} in the manifest)`,
    `  raw images: ${c.sources} found, ${c.processed} processed, ${c.alreadyProcessed} already processed earlier, ${c.unreadable} unreadable, ${c.noFace} without a face`,
    `  faces: ${c.facesFound} found, ${c.added} added, ${c.tooSmall} smaller than ${o.minFace} px, ${c.duplicates} near-duplicates (distance <= ${o.duplicateDistance})`,
    ...r.unreadableExamples.map((u) => `  unreadable: ${u.source} (${u.reason})`),
    `  manifest: ${r.manifest}`,
  ];
  return lines.join('\n');
}
