/** selectBackend: the fallback chain tfjs-node-gpu → tfjs-node → wasm → cpu and its errors. */
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../../src/training/training.errors.ts';
import { describe, expect, it } from 'vitest';
import { selectBackend, wasmBinaryDir } from '../../src/training/backend.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';

async function installed(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
}

describe('selectBackend', () => {
  it('auto picks the first backend that loads and says why it skipped the others', async () => {
    const nodeGpu = await installed('@tensorflow/tfjs-node-gpu');
    const node = await installed('@tensorflow/tfjs-node');
    const sut = await selectBackend('auto');
    if (nodeGpu || node) {
      expect(sut.name).toBe('tensorflow');
    } else {
      expect(sut.name).toBe('wasm');
      expect(sut.reason).toContain('tfjs-node-gpu');
      expect(sut.reason).toContain('tfjs-node:');
    }
    expect(tf.getBackend()).toBe(sut.name);
  });

  it('activates an explicitly requested backend', async () => {
    expect(await selectBackend('cpu')).toEqual({ name: 'cpu', reason: 'requested cpu' });
    expect(tf.getBackend()).toBe('cpu');
    expect((await selectBackend('wasm')).name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('fails with BACKEND_UNAVAILABLE when an explicitly requested backend is not installed', async () => {
    if (await installed('@tensorflow/tfjs-node')) return; // nothing to refuse on a host that has it
    await expect(selectBackend('tfjs-node')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    await expect(selectBackend('tfjs-node')).rejects.toBeInstanceOf(BackendError);
  });

  it('refuses an unknown backend name, listing the valid ones', async () => {
    await expect(selectBackend('webgpu' as never)).rejects.toThrow(/auto, tfjs-node-gpu, tfjs-node, wasm, cpu/);
  });

  it('points wasm at the package’s own binaries', () => {
    expect(existsSync(path.join(wasmBinaryDir(), 'tfjs-backend-wasm-simd.wasm'))).toBe(true);
  });
});
