/**
 * `importTorchCheckpoint`: official UGATIT-pytorch `*_params_*.pt` → our checkpoint directory. Reads and
 * validates everything first, writes into a temporary sibling directory and renames it into place, so
 * a failed import leaves no output at all.
 */
import { createHash } from 'node:crypto';
import { CheckpointError } from '../training.errors.ts';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { atomicWrite } from '../../shared/atomic-write.ts';
import path from 'node:path';
import { UsageError } from '../../errors.ts';
import { whyNotReplaceable } from '../../cli/output-guard.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, checkpointHash, saveCheckpoint, type CheckpointConfig } from '../checkpoint.ts';
import { NETWORK_NAMES, type NetworkName } from '../tensors.ts';
import { inferConfig, type InferredConfig } from '../networks/shapes.ts';
import { readTorchCheckpoint } from './torch-checkpoint.ts';

/** Image size recorded for light models, whose weights do not fix it (the official default). */
export const DEFAULT_LIGHT_IMG_SIZE = 256;

/** Options of {@link importTorchCheckpoint}. */
export interface ImportTorchOptions {
  /** The official checkpoint (`.pt`, torch.save zip format). */
  file: string;
  /** Our checkpoint directory to create. */
  outDir: string;
  /** Training image size; required knowledge for light models (default 256), must agree with full ones. */
  imgSize?: number;
  /** Replace an existing non-empty output directory. */
  force?: boolean;
  /** Told when each phase starts (the CLI's progress bar). */
  onPhase?: (phase: ImportPhase) => void;
}

/** The phases of an import, in order. */
export const IMPORT_PHASES = ['read', 'check', 'write', 'hash'] as const;
export type ImportPhase = (typeof IMPORT_PHASES)[number];

/** What an import wrote. */
export interface ImportTorchResult {
  out: string;
  config: CheckpointConfig;
  inferred: InferredConfig;
  networks: Partial<Record<NetworkName, { tensors: number; params: number }>>;
  totalParams: number;
  weightsSha256: string;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer); // streamed: checkpoints can exceed 2 GiB
  return hash.digest('hex');
}

async function checkOutput(outDir: string, force: boolean): Promise<void> {
  let info;
  try {
    info = await stat(outDir);
  } catch {
    return; // does not exist: fine
  }
  if (!info.isDirectory()) throw new CheckpointError('OUTPUT_EXISTS', `${outDir} exists and is not a directory`, { out: outDir });
  if ((await readdir(outDir)).length === 0) return;
  if (!force) throw new CheckpointError('OUTPUT_EXISTS', `${outDir} exists and is not empty; pass --force to replace it`, { out: outDir });
  // --force replaces only one of our own checkpoint folders, never e.g. `-o .` (it used to delete the current folder).
  const why = whyNotReplaceable(outDir);
  if (why) throw new CheckpointError('OUTPUT_EXISTS', `${outDir} will not be replaced, even with --force: ${why}`, { out: outDir });
}

/** The training step encoded in the official file name `<name>_params_<step 7 digits>.pt`, else 0. */
export function stepFromFileName(file: string): number {
  const m = /_params_(\d+)\.pt$/.exec(path.basename(file));
  return m ? Number(m[1]) : 0;
}

/**
 * Import an official PyTorch checkpoint into our format.
 * @throws UsageError for a bad `imgSize`; CheckpointError (see readTorchCheckpoint / inferConfig) for bad
 *   files, OUTPUT_EXISTS when `outDir` is in the way. On any error nothing is written.
 */
export async function importTorchCheckpoint(opts: ImportTorchOptions): Promise<ImportTorchResult> {
  const file = path.resolve(opts.file);
  const outDir = path.resolve(opts.outDir);
  if (opts.imgSize !== undefined && (!Number.isInteger(opts.imgSize) || opts.imgSize <= 0 || opts.imgSize % 4 !== 0)) {
    throw new UsageError(`--img-size must be a positive multiple of 4, got ${opts.imgSize}`, { imgSize: opts.imgSize });
  }
  await checkOutput(outDir, !!opts.force);
  try {
    await stat(file);
  } catch (err) {
    throw new UsageError(`checkpoint file ${file} does not exist`, { file, cause: (err as NodeJS.ErrnoException).code });
  }

  opts.onPhase?.('read');
  const state = await readTorchCheckpoint(file);
  opts.onPhase?.('check');
  const inferred = inferConfig(state);
  let imgSize: number;
  let imgSizeFrom: 'weights' | 'flag' | 'default';
  if (inferred.img_size !== null) {
    if (opts.imgSize !== undefined && opts.imgSize !== inferred.img_size) {
      throw new UsageError(`--img-size ${opts.imgSize} contradicts the weights: this full-mode generator was built for ${inferred.img_size}`, {
        imgSize: opts.imgSize,
        inferred: inferred.img_size,
      });
    }
    imgSize = inferred.img_size;
    imgSizeFrom = 'weights';
  } else if (opts.imgSize !== undefined) {
    imgSize = opts.imgSize;
    imgSizeFrom = 'flag';
  } else {
    imgSize = DEFAULT_LIGHT_IMG_SIZE;
    imgSizeFrom = 'default';
  }

  const config: CheckpointConfig = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    variant: inferred.variant,
    light: inferred.light,
    ngf: inferred.ngf,
    ndf: inferred.ndf,
    n_blocks: inferred.n_blocks,
    img_size: imgSize,
    dis_layers_global: inferred.dis_layers_global,
    dis_layers_local: inferred.dis_layers_local,
    step: stepFromFileName(file),
    data_manifest_hash: null,
    source: { kind: 'torch-import', file: path.basename(file), sha256: await sha256File(file), img_size_from: imgSizeFrom },
  };

  opts.onPhase?.('write');
  await atomicWrite(outDir, async (tmp) => {
    await saveCheckpoint(tmp, { config, state });
  }, { directory: true });

  const networks: ImportTorchResult['networks'] = {};
  let totalParams = 0;
  for (const net of NETWORK_NAMES) {
    const sd = state[net];
    if (!sd) continue;
    let params = 0;
    for (const t of sd.values()) params += t.data.length;
    networks[net] = { tensors: sd.size, params };
    totalParams += params;
  }
  opts.onPhase?.('hash');
  return { out: outDir, config, inferred, networks, totalParams, weightsSha256: await checkpointHash(outDir) };
}
