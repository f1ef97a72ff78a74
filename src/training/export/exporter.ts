/**
 * `exportGenerator`: one U-GAT-IT generator (a2b = genA2B, b2a = genB2A) from our checkpoint (or from an
 * in-memory state) to an ONNX file that honours the generator contract, verified against a second
 * implementation before anything is written. The measured difference goes into the metadata.
 */
import { createHash } from 'node:crypto';
import { CheckpointError } from '../training.errors.ts';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../../shared/atomic-write.ts';
import { checkGeneratorContract, contractMessage, encodeGeneratorMetadata } from '../../shared/generator-contract.ts';
import { metadataAppendix, readOnnxHeader } from '../../onnx/proto.ts';
import path from 'node:path';
import { moduleLogger } from '../../logger.ts';
import { isDirection, type Direction } from '../../shared/direction.ts';
import { type NetworkName, type StateDict, type UgatitState } from '../tensors.ts';
import { ExportError } from '../training.errors.ts';
import { buildGeneratorGraph, ONNX_IR_VERSION, ONNX_OPSET, type GeneratorGraphConfig } from './generator-graph.ts';
import type { ModelOptions } from './graph-builder.ts';
import type { Int8Options } from './quantize-generator.ts';
import { verifyGenerator, type GeneratorReference, type VerifyResult } from './verify.ts';

const log = moduleLogger('onnx-export');

export const EXPORTER_NAME = 'webtoonfaces-onnx-exporter';
export const EXPORTER_VERSION = '1';
/** Max abs difference allowed between the fp32 ONNX model and the reference. */
export const FP32_TOLERANCE = 1e-4;
/** Max abs difference allowed for fp16 weights (weights rounded to 11 significant bits; measured ≈ 3e-3 on the fixtures). */
export const FP16_TOLERANCE = 5e-2;
/** Default verification size of light models (see {@link ExportGeneratorOptions.verifySize}). */
export const LIGHT_VERIFY_SIZE = 64;

export type { Direction };
const DIRECTIONS: Record<Direction, NetworkName> = { a2b: 'genA2B', b2a: 'genB2A' };

/** The checkpoint facts an export needs (a subset of our checkpoint's config.json). */
export interface ExportSourceConfig extends GeneratorGraphConfig {
  step?: number;
}

/** Where the generator comes from: our checkpoint directory, or a state and its config. */
export type ExportSource =
  | { checkpointDir: string; state?: never; config?: never }
  | { checkpointDir?: never; state: UgatitState; config: ExportSourceConfig; sourceHash?: string };

/** Options of {@link exportGenerator}. */
export type ExportGeneratorOptions = ExportSource & {
  direction: Direction;
  outPath: string;
  /** Store weights as float16 (Cast to float32 in the graph); verified with {@link FP16_TOLERANCE}. */
  fp16?: boolean;
  /** Version string for the metadata; default `step<step>-<first 12 hex of the source hash>`. */
  version?: string;
  /** Default true. When false the metadata says `verify_max_abs_diff: not-verified`. */
  verify?: boolean;
  /**
   * Side of the square verification batch. Full models run only at img_size. Light models default to
   * min(img_size, {@link LIGHT_VERIFY_SIZE}): their graph is size-independent and a 256² check takes
   * ~18–20 s instead of ~2–3 s (ngf 64, 2-core machine); at 256² it measures ~6e-5, mostly onnxruntime's
   * own float32 ReduceMean over 4.2 M elements (docs/onnx-export.md). Any multiple of 4 may be asked for.
   */
  verifySize?: number;
  /** Override the verification reference (default: the tfjs generator of src/training/networks). */
  reference?: (state: StateDict, cfg: GeneratorGraphConfig) => Promise<GeneratorReference>;
  /** Override the tolerance (default {@link FP32_TOLERANCE} or {@link FP16_TOLERANCE}). */
  tolerance?: number;
  /** Told when each phase starts (the CLI's progress bar). */
  onPhase?: (phase: ExportPhase) => void;
  /**
   * Write a static int8 (QDQ) model instead: calibrated on real crops, measured against the verified fp32
   * graph on held-out crops, refused (QUALITY_TOO_LOW, nothing written) below the PSNR floor.
   */
  int8?: Int8Options;
};

/** The phases of an export, in order ('verify' is skipped with verify: false). */
export const EXPORT_PHASES = ['load', 'graph', 'verify', 'write'] as const;
export type ExportPhase = (typeof EXPORT_PHASES)[number];

/** What {@link exportGenerator} wrote. */
export interface ExportGeneratorResult {
  path: string;
  bytes: number;
  metadata: Record<string, string>;
  /** The measured max abs difference, or null when verification was skipped. */
  maxAbsDiff: number | null;
  verification: VerifyResult | null;
}

