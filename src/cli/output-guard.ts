/**
 * The CLI never deletes or overwrites what it did not create unless told: an existing output file is
 * refused without `--force`, and even with `--force` a folder is replaced only when it is one of the
 * CLI's own outputs (a checkpoint folder holding nothing but checkpoint files) and is not the current
 * folder, one of its parents, or the home folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { CHECKPOINT_FORMAT, CONFIG_FILE, OPTIMIZER_FILE, WEIGHTS_FILE } from '../training/checkpoint.ts';

/**
 * Refuse to write `file` over an existing file unless `force`; a folder in the way is always refused.
 * @throws {UsageError}
 */
export function refuseOverwrite(file: string, force: boolean, flag = '--force'): void {
  const p = path.resolve(file);
  if (!existsSync(p)) return;
  if (statSync(p).isDirectory()) throw new UsageError(`${p} is a folder; give a file name for the output`, { out: p });
  if (!force) throw new UsageError(`${p} already exists; pass ${flag} to overwrite it`, { out: p });
}

/** Files a checkpoint folder written by this project may hold. */
const CHECKPOINT_FILES = new Set([CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE]);

/** True when `dir` is a checkpoint folder this project wrote: its config names our format and nothing else is inside. */
export function isOwnCheckpointDir(dir: string): boolean {
  try {
    const entries = readdirSync(dir);
    if (!entries.includes(CONFIG_FILE) || entries.some((e) => !CHECKPOINT_FILES.has(e))) return false;
    const config = JSON.parse(readFileSync(path.join(dir, CONFIG_FILE), 'utf8')) as { format?: unknown };
    return config.format === CHECKPOINT_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Whether `--force` may replace the non-empty folder `dir`; the reason when not.
 */
export function whyNotReplaceable(dir: string): string | null {
  const p = path.resolve(dir);
  const cwd = process.cwd();
  if (p === cwd || cwd.startsWith(p + path.sep) || p === path.parse(p).root) return 'it is the current folder or one of its parents';
  if (p === os.homedir()) return 'it is the home folder';
  if (!isOwnCheckpointDir(p)) return 'it is not a checkpoint folder written by webtoon (only config.json, weights.safetensors, optimizer.safetensors)';
  return null;
}
