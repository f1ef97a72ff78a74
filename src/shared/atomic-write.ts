/**
 * Write-to-a-temporary-name-then-rename, written once. A reader of `target` sees the old content or
 * the new one, never half a file, and a failed write leaves no temporary file behind. Used for
 * checkpoints, safetensors, ONNX exports, sampling-weight files, translated PNGs and imported
 * checkpoint directories.
 *
 * Our own rather than `write-file-atomic`: that package takes a finished buffer, while safetensors and
 * checkpoint imports stream into the temporary path (a file handle, or a whole directory), so the
 * helper takes a callback that writes the temporary path. This is the one module under src/shared that
 * touches the file system; it imports only node:fs.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';

/** Bytes or text to write; an array is written in order (e.g. an encoded model and its metadata appendix). */
export type AtomicData = string | Uint8Array | readonly (string | Uint8Array)[];

/** A temporary name beside `target` (same folder, so the rename stays on one file system). */
export function temporaryPath(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Let `write` fill a temporary path beside `target`, then rename it onto `target`.
 * With `directory: true` the temporary path is a folder and an existing `target` folder is replaced.
 * @throws whatever `write` or the rename throws; the temporary path is removed first.
 */
export async function atomicWrite(target: string, write: (tmp: string) => Promise<void>, opts: { directory?: boolean } = {}): Promise<void> {
  const tmp = temporaryPath(target);
  try {
    await write(tmp);
    if (opts.directory) await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Write `data` to `target` atomically (see {@link atomicWrite}). */
export function writeFileAtomic(target: string, data: AtomicData): Promise<void> {
  return atomicWrite(target, async (tmp) => {
    const parts = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
    await writeFile(tmp, '');
    for (const part of parts) await writeFile(tmp, part, { flag: 'a' });
  });
}

/** Synchronous {@link writeFileAtomic}, for callers that already run synchronously. */
export function writeFileAtomicSync(target: string, data: AtomicData): void {
  const tmp = temporaryPath(target);
  try {
    const parts = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
    writeFileSync(tmp, '');
    for (const part of parts) writeFileSync(tmp, part, { flag: 'a' });
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
