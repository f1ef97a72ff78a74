/**
 * The webgpu training backend (src/training/webgpu.ts) on whatever adapter this machine has: a hardware
 * one, else Mesa's software OpenGL ES (llvmpipe). `auto` never trains on a software adapter; AddN of
 * many inputs is right (tfjs' own request of 8 storage buffers made it silent zeros); a tensor over the
 * adapter's binding limit is refused before a run writes anything. Skipped with the reason where webgpu
 * cannot start, except under CI=true, where that is a failure.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gpuDeviceNodes, selectBackend } from '../../src/training/backend.ts';
import { runTraining } from '../../src/training/trainer/trainer.ts';
import { resolveTrainOptions } from '../../src/training/trainer/options.ts';
import { modelShapes } from '../../src/training/trainer/resume.ts';
import { TrainingError } from '../../src/training/training.errors.ts';
import { checkWebgpuTensorSizes, isSoftwareAdapter, startWebgpu, webgpuAdapter, WebgpuError } from '../../src/training/webgpu.ts';
import { makeShapesDataset, TINY } from './trainer-helpers.ts';

const probe = await selectBackend('webgpu').then(
  (c) => ({ ok: true as const, adapter: c.adapter ?? '' }),
  (err: unknown) => ({ ok: false as const, reason: (err as Error).message }),
);
if (!probe.ok) {
  if (process.env.CI === 'true') throw new Error(`CI: the webgpu backend must start: ${probe.reason}`);
  console.warn(`webgpu backend tests skipped: ${probe.reason}`);
}

describe('isSoftwareAdapter', () => {
  it('names CPU implementations as software and real GPUs not', () => {
    expect(isSoftwareAdapter({ device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL ES 3.2 Mesa 22.3.6' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', device: 'SwiftShader Device (Subzero)' })).toBe(true);
    expect(isSoftwareAdapter({ device: 'lavapipe' })).toBe(true);
    expect(isSoftwareAdapter({ device: 'anything', isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', device: 'NVIDIA H200', description: 'NVIDIA: 570.86' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'amd', device: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' })).toBe(false);
  });
});

describe('checkWebgpuTensorSizes with given limits (no GPU needed)', () => {
  // the software-GL adapter's limits (docs/training.md); the shapes come from the shape table, so nothing is allocated
  const softwareGl = { name: 'llvmpipe (fake limits)', maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 2 * 2 ** 30 };
  const fullSize = modelShapes(resolveTrainOptions({ dataDir: '-', outDir: '-', light: false, imgSize: 256, ngf: 64 }));

  it('refuses the full-size 256², ngf 64 generator: its 1 GiB MLP weight is over maxStorageBufferBindingSize', () => {
    expect(fullSize.find(([k]) => k === 'genA2B.FC.0.weight')?.[1]).toEqual([256, 1048576]);
    const err = (() => {
      try {
        checkWebgpuTensorSizes(fullSize, softwareGl);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(WebgpuError);
    expect((err as WebgpuError).code).toBe('TENSOR_TOO_LARGE');
    expect((err as Error).message).toBe(
      'genA2B.FC.0.weight [256, 1048576] is 1024 MiB, more than this GPU binds in one shader (maxStorageBufferBindingSize 128 MiB on llvmpipe (fake limits)); train with --light (its MLP is global-pooled), a smaller --img-size or --ngf, or on wasm',
    );
  });

  it('names maxBufferSize when that is the smaller limit', () => {
    expect(() => checkWebgpuTensorSizes(fullSize, { ...softwareGl, maxStorageBufferBindingSize: 4 * 2 ** 30, maxBufferSize: 256 * 2 ** 20 })).toThrow(
      /is 1024 MiB, more than this GPU holds in one buffer \(maxBufferSize 256 MiB on llvmpipe \(fake limits\)\)/,
    );
  });

  it('accepts the light model, whose largest tensor is small', () => {
    const light = modelShapes(resolveTrainOptions({ dataDir: '-', outDir: '-', light: true, imgSize: 256, ngf: 64 }));
    expect(() => checkWebgpuTensorSizes(light, softwareGl)).not.toThrow();
  });
});

describe.skipIf(!probe.ok)('webgpu backend', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'webtoon-webgpu-'));
    await selectBackend('webgpu');
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it('logs the adapter; auto skips it when it is a software one', async () => {
    const info = webgpuAdapter()!;
    expect(info.name.length).toBeGreaterThan(0);
    const auto = await selectBackend('auto');
    if (info.software) {
      expect(auto.name).not.toBe('webgpu');
      // where the machine has no GPU device node (these CPU machines) auto does not even start Dawn;
      // elsewhere it starts it and refuses the software adapter
      const noDevice = process.platform === 'linux' && gpuDeviceNodes().length === 0;
      expect(auto.reason).toMatch(noDevice ? /webgpu: no GPU device \(\/dev\/dri\/renderD\*, \/dev\/nvidia\*\), not probed/ : /webgpu: only a software WebGPU adapter/);
      // and whatever auto skipped, the webgpu backend itself never hands `auto` a software adapter
      await expect(startWebgpu({ allowSoftware: false })).rejects.toThrow(/only a software WebGPU adapter/);
    } else {
      expect(auto.name === 'webgpu' || auto.name === 'tensorflow').toBe(true);
    }
    await selectBackend('webgpu');
  });

  it('adds 12 tensors in one AddN correctly (8+ inputs used to come back as zeros)', async () => {
    const xs = Array.from({ length: 12 }, (_, i) => tf.fill([3], i + 1));
    const sum = tf.addN(xs);
    expect(Array.from((await sum.data()) as Float32Array)).toEqual([78, 78, 78]);
    tf.dispose([...xs, sum]);
  });

  it('refuses a tensor larger than the adapter binds, naming the limit', () => {
    const limit = webgpuAdapter()!.maxStorageBufferBindingSize;
    const rows = Math.ceil(limit / 4 / 256) + 1;
    expect(() => checkWebgpuTensorSizes([['genA2B.FC.0.weight', [256, rows]]])).toThrow(WebgpuError);
    expect(() => checkWebgpuTensorSizes([['genA2B.FC.0.weight', [256, rows]]])).toThrow(/maxStorageBufferBindingSize \d+ MiB/);
    expect(() => checkWebgpuTensorSizes([['small', [256, 256]]])).not.toThrow();
  });

  it('refuses a full-size generator whose MLP weight is over the limit before writing the run dir', async () => {
    const limitMiB = webgpuAdapter()!.maxStorageBufferBindingSize / 2 ** 20;
    // full (non-light) MLP weight: [ngf·4, (img/4)²·ngf·4] floats; pick ngf so that it exceeds the limit
    const imgSize = 96;
    let ngf = 8;
    while (((imgSize / 4) ** 2 * ngf * 4 * ngf * 4 * 4) / 2 ** 20 <= limitMiB) ngf *= 2;
    if (ngf > 256) return; // an adapter that binds more than such a model needs: nothing to refuse
    const data = await makeShapesDataset({ n: 2, nTest: 0, size: 40, root: path.join(work, 'data') });
    const out = path.join(work, 'run');
    const err = await runTraining({ ...TINY, light: false, imgSize, ngf, ndf: 4, disLayersGlobal: 4, dataDir: data, outDir: out, backend: 'webgpu' }, { progress: 'none' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TrainingError);
    expect((err as TrainingError).code).toBe('OPTION_INVALID');
    expect((err as Error).message).toMatch(/FC\.0\.weight.*maxStorageBufferBindingSize.*--light/);
    expect(existsSync(out)).toBe(false);
  }, 600_000);
});
