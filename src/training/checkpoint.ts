/**
 * Our checkpoint format: a directory with `config.json` (hyperparameters, step, provenance),
 * `weights.safetensors` (tensors named `<network>.<official name>`, PyTorch layout, float32) and, while
 * training, `optimizer.safetensors` (the trainer's Adam moments). Saving then loading is bit-exact.
 * Every file is written to a temporary name and renamed into place, config.json last, so a directory
 * with a config.json is complete.
 */
import { createHash } from 'node:crypto';
import { CheckpointError } from './training.errors.ts';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../shared/atomic-write.ts';
import path from 'node:path';
import { z } from 'zod';
import { readSafetensors, writeSafetensors } from './safetensors.ts';
import { NETWORK_NAMES, type NamedTensor, type NetworkName, type StateDict, type UgatitState } from './tensors.ts';
import { validateState } from './networks/shapes.ts';

export const CHECKPOINT_FORMAT = 'webtoonfaces-ugatit';
export const CHECKPOINT_FORMAT_VERSION = 1;
export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'weights.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';

const configSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  formatVersion: z.literal(CHECKPOINT_FORMAT_VERSION),
  variant: z.literal('pytorch'),
  light: z.boolean(),
  ngf: z.number().int().positive(),
  ndf: z.number().int().positive(),
  n_blocks: z.number().int().nonnegative(),
  img_size: z.number().int().positive().multipleOf(4),
  dis_layers_global: z.number().int().min(3),
  dis_layers_local: z.number().int().min(3),
  step: z.number().int().nonnegative(),
  data_manifest_hash: z.string().nullable(),
  source: z.record(z.string(), z.unknown()),
});

/** The content of `config.json`. */
export type CheckpointConfig = z.infer<typeof configSchema>;

/** What a checkpoint holds. */
export interface Checkpoint {
  config: CheckpointConfig;
  state: UgatitState;
  /** Adam moments etc., names `<G|D>.<m|v>.<network>.<param>` (free-form for this module). */
  optimizer?: Map<string, NamedTensor>;
}

/** Check a parsed config.json (or one about to be written). */
export function parseCheckpointConfig(value: unknown, source = 'config'): CheckpointConfig {
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (v.format !== CHECKPOINT_FORMAT || v.formatVersion !== CHECKPOINT_FORMAT_VERSION) {
      throw new CheckpointError(
        'UNSUPPORTED_FORMAT',
        `${source} is format ${String(v.format)} v${String(v.formatVersion)}; this build reads ${CHECKPOINT_FORMAT} v${CHECKPOINT_FORMAT_VERSION}`,
        { source, format: v.format, formatVersion: v.formatVersion },
      );
    }
    if (v.variant !== undefined && v.variant !== 'pytorch') {
      throw new CheckpointError('UNSUPPORTED_FORMAT', `${source} has variant ${String(v.variant)}; only "pytorch" is implemented`, { source, variant: v.variant });
    }
  }
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CheckpointError('CORRUPT', `${source} is invalid: ${issue.path.join('.') || '(root)'}: ${issue.message}`, { source, issues: parsed.error.issues });
  }
  return parsed.data;
}

/** Flatten the per-network state into `<network>.<official name>` tensors, in the official network order. */
export function flattenState(state: UgatitState): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const net of NETWORK_NAMES) {
    const sd = state[net];
    if (!sd) continue;
    for (const [name, t] of sd) out.set(`${net}.${name}`, t);
  }
  return out;
}

/** Split `<network>.<official name>` tensors back into per-network state dicts. */
export function unflattenState(tensors: Map<string, NamedTensor>, source = 'weights'): UgatitState {
  const state: UgatitState = {};
  for (const [full, t] of tensors) {
    const dot = full.indexOf('.');
    const net = full.slice(0, dot) as NetworkName;
    if (dot < 0 || !NETWORK_NAMES.includes(net)) {
      throw new CheckpointError('UNEXPECTED_TENSOR', `${source} has a tensor ${full} that belongs to no network (${NETWORK_NAMES.join(', ')})`, { source, tensor: full });
    }
    const sd: StateDict = state[net] ?? new Map();
    sd.set(full.slice(dot + 1), t);
    state[net] = sd;
  }
  return state;
}

