/**
 * The model registry: the ONNX generators in MODELS_DIR, read from their metadata (direction, image
 * size, version) and checked against the generator contract. The newest version per direction is
 * served unless one is pinned. Each lookup re-lists the folder (one readdir and a stat per file) and
 * re-reads only files whose size or mtime changed, so a replaced or added file is picked up without a
 * restart.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { moduleLogger } from '../logger.ts';
import { readOnnxHeader } from '../onnx/proto.ts';
import { DIRECTIONS, type Direction } from '../shared/direction.ts';
import {
  type ContractFill,
  checkGeneratorContract,
  contractMessage,
  type GeneratorFacts,
  type OnnxHeader,
} from '../shared/generator-contract.ts';
import { InferenceError } from './inference.errors.ts';

const log = moduleLogger('inference.registry');

/** A generator that honours the contract. */
export interface ModelInfo extends GeneratorFacts {
  /** Absolute path. */
  path: string;
  file: string;
  mtimeMs: number;
  bytes: number;
}

/** A file that was refused, and why. */
export interface RefusedModel {
  file: string;
  reason: string;
}

/** Facts supplied from outside (CLI flags) for a model whose metadata lacks them. */
export type MetadataOverrides = Pick<ContractFill, 'direction' | 'version' | 'imgSize'>;

/**
 * Check a parsed ONNX header against the generator contract (see src/shared/generator-contract.ts).
 * @returns the model facts, or the list of problems.
 */
export function checkContract(
  header: OnnxHeader,
  fill: ContractFill = {},
): { ok: true; info: GeneratorFacts } | { ok: false; problems: string[] } {
  const r = checkGeneratorContract(header, fill);
  return r.ok ? { ok: true, info: r.facts } : r;
}

/** The version a model without one gets: `<file stem>-<first 8 hex of its sha256>`, stable for the same bytes. */
export function fallbackVersion(file: string, bytes: Uint8Array): string {
  const stem = path.basename(file).replace(/\.onnx$/i, '');
  return `${stem}-${createHash('sha256').update(bytes).digest('hex').slice(0, 8)}`;
}

/**
 * Read and check one ONNX file.
 * @throws {InferenceError} INVALID_MODEL naming what is wrong; MODEL_UNAVAILABLE when the file cannot be read.
 */
export async function loadModelInfo(file: string, overrides: ContractFill = {}): Promise<ModelInfo> {
  const abs = path.resolve(file);
  let bytes: Buffer;
  let mtimeMs: number;
  try {
    const st = await stat(abs);
    mtimeMs = st.mtimeMs;
    bytes = await readFile(abs);
  } catch (err) {
    throw new InferenceError('MODEL_UNAVAILABLE', `The model file ${abs} cannot be read.`, { path: abs, reason: (err as Error).message });
  }
  let header: OnnxHeader;
  try {
    header = readOnnxHeader(bytes);
  } catch (err) {
    throw new InferenceError('INVALID_MODEL', `The model ${path.basename(abs)} is not a readable ONNX file: ${(err as Error).message}.`, {
      path: abs,
      problems: [(err as Error).message],
    });
  }
  const checked = checkContract(header, { fallbackVersion: fallbackVersion(abs, bytes), ...overrides });
  if (!checked.ok) {
    throw new InferenceError('INVALID_MODEL', contractMessage(path.basename(abs), checked.problems), {
      path: abs,
      problems: checked.problems,
    });
  }
  return { ...checked.info, path: abs, file: path.basename(abs), mtimeMs, bytes: bytes.length };
}

/** Compare version strings naturally ("step10" > "step9", "1.10" > "1.9"). */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });
}

interface Entry {
  mtimeMs: number;
  size: number;
  result: { ok: true; info: ModelInfo } | { ok: false; reason: string };
}

export interface RegistryOptions {
  /** Pinned version (or file name) per direction. */
  pins?: Partial<Record<Direction, string | undefined>>;
}

