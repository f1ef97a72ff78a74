/**
 * Picks the fastest TensorFlow.js backend present. `tfjs-node-gpu` and `tfjs-node` are optional
 * dependencies (they download libtensorflow at install and are often absent), so they are loaded with a
 * dynamic import inside try/catch; wasm is always installed (one thread in Node, SIMD); cpu is the
 * pure-JS fallback. wasm lacks a Conv2DBackpropFilter kernel: the networks' convs go through
 * {@link conv2dHwio}, which supplies that gradient with `tf.customGrad`.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { moduleLogger } from '../logger.ts';
import { BackendError } from './training.errors.ts';

export { backendNeedsCustomConvGrad, conv2dHwio, conv2dTorch } from './layers/conv2d.ts';

import { BACKEND_PREFERENCES, type BackendPreference } from './backend-names.ts';

export { BACKEND_PREFERENCES, type BackendPreference };

/** The backend that was activated and why. `name` is tfjs' backend name (`tensorflow`, `wasm`, `cpu`). */
export interface BackendChoice {
  name: string;
  reason: string;
}


const log = moduleLogger('training.backend');
let wasmPathsSet = false;

function message(err: unknown): string {
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

const attempts: Record<Exclude<BackendPreference, 'auto'>, () => Promise<string>> = {
  'tfjs-node-gpu': () => tryNode('@tensorflow/tfjs-node-gpu'),
  'tfjs-node': () => tryNode('@tensorflow/tfjs-node'),
  wasm: tryWasm,
  cpu: tryCpu,
};

/**
 * Activate a TensorFlow.js backend.
 * - an explicit preference must work, else {@link BackendError} BACKEND_UNAVAILABLE;
 * - `auto` tries tfjs-node-gpu, tfjs-node, wasm, cpu in that order and says why it skipped each.
 * @throws {BackendError} UNKNOWN_BACKEND for a name outside {@link BACKEND_PREFERENCES}
 */
export async function selectBackend(pref: BackendPreference = 'auto'): Promise<BackendChoice> {
  if (!BACKEND_PREFERENCES.includes(pref)) {
    throw new BackendError('UNKNOWN_BACKEND', `backend must be one of ${BACKEND_PREFERENCES.join(', ')}; received "${String(pref)}"`, { pref });
  }
  if (pref !== 'auto') {
    try {
      const name = await attempts[pref]();
      await tf.ready();
      return { name, reason: `requested ${pref}` };
    } catch (err) {
      throw new BackendError('BACKEND_UNAVAILABLE', `backend ${pref} is unavailable: ${message(err)}`, { pref }, { cause: err });
    }
  }
  const skipped: string[] = [];
  for (const candidate of ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const) {
    try {
      const name = await attempts[candidate]();
      await tf.ready();
      const reason = skipped.length ? `auto: ${candidate} (skipped ${skipped.join('; ')})` : `auto: ${candidate} is the first available`;
      log.info({ backend: name, reason }, 'tfjs backend selected');
      return { name, reason };
    } catch (err) {
      skipped.push(`${candidate}: ${message(err)}`);
    }
  }
  throw new BackendError('BACKEND_UNAVAILABLE', `no tfjs backend could be activated (${skipped.join('; ')})`, { skipped });
}