/**
 * Export one generator to ONNX. Checks every argument first, verifies the model in memory, then writes
 * the file atomically (temporary file + rename); on any error nothing is left at `outPath`.
 * @throws ExportError BAD_DIRECTION, BAD_OPTION, CHECKPOINT_NOT_FOUND, BAD_CHECKPOINT, MISSING_NETWORK, MISSING_WEIGHT,
 *   SHAPE_MISMATCH, UNSUPPORTED_VARIANT, TOO_LARGE, VERIFY_FAILED.
 */
export async function exportGenerator(opts: ExportGeneratorOptions): Promise<ExportGeneratorResult> {
  const direction = checkDirection(opts.direction);
  if (typeof opts.outPath !== 'string' || opts.outPath.length === 0) {
    throw new ExportError('BAD_OPTION', 'outPath must be a non-empty file path', { outPath: opts.outPath });
  }
  if (opts.version !== undefined && (typeof opts.version !== 'string' || opts.version.trim() === '')) {
    throw new ExportError('BAD_OPTION', 'version must be a non-empty string', { version: opts.version });
  }
  const outPath = path.resolve(opts.outPath);
  if (existsSync(outPath) && statSync(outPath).isDirectory()) {
    throw new ExportError('BAD_OPTION', `output path ${outPath} is a directory; give a file name such as model.onnx`, { outPath });
  }
  if (opts.verifySize !== undefined && (!Number.isInteger(opts.verifySize) || opts.verifySize < 4 || opts.verifySize % 4 !== 0)) {
    throw new ExportError('BAD_OPTION', `verifySize must be a positive multiple of 4, got ${opts.verifySize}`, { verifySize: opts.verifySize });
  }
  const netName = DIRECTIONS[direction];
  opts.onPhase?.('load');
  const source = await loadSource(opts, netName);
  if (opts.verifySize !== undefined && !source.config.light && opts.verifySize !== source.config.img_size) {
    throw new ExportError('BAD_OPTION', `a full model runs only at its img_size ${source.config.img_size}; verifySize ${opts.verifySize} is impossible`, {
      verifySize: opts.verifySize,
    });
  }
  const fp16 = !!opts.fp16;
  const cfg = source.config;
  if (opts.int8) {
    if (fp16) throw new ExportError('BAD_OPTION', 'choose one of fp16 and int8, not both', {});
    const { checkInt8Options } = await import('./quantize-generator.ts');
    checkInt8Options(opts.int8);
  }

  const started = Date.now();
  opts.onPhase?.('graph');
  const { builder, weightBytes } = buildGeneratorGraph(source.generator, cfg, { fp16 });
  const version = opts.version ?? `step${cfg.step ?? 0}-${source.hash.replace(/^sha256:/, '').slice(0, 12)}`;
  const metadata = encodeGeneratorMetadata(
    { direction, imgSize: cfg.img_size, version, variant: cfg.variant, light: cfg.light, ngf: cfg.ngf, nBlocks: cfg.n_blocks, precision: fp16 ? 'fp16' : 'fp32' },
    {
      source_checkpoint_hash: source.hash,
      source_network: netName,
      source_step: String(cfg.step ?? 0),
      created: new Date().toISOString(),
      exporter: `${EXPORTER_NAME}/${EXPORTER_VERSION}`,
    },
  );
  const modelOptions: ModelOptions = {
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: EXPORTER_NAME,
    producerVersion: EXPORTER_VERSION,
    docString: `U-GAT-IT ResnetGenerator (${cfg.variant}, ${cfg.light ? 'light' : 'full'}) ${direction}`,
    metadata,
  };
  let modelBytes = builder.toModelBytes(modelOptions);
  log.debug({ bytes: modelBytes.byteLength, weightBytes, ms: Date.now() - started }, 'graph encoded');

  let verification: VerifyResult | null = null;
  const tolerance = opts.tolerance ?? (fp16 ? FP16_TOLERANCE : FP32_TOLERANCE);
  const stamp: Record<string, string> = {};
  if (opts.verify === false) {
    stamp.verify_max_abs_diff = 'not-verified';
  } else {
    opts.onPhase?.('verify');
    const makeRef = opts.reference ?? (await import('./tfjs-reference.ts')).createTfjsReference;
    const reference = await makeRef(source.generator, cfg);
    try {
      const size = opts.verifySize ?? (cfg.light ? Math.min(cfg.img_size, LIGHT_VERIFY_SIZE) : cfg.img_size);
      verification = await verifyGenerator(modelBytes, reference, { size, batch: 2 });
    } finally {
      reference.dispose?.();
    }
    log.info({ ...verification.perOutput, reference: verification.reference }, 'verification measured');
    if (!(verification.maxAbsDiff <= tolerance)) {
      throw new ExportError(
        'VERIFY_FAILED',
        `ONNX and ${verification.reference} differ by ${verification.maxAbsDiff} (max abs), more than the tolerance ${tolerance}; nothing was written`,
        { ...verification.perOutput, tolerance },
      );
    }
    stamp.verify_max_abs_diff = String(verification.maxAbsDiff);
    stamp.verify_tolerance = String(tolerance);
    stamp.verify_reference = verification.reference;
    stamp.verify_batch = `${verification.batch}x3x${verification.size}x${verification.size} seed ${verification.seed}`;
  }
  if (opts.int8) {
    // the verified fp32 graph is the reference the int8 model is measured against
    const { quantizeGenerator } = await import('./quantize-generator.ts');
    const q = await quantizeGenerator({ generator: source.generator, cfg, direction, fp32Model: modelBytes, modelOptions, options: opts.int8 });
    modelBytes = q.modelBytes;
    metadata.precision = 'int8';
    Object.assign(stamp, q.stamp);
  }
  const appendix = metadataAppendix(stamp);
  Object.assign(metadata, stamp);

  opts.onPhase?.('write');
  assertGeneratorContract(path.basename(outPath), [modelBytes, appendix]);
  mkdirSync(path.dirname(outPath), { recursive: true });
  await writeFileAtomic(outPath, [modelBytes, appendix]);
  const bytes = modelBytes.byteLength + appendix.byteLength;
  log.info({ path: outPath, bytes, direction, precision: metadata.precision }, 'generator exported');
  return { path: outPath, bytes, metadata, maxAbsDiff: verification?.maxAbsDiff ?? null, verification };
}