/** The models in one folder. */
export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly dir: string,
    private readonly opts: RegistryOptions = {},
  ) {}

  private refreshing: Promise<void> | null = null;

  /** Re-list the folder and re-read changed files (one refresh at a time). A missing folder means no models. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshNow().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refreshNow(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.toLowerCase().endsWith('.onnx'));
    } catch {
      names = [];
    }
    const seen = new Set<string>();
    for (const name of names) {
      const abs = path.join(this.dir, name);
      let st;
      try {
        st = await stat(abs);
      } catch {
        continue; // removed between readdir and stat
      }
      if (!st.isFile()) continue;
      seen.add(name);
      const old = this.entries.get(name);
      if (old && old.mtimeMs === st.mtimeMs && old.size === st.size) continue;
      let result: Entry['result'];
      try {
        result = { ok: true, info: await loadModelInfo(abs) };
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        result = { ok: false, reason };
        log.warn({ file: name, reason }, 'model refused');
      }
      if (result.ok) log.info({ file: name, direction: result.info.direction, version: result.info.version }, 'model found');
      this.entries.set(name, { mtimeMs: st.mtimeMs, size: st.size, result });
    }
    for (const name of [...this.entries.keys()]) if (!seen.has(name)) this.entries.delete(name);
  }

  /** Valid models and refused files, as of the last refresh. */
  list(): { models: ModelInfo[]; refused: RefusedModel[] } {
    const models: ModelInfo[] = [];
    const refused: RefusedModel[] = [];
    for (const [file, e] of this.entries) {
      if (e.result.ok) models.push(e.result.info);
      else refused.push({ file, reason: e.result.reason });
    }
    return { models, refused };
  }

  /**
   * The model to serve for `direction` (refreshes first): the pinned one, else the newest version
   * (ties: the most recently written file).
   * @throws {InferenceError} MODEL_UNAVAILABLE (none, or the pin matches none), INVALID_MODEL (the pinned file is refused).
   */
  async resolve(direction: Direction): Promise<ModelInfo> {
    await this.refresh();
    const { models, refused } = this.list();
    const candidates = models.filter((m) => m.direction === direction);
    const pin = this.opts.pins?.[direction];
    if (pin) {
      const hit = candidates.find((m) => m.version === pin || m.file === pin);
      if (hit) return hit;
      const bad = refused.find((r) => r.file === pin);
      if (bad) throw new InferenceError('INVALID_MODEL', bad.reason, { direction, pin, file: bad.file });
      throw new InferenceError(
        'MODEL_UNAVAILABLE',
        `The pinned ${direction} model "${pin}" is not in ${this.dir}. Available ${direction} versions: ${candidates.map((m) => m.version).join(', ') || 'none'}.`,
        { direction, pin, dir: this.dir, available: candidates.map((m) => m.version) },
      );
    }
    if (candidates.length === 0) {
      throw new InferenceError(
        'MODEL_UNAVAILABLE',
        `No ${direction} model is installed. Put a generator ONNX file in ${this.dir} ` +
          `(e.g. \`webtoon import-torch params.pt -o ckpt && webtoon export ckpt --direction ${direction} -o ${path.join(this.dir, `${direction}.onnx`)}\`) ` +
          'or pass --model file.onnx.',
        { direction, dir: this.dir, refused },
      );
    }
    return candidates.reduce((best, m) => {
      const c = compareVersions(m.version, best.version);
      return c > 0 || (c === 0 && m.mtimeMs > best.mtimeMs) ? m : best;
    });
  }

  /** Version served per direction now (null when none). */
  async versions(): Promise<Record<Direction, string | null>> {
    const out = { a2b: null, b2a: null } as Record<Direction, string | null>;
    for (const d of DIRECTIONS) {
      try {
        out[d] = (await this.resolve(d)).version;
      } catch {
        out[d] = null;
      }
    }
    return out;
  }
}

/** Side a `--model` file is run at when neither metadata, flag nor a static input shape says (U-GAT-IT's training size). */
export const DEFAULT_IMG_SIZE = 256;

/** A registry of exactly one file (the CLI's `--model`), with metadata filled from flags where missing. */
export class SingleModelRegistry {
  constructor(
    readonly file: string,
    private readonly overrides: MetadataOverrides = {},
  ) {}

  private cached: ModelInfo | undefined;

  async resolve(direction: Direction): Promise<ModelInfo> {
    const st = await stat(this.file).catch(() => null);
    if (!this.cached || !st || st.mtimeMs !== this.cached.mtimeMs) {
      // Without img_size in metadata or flags: the graph's static input side, else the official training size.
      this.cached = await loadModelInfo(this.file, { direction, defaultImgSize: DEFAULT_IMG_SIZE, ...this.overrides });
    }
    if (this.cached.direction !== direction) {
      throw new InferenceError(
        'INVALID_MODEL',
        `The model ${this.cached.file} translates ${this.cached.direction}, but ${direction} was asked for.`,
        { path: this.cached.path, modelDirection: this.cached.direction, direction },
      );
    }
    return this.cached;
  }

  async versions(): Promise<Record<Direction, string | null>> {
    const out = { a2b: null, b2a: null } as Record<Direction, string | null>;
    try {
      const m = await loadModelInfo(this.file, { defaultImgSize: DEFAULT_IMG_SIZE, ...this.overrides });
      out[m.direction] = m.version;
    } catch {
      // unreadable: none served
    }
    return out;
  }
}
