/**
 * The official dataset layout: `<dir>/{trainA, trainB, testA, testB}/`, images found recursively,
 * with the extensions the official ImageFolder accepts. Paths are kept relative to the dataset dir
 * (with forward slashes), which is also how sampling-weights files name images.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { TrainingError } from '../training.errors.ts';

/** Extensions the official loader accepts (case-insensitive), plus webp. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];

/** The four splits of a dataset. */
export type Split = 'trainA' | 'trainB' | 'testA' | 'testB';

/** A scanned dataset: image paths relative to `root`, sorted, per split. */
export interface Dataset {
  root: string;
  files: Record<Split, string[]>;
}

async function listImages(root: string, sub: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const entries = await readdir(path.join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      const childRel = `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(childRel);
      else if ((e.isFile() || e.isSymbolicLink()) && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) {
        out.push(childRel);
      }
    }
  }
  await walk(sub);
  return out.sort();
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Find the images of every split. `trainA` and `trainB` must exist; `testA`/`testB` may be absent
 * (empty lists).
 * @throws {TrainingError} DATA_DIR_INVALID when the dir or a train split is missing.
 */
export async function scanDataset(dir: string): Promise<Dataset> {
  const root = path.resolve(dir);
  if (!(await isDir(root))) {
    throw new TrainingError('DATA_DIR_INVALID', `dataset dir ${root} does not exist or is not a directory`, { dir: root });
  }
  const files = {} as Record<Split, string[]>;
  for (const split of ['trainA', 'trainB', 'testA', 'testB'] as const) {
    const present = await isDir(path.join(root, split));
    if (!present && (split === 'trainA' || split === 'trainB')) {
      throw new TrainingError(
        'DATA_DIR_INVALID',
        `dataset dir ${root} has no ${split}/ folder (expected trainA/ with real faces and trainB/ with webtoon faces)`,
        { dir: root, missing: split },
      );
    }
    files[split] = present ? await listImages(root, split) : [];
  }
  return { root, files };
}

/**
 * A hash that changes when the training images change: sha256 over each train image's relative
 * path and size. Recorded in checkpoints as `data_manifest_hash`.
 */
export async function manifestHash(ds: Dataset): Promise<string> {
  const h = createHash('sha256');
  for (const split of ['trainA', 'trainB'] as const) {
    for (const rel of ds.files[split]) {
      const s = await stat(path.join(ds.root, rel));
      h.update(`${rel}\t${s.size}\n`);
    }
  }
  return h.digest('hex');
}

/**
 * The identity of one training split for sampling-weights files: sha256 over each image's relative
 * path and size, in sorted order. Adding, removing or replacing an image changes it; re-tagging does not.
 */
export async function domainFingerprint(ds: Dataset, split: 'trainA' | 'trainB'): Promise<string> {
  const h = createHash('sha256');
  for (const rel of ds.files[split]) {
    const s = await stat(path.join(ds.root, rel));
    h.update(`${rel}\t${s.size}\n`);
  }
  return h.digest('hex');
}