/**
 * Write a checkpoint into `dir` (created if needed; files already there are replaced). The state is
 * checked against the config first (every tensor present with its official shape), so a checkpoint on
 * disk always loads. Without `optimizer`, a stale optimizer.safetensors in `dir` is removed.
 * @returns the directory and the sha256 of the weights file.
 * @throws CheckpointError CORRUPT (bad config), MISSING_TENSOR, UNEXPECTED_TENSOR, SHAPE_MISMATCH.
 */
export async function saveCheckpoint(dir: string, ckpt: Checkpoint): Promise<{ dir: string; hash: string }> {
  const config = parseCheckpointConfig(ckpt.config, 'checkpoint config');
  if (!NETWORK_NAMES.some((n) => ckpt.state[n])) {
    throw new CheckpointError('MISSING_NETWORK', 'refusing to save a checkpoint with no network', { dir });
  }
  validateState(ckpt.state, config);
  await mkdir(dir, { recursive: true });
  // No step or other config in the metadata: the weights file's hash identifies the weights alone.
  const metadata = { format: CHECKPOINT_FORMAT, formatVersion: String(CHECKPOINT_FORMAT_VERSION) };
  await rm(path.join(dir, CONFIG_FILE), { force: true }); // incomplete until config.json is back
  await writeSafetensors(path.join(dir, WEIGHTS_FILE), flattenState(ckpt.state), { metadata });
  if (ckpt.optimizer) await writeSafetensors(path.join(dir, OPTIMIZER_FILE), ckpt.optimizer, { metadata });
  else await rm(path.join(dir, OPTIMIZER_FILE), { force: true });
  await writeFileAtomic(path.join(dir, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  return { dir, hash: await checkpointHash(dir) };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** Read only `config.json` of a checkpoint directory. */
export async function loadCheckpointConfig(dir: string): Promise<CheckpointConfig> {
  const file = path.join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CheckpointError('NOT_A_CHECKPOINT', `${dir} is not a checkpoint directory (no readable ${CONFIG_FILE})`, { dir }, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError('CORRUPT', `${file} is not JSON`, { file }, { cause: err });
  }
  return parseCheckpointConfig(json, file);
}

/**
 * Load a checkpoint directory written by {@link saveCheckpoint}; tensors are checked against the config.
 * @throws CheckpointError NOT_A_CHECKPOINT, UNSUPPORTED_FORMAT, CORRUPT, MISSING_TENSOR, UNEXPECTED_TENSOR, SHAPE_MISMATCH.
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const config = await loadCheckpointConfig(dir);
  const weightsFile = path.join(dir, WEIGHTS_FILE);
  if (!(await exists(weightsFile))) throw new CheckpointError('CORRUPT', `${dir} has a ${CONFIG_FILE} but no ${WEIGHTS_FILE}`, { dir });
  const weights = await readSafetensors(weightsFile);
  const state = unflattenState(weights.tensors, weightsFile);
  validateState(state, config);
  const optimizerFile = path.join(dir, OPTIMIZER_FILE);
  const optimizer = (await exists(optimizerFile)) ? (await readSafetensors(optimizerFile)).tensors : undefined;
  return optimizer ? { config, state, optimizer } : { config, state };
}

/** sha256 (hex) of the checkpoint's weights file: the identity of its weights. */
export async function checkpointHash(dir: string): Promise<string> {
  const file = path.join(dir, WEIGHTS_FILE);
  const hash = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', (err) => reject(new CheckpointError('NOT_A_CHECKPOINT', `cannot read ${file}`, { dir }, { cause: err })))
      .on('end', () => resolve());
  });
  return hash.digest('hex');
}
