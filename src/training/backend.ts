/**
 * Picks the fastest TensorFlow.js backend present. `webgpu` (Dawn's Node binding, see ./webgpu.ts) is
 * the GPU path on any vendor; `auto` takes it only on a hardware adapter. `tfjs-node-gpu` and
 * `tfjs-node` are optional dependencies for hosts that already have libtensorflow (their install-time
 * download has failed since August 2026), so they are loaded with a dynamic import inside try/catch;
 * wasm is always installed (one thread per instance in Node, SIMD; `--workers` runs several); cpu is the
 * pure-JS fallback. wasm lacks a Conv2DBackpropFilter kernel: the networks' convs go through
 * {@link conv2dHwio}, which supplies that gradient with `tf.customGrad`.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { moduleLogger } from '../logger.ts';
import { BackendError } from './training.errors.ts';
import { startWebgpu } from './webgpu.ts';

export { backendNeedsCustomConvGrad, conv2dHwio, conv2dTorch } from './layers/conv2d.ts';

import { BACKEND_PREFERENCES, type BackendPreference } from './backend-names.ts';

export { BACKEND_PREFERENCES, type BackendPreference };

/** The order `auto` tries (webgpu: hardware adapters only). */
export const AUTO_ORDER = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'] as const;

/** The backend that was activated and why. `name` is tfjs' backend name (`webgpu`, `tensorflow`, `wasm`, `cpu`). */
export interface BackendChoice {
  name: string;
  reason: string;
  /** The GPU adapter, for webgpu (e.g. `NVIDIA H200 via default`). */
  adapter?: string;
}

/** True when tensors of the active backend can be read synchronously (`dataSync`); webgpu cannot in Node. */
export function backendReadsSync(name = tf.getBackend()): boolean {
  return name !== 'webgpu';
}


const log = moduleLogger('training.backend');
let wasmPathsSet = false;

function message(err: unknown): string {
  // An optional package that is simply absent (the usual case for tfjs-node): say so, not the resolver's path-laden message.
  if ((err as NodeJS.ErrnoException)?.code === 'ERR_MODULE_NOT_FOUND' && /Cannot find package '@tensorflow\/tfjs-node(-gpu)?'/.test(String((err as Error).message))) return 'not installed';
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}

async function tryNode(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string> {
  // A variable specifier keeps TypeScript from demanding the (optional, usually absent) package.
  const specifier: string = pkg;
  await import(specifier);
  if (!(await tf.setBackend('tensorflow'))) throw new Error('the tensorflow backend failed to initialise');
  return 'tensorflow';
}

/** Directory of tfjs-backend-wasm's .wasm binaries, as a path with a trailing separator (what Node's loader reads). */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

async function tryWasm(): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet && tf.findBackend('wasm') === null) {
    wasm.setWasmPaths(wasmBinaryDir());
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  return 'wasm';
}

async function tryCpu(): Promise<string> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  return 'cpu';
}

let lastAdapter: string | undefined;

/**
 * The GPU device nodes a Linux process can reach: `/dev/dri/renderD*` (AMD, Intel, NVIDIA's DRM) and
 * `/dev/nvidia<N>` (the NVIDIA driver; what the NVIDIA container toolkit mounts). A GPU adapter needs one,
 * so where there are none `auto` does not start Dawn at all — starting it there only finds the software
 * adapter and makes the native library print driver warnings (no Vulkan loader, reduced limits) on a
 * CPU-only machine.
 */
export function gpuDeviceNodes(devDir = '/dev'): string[] {
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  const render = list(path.join(devDir, 'dri')).filter((n) => n.startsWith('renderD')).map((n) => path.join(devDir, 'dri', n));
  const nvidia = list(devDir).filter((n) => /^nvidia\d+$/.test(n)).map((n) => path.join(devDir, n));
  return [...render, ...nvidia];
}

async function tryWebgpu(allowSoftware: boolean): Promise<string> {
  if (!allowSoftware && process.platform === 'linux' && gpuDeviceNodes().length === 0) {
    throw new Error('no GPU device (/dev/dri/renderD*, /dev/nvidia*), not probed');
  }
  const info = await startWebgpu({ allowSoftware });
  lastAdapter = info.software ? `${info.name} — software, for tests only: slow` : info.name;
  return 'webgpu';
}

const attempts: Record<Exclude<BackendPreference, 'auto'>, (auto: boolean) => Promise<string>> = {
  webgpu: (auto) => tryWebgpu(!auto),
  'tfjs-node-gpu': () => tryNode('@tensorflow/tfjs-node-gpu'),
  'tfjs-node': () => tryNode('@tensorflow/tfjs-node'),
  wasm: tryWasm,
  cpu: tryCpu,
};

function withAdapter(c: BackendChoice): BackendChoice {
  return c.name === 'webgpu' && lastAdapter ? { ...c, reason: `${c.reason}; adapter ${lastAdapter}`, adapter: lastAdapter } : c;
}

/**
 * Activate a TensorFlow.js backend.
 * - an explicit preference must work, else {@link BackendError} BACKEND_UNAVAILABLE;
 * - `auto` tries {@link AUTO_ORDER} (webgpu only on a hardware adapter) and says why it skipped each;
 * - explicit `webgpu` takes a hardware adapter, else a software one (Mesa llvmpipe: tests).
 * @throws {BackendError} UNKNOWN_BACKEND for a name outside {@link BACKEND_PREFERENCES}
 */
export async function selectBackend(pref: BackendPreference = 'auto'): Promise<BackendChoice> {
  if (!BACKEND_PREFERENCES.includes(pref)) {
    throw new BackendError('UNKNOWN_BACKEND', `backend must be one of ${BACKEND_PREFERENCES.join(', ')}; received "${String(pref)}"`, { pref });
  }
  if (pref !== 'auto') {
    try {
      lastAdapter = undefined;
      const name = await attempts[pref](false);
      await tf.ready();
      return withAdapter({ name, reason: `requested ${pref}` });
    } catch (err) {
      throw new BackendError('BACKEND_UNAVAILABLE', `backend ${pref} is unavailable: ${message(err)}`, { pref }, { cause: err });
    }
  }
  const skipped: string[] = [];
  for (const candidate of AUTO_ORDER) {
    try {
      lastAdapter = undefined;
      const name = await attempts[candidate](true);
      await tf.ready();
      const reason = skipped.length ? `auto: ${candidate} (skipped ${skipped.join('; ')})` : `auto: ${candidate} is the first available`;
      const choice = withAdapter({ name, reason });
      log.info({ backend: name, reason, adapter: choice.adapter }, 'tfjs backend selected');
      return choice;
    } catch (err) {
      skipped.push(`${candidate}: ${message(err)}`);
    }
  }
  throw new BackendError('BACKEND_UNAVAILABLE', `no tfjs backend could be activated (${skipped.join('; ')})`, { skipped });
}
