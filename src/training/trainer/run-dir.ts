/**
 * The run directory of `webtoon train` and what lives in it:
 * run.json, losses.jsonl, loss-curve.png, samples/step_XXXXXXX.png,
 * checkpoints/step_XXXXXXX/{config.json, weights.safetensors, optimizer.safetensors}.
 * Reading and writing those files is here; the loop (trainer.ts) only calls these functions.
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CheckpointConfig } from '../checkpoint.ts';
import { TrainingError } from '../training.errors.ts';
import type { LossRecord } from './loss-curve.ts';
import type { TrainOptions } from './options.ts';

export const RUN_FILE = 'run.json';
export const LOSSES_FILE = 'losses.jsonl';
export const LOSS_CURVE_FILE = 'loss-curve.png';
export const CHECKPOINTS_DIR = 'checkpoints';
export const SAMPLES_DIR = 'samples';

/** Contents of run.json. */
export interface RunFile {
  format: 'webtoonfaces-train-run';
  version: 1;
  options: TrainOptions;
  dataManifestHash: string;
  createdAt: string;
}

/** The options a resumed run may change (the rest define the model and the data stream). */
export const RESUMABLE_KEYS = ['iterations', 'saveEvery', 'sampleEvery', 'backend', 'prefetch', 'keepCheckpoints', 'lowMemory'] as const satisfies readonly (keyof TrainOptions)[];

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Name of the checkpoint dir of `step` (zero-padded so names sort by step). */
export function checkpointDirName(step: number): string {
  return `step_${String(step).padStart(7, '0')}`;
}

/** Completed checkpoints of a run dir (those with a config.json), oldest first. */
export async function listCheckpoints(outDir: string): Promise<{ step: number; dir: string }[]> {
  const root = path.join(outDir, CHECKPOINTS_DIR);
  if (!(await exists(root))) return [];
  const out: { step: number; dir: string }[] = [];
  for (const name of await readdir(root)) {
    const m = /^step_(\d+)$/.exec(name);
    if (m && (await exists(path.join(root, name, 'config.json')))) out.push({ step: Number(m[1]), dir: path.join(root, name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** Remove all but the newest `keep` checkpoints (keep ≤ 0: keep all). */
export async function pruneCheckpoints(outDir: string, keep: number): Promise<void> {
  if (keep <= 0) return;
  const all = await listCheckpoints(outDir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(old.dir, { recursive: true, force: true });
}

/**
 * Read run.json of a run dir.
 * @throws {TrainingError} RESUME_FAILED when it is missing, not JSON, or not a run file of this trainer.
 */
export async function readRunFile(outDir: string): Promise<RunFile> {
  const file = path.join(outDir, RUN_FILE);
  let json: RunFile;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as RunFile;
  } catch (err) {
    throw new TrainingError('RESUME_FAILED', `cannot resume: ${file} is missing or not JSON (${(err as Error).message})`, { outDir });
  }
  if (json.format !== 'webtoonfaces-train-run' || json.version !== 1) {
    throw new TrainingError('RESUME_FAILED', `cannot resume: ${file} is not a run file of this trainer`, { outDir });
  }
  return json;
}

/** A new run.json for options `o` (outDir absolute). */
export function newRunFile(o: TrainOptions, dataManifestHash: string): RunFile {
  return { format: 'webtoonfaces-train-run', version: 1, options: o, dataManifestHash, createdAt: new Date().toISOString() };
}

/** Create the run dir's folders and write run.json. */
export async function prepareRunDir(outDir: string, run: RunFile): Promise<void> {
  await mkdir(path.join(outDir, CHECKPOINTS_DIR), { recursive: true });
  await mkdir(path.join(outDir, SAMPLES_DIR), { recursive: true });
  await writeFile(path.join(outDir, RUN_FILE), `${JSON.stringify(run, null, 2)}\n`);
}

/**
 * @throws {TrainingError} RUN_DIR_IN_USE when `outDir` already holds a run (a fresh run never overwrites one).
 */
export async function assertRunDirFree(outDir: string): Promise<void> {
  if ((await exists(path.join(outDir, RUN_FILE))) || (await exists(path.join(outDir, CHECKPOINTS_DIR)))) {
    throw new TrainingError('RUN_DIR_IN_USE', `${outDir} already holds a training run; pass --resume to continue it or choose another --out`, { outDir });
  }
}

/** Keep losses.jsonl consistent with a resumed step: drop lines of steps after it; return kept records. */
export async function truncateLosses(file: string, upTo: number): Promise<LossRecord[]> {
  if (!(await exists(file))) return [];
  const kept: string[] = [];
  const records: LossRecord[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as { step: number; lr: number } & Record<string, number>;
      if (r.step > upTo) continue;
      kept.push(line);
      const { step, lr, ...losses } = r;
      delete (losses as Record<string, unknown>).time;
      records.push({ step, lr, losses });
    } catch {
      // a torn last line from a crash: drop it
    }
  }
  await writeFile(file, kept.length ? `${kept.join('\n')}\n` : '');
  return records;
}

/** The config.json of a checkpoint written by this trainer at `step`. */
export function checkpointConfig(o: TrainOptions, step: number, dataHash: string | null, extra: Record<string, unknown>): CheckpointConfig {
  return {
    format: 'webtoonfaces-ugatit',
    formatVersion: 1,
    variant: 'pytorch',
    light: o.light,
    ngf: o.ngf,
    ndf: o.ndf,
    n_blocks: o.nRes,
    img_size: o.imgSize,
    dis_layers_global: o.disLayersGlobal,
    dis_layers_local: o.disLayersLocal,
    step,
    data_manifest_hash: dataHash,
    source: { kind: 'webtoon-train', seed: o.seed, iterations: o.iterations, lr: o.lr, batch: o.batch, ...extra },
  };
}