/**
 * The check the exporter runs on the exact bytes it is about to write: the shared generator contract,
 * with nothing filled from outside (the registry runs the same validator when it loads the file).
 * @throws ExportError CONTRACT_VIOLATION with the same sentence the registry would refuse the file with.
 */
export function assertGeneratorContract(fileName: string, parts: readonly Uint8Array[]): void {
  const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  const checked = checkGeneratorContract(readOnnxHeader(bytes));
  if (!checked.ok) {
    throw new ExportError('CONTRACT_VIOLATION', contractMessage(fileName, checked.problems), { problems: checked.problems });
  }
}

function checkDirection(direction: unknown): Direction {
  if (isDirection(direction)) return direction;
  throw new ExportError('BAD_DIRECTION', `direction must be "a2b" or "b2a", got ${JSON.stringify(direction)}`, { direction });
}

interface LoadedSource {
  generator: StateDict;
  config: ExportSourceConfig;
  hash: string;
}

async function loadSource(opts: ExportSource, netName: NetworkName): Promise<LoadedSource> {
  if (opts.checkpointDir !== undefined) return loadFromCheckpoint(opts.checkpointDir, netName);
  if (!opts.state || !opts.config) {
    throw new ExportError('BAD_OPTION', 'give either checkpointDir, or state and config', {});
  }
  const generator = opts.state[netName];
  if (!generator) {
    throw new ExportError('MISSING_NETWORK', `the state has no ${netName} network to export`, { network: netName });
  }
  return { generator, config: opts.config, hash: opts.sourceHash ?? stateHash(generator) };
}

async function loadFromCheckpoint(dir: string, netName: NetworkName): Promise<LoadedSource> {
  const abs = path.resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) {
    throw new ExportError('CHECKPOINT_NOT_FOUND', `checkpoint directory ${abs} does not exist`, { dir: abs });
  }
  const { loadCheckpoint, checkpointHash } = await import('../checkpoint.ts');
  let loaded: Awaited<ReturnType<typeof loadCheckpoint>>;
  try {
    loaded = await loadCheckpoint(abs);
  } catch (err) {
    if (err instanceof CheckpointError) {
      const code = err.code === 'NOT_A_CHECKPOINT' ? 'CHECKPOINT_NOT_FOUND' : 'BAD_CHECKPOINT';
      throw new ExportError(code, `cannot read checkpoint ${abs}: ${err.message}`, { dir: abs, checkpointError: err.code }, { cause: err });
    }
    throw err;
  }
  const generator = loaded.state[netName];
  if (!generator) {
    throw new ExportError('MISSING_NETWORK', `checkpoint ${abs} has no ${netName} network to export`, { dir: abs, network: netName });
  }
  const c = loaded.config;
  return {
    generator,
    config: { variant: c.variant, light: c.light, ngf: c.ngf, n_blocks: c.n_blocks, img_size: c.img_size, step: c.step },
    hash: `sha256:${await checkpointHash(abs)}`,
  };
}

/** sha256 over a state dict's names, shapes and bytes (sorted by name), for states that have no checkpoint file. */
export function stateHash(state: StateDict): string {
  const h = createHash('sha256');
  for (const name of [...state.keys()].sort()) {
    const t = state.get(name)!;
    h.update(`${name}:${t.shape.join(',')};`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return `sha256:${h.digest('hex')}`;
}
