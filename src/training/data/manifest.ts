/**
 * The dataset manifest: one JSON object per line (JSONL) for each face crop `webtoon dataset build`
 * wrote into a domain folder (`<dataset>/trainA/manifest.jsonl`, `<dataset>/trainB/manifest.jsonl`):
 * the PNG's name, the raw image it came from, the face box, the perceptual hash, the size and the
 * tags (`webtoon dataset tag`). The build also keeps `sources.jsonl` beside it: every raw image it has
 * looked at (by content hash) and what came of it, so a re-run only looks at what is new.
 */
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../shared/atomic-write.ts';
import { DatasetError } from '../training.errors.ts';
import { isTagProblem, parseTag } from './tags.ts';

/** File name of the manifest inside a domain folder. */
export const MANIFEST_FILE = 'manifest.jsonl';
/** File name of the build's record of the raw images it has processed. */
export const SOURCES_FILE = 'sources.jsonl';

const box = z.object({ x: z.number(), y: z.number(), width: z.number().positive(), height: z.number().positive() });
const rect = z.object({ left: z.number().int(), top: z.number().int(), width: z.number().int().positive(), height: z.number().int().positive() });

const entrySchema = z.object({
  /** The PNG, relative to the domain folder that holds the manifest. */
  file: z.string().min(1),
  /** The raw image it was cut from, relative to the build's input folder. */
  source: z.string().min(1),
  sourceSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The detector's face box, in source pixels. */
  box,
  /** The square that was cut (face box + the serving crop's margin), in source pixels. */
  crop: rect,
  detector: z.string().min(1),
  score: z.number(),
  /** Perceptual hash (blockhash, 256 bits as 64 hex digits) of the written crop. */
  hash: z.string().regex(/^[0-9a-f]+$/),
  /** Side in pixels of the written PNG. */
  size: z.number().int().positive(),
  tags: z.array(z.string()).refine((tags) => tags.every((t) => !isTagProblem(parseTag(t))), 'every tag must be an attribute of the shared vocabulary (attribute or attribute=value)'),
});

/** One face crop of the dataset. */
export type ManifestEntry = z.infer<typeof entrySchema>;

const sourceSchema = z.object({
  source: z.string().min(1),
  sourceSha256: z.string().regex(/^[0-9a-f]{64}$/),
  outcome: z.enum(['faces', 'no-face', 'unreadable']),
  faces: z.number().int().min(0),
});

/** One raw image the build has processed. */
export type SourceRecord = z.infer<typeof sourceSchema>;

async function readJsonl<T>(file: string, schema: z.ZodType<T>, what: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DatasetError('INPUT_MISSING', `${what} ${file} does not exist`, { file });
    throw new DatasetError('MANIFEST_INVALID', `cannot read ${what} ${file}: ${(err as Error).message}`, { file });
  }
  const out: T[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new DatasetError('MANIFEST_INVALID', `${file} line ${i + 1}: not a JSON object`, { file, line: i + 1 });
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new DatasetError('MANIFEST_INVALID', `${file} line ${i + 1}: ${issue.path.join('.') || 'entry'}: ${issue.message}`, { file, line: i + 1 });
    }
    out.push(parsed.data);
  }
  return out;
}

/**
 * Read a manifest.
 * @throws {DatasetError} INPUT_MISSING when absent, MANIFEST_INVALID naming the first bad line.
 */
export function readManifest(file: string): Promise<ManifestEntry[]> {
  return readJsonl(file, entrySchema, 'manifest');
}

/** Read a manifest, or an empty list when the file does not exist yet. */
export async function readManifestIfPresent(file: string): Promise<ManifestEntry[]> {
  try {
    return await readManifest(file);
  } catch (err) {
    if (err instanceof DatasetError && err.code === 'INPUT_MISSING') return [];
    throw err;
  }
}

/** Read the build's source records, or an empty list when none exist yet. */
export async function readSourcesIfPresent(file: string): Promise<SourceRecord[]> {
  try {
    return await readJsonl(file, sourceSchema, 'source list');
  } catch (err) {
    if (err instanceof DatasetError && err.code === 'INPUT_MISSING') return [];
    throw err;
  }
}

const toLines = (rows: readonly unknown[]): string => rows.map((r) => `${JSON.stringify(r)}\n`).join('');

/** Append entries (the build adds each source's faces as it goes, so an interrupted build keeps its work). */
export async function appendJsonl(file: string, rows: readonly (ManifestEntry | SourceRecord)[]): Promise<void> {
  if (rows.length) await appendFile(file, toLines(rows));
}

/** Replace a manifest as a whole: written to a temporary file, then renamed over the old one. */
export function writeManifest(file: string, entries: readonly ManifestEntry[]): Promise<void> {
  return writeFileAtomic(file, toLines(entries));
}

/**
 * The domain split a manifest describes, from the name of its folder (`trainA` → A). Images of the
 * manifest are named `<split>/<file>` relative to the dataset dir, as sampling-weights files name them.
 */
export function splitOfManifest(file: string): 'trainA' | 'trainB' | undefined {
  const dir = path.basename(path.dirname(path.resolve(file)));
  return dir === 'trainA' || dir === 'trainB' ? dir : undefined;
}
