/** selectBackend: the fallback chain tfjs-node-gpu → tfjs-node → wasm → cpu and its errors. */
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../../src/training/training.errors.ts';
import { describe, expect, it } from 'vitest';
import { gpuDeviceNodes, selectBackend, wasmBinaryDir } from '../../src/training/backend.ts';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
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
      // an absent optional package reads "not installed", not the resolver's message with local paths
      // (webgpu, when its package loads, says why it was skipped too: no adapter, or only a software one)
      expect(sut.reason).toMatch(/^auto: wasm \(skipped tfjs-node-gpu: not installed; (webgpu: .+; )?tfjs-node: not installed\)$/);
      expect(sut.reason).not.toMatch(/node_modules/);
      // a machine without GPU device nodes (these CPU build machines): Dawn is not even started, so its
      // native driver warnings never reach the terminal
      if (process.platform === 'linux' && gpuDeviceNodes().length === 0) {
        expect(sut.reason).toContain('webgpu: no GPU device (/dev/dri/renderD*, /dev/nvidia*), not probed');
      }
    }
    expect(tf.getBackend()).toBe(sut.name);
  });

  it('finds the GPU device nodes an adapter needs: DRM render nodes and NVIDIA devices, nothing else', () => {
    const dev = mkdtempSync(path.join(os.tmpdir(), 'webtoon-dev-'));
    try {
      expect(gpuDeviceNodes(dev)).toEqual([]);
      mkdirSync(path.join(dev, 'dri'));
      for (const f of ['dri/card0', 'dri/renderD128', 'nvidiactl', 'nvidia-uvm', 'nvidia0', 'null']) writeFileSync(path.join(dev, f), '');
      expect(gpuDeviceNodes(dev)).toEqual([path.join(dev, 'dri/renderD128'), path.join(dev, 'nvidia0')]);
    } finally {
      rmSync(dev, { recursive: true, force: true });
    }
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
    await expect(selectBackend('metal' as never)).rejects.toThrow(/auto, webgpu, tfjs-node-gpu, tfjs-node, wasm, cpu|auto, tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu/);
  });

  it('points wasm at the package’s own binaries', () => {
    expect(existsSync(path.join(wasmBinaryDir(), 'tfjs-backend-wasm-simd.wasm'))).toBe(true);
  });
});
