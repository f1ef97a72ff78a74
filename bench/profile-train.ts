/**
 * `npm run bench:profile-train [-- --img 128 --ngf 32 --low-memory auto --warmup 1]`: where one training
 * iteration's time goes on the active tfjs backend (wasm by default). Every kernel registered for the
 * backend is wrapped with a timer; after `--warmup` iterations one iteration is profiled and one JSON
 * object is printed: wall seconds, seconds inside kernels (outermost calls only), seconds outside them
 * (tape bookkeeping, tidy/dispose, JS in the gradient functions, host-side helpers), the kernel count,
 * and the kernels sorted by self time with call counts.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendPreference } from '../src/training/backend.ts';
import { resolveTrainOptions, useLowMemory } from '../src/training/trainer/options.ts';
import { buildNetworks } from '../src/training/trainer/trainer.ts';
import { UgatitTrainStep } from '../src/training/trainer/train-step.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const imgSize = Number(arg('img', '128'));
const ngf = Number(arg('ngf', '32'));
const warmup = Number(arg('warmup', '1'));
const lowMemoryArg = arg('low-memory', 'auto') as 'auto' | 'on' | 'off';
const backendPref = arg('backend', 'wasm') as BackendPreference;
/** Kernels whose rows are split by input shapes (e.g. `--detail Conv2D,Transpose`). */
const detail = new Set(arg('detail', '').split(',').filter(Boolean));

interface Row {
  calls: number;
  selfMs: number;
}

const backend = await selectBackend(backendPref);
const name = backend.name;
const stats = new Map<string, Row>();
let insideMs = 0;
let recording = false;
/** Time spent in nested kernel calls, one accumulator per open kernel call (self = total − children). */
const childStack: number[] = [];
// wrap every kernel of the backend; a kernel calling another counts once in insideMs
for (const k of tf.getKernelsForBackend(name)) {
  const inner = k.kernelFunc;
  const kernelName = k.kernelName;
  (k as { kernelFunc: typeof inner }).kernelFunc = (args) => {
    if (!recording) return inner(args);
    childStack.push(0);
    const t = performance.now();
    try {
      return inner(args);
    } finally {
      const ms = performance.now() - t;
      const children = childStack.pop() ?? 0;
      if (childStack.length > 0) childStack[childStack.length - 1] += ms;
      else insideMs += ms;
      const key = detail.has(kernelName) ? `${kernelName} ${JSON.stringify(Object.values(args.inputs).map((x) => x?.shape))}` : kernelName;
      const row = stats.get(key) ?? { calls: 0, selfMs: 0 };
      row.calls++;
      row.selfMs += ms - children;
      stats.set(key, row);
    }
  };
}

const o = resolveTrainOptions({ dataDir: '-', outDir: '-', light: true, imgSize, ngf, ndf: ngf, nRes: 4, batch: 1, seed: 1, workers: 1 });
const lowMemory = useLowMemory(lowMemoryArg, name);
const nets = buildNetworks(o);
const sut = new UgatitTrainStep(nets, { lowMemory });
const shape: [number, number, number, number] = [1, imgSize, imgSize, 3];
const a = tf.randomUniform(shape, -1, 1, 'float32', 1);
const b = tf.randomUniform(shape, -1, 1, 'float32', 2);
const warmupSeconds: number[] = [];
for (let i = 0; i < warmup; i++) {
  const t = performance.now();
  await sut.run(a as tf.Tensor4D, b as tf.Tensor4D, 1e-4);
  warmupSeconds.push((performance.now() - t) / 1000);
}
recording = true;
const t0 = performance.now();
await sut.run(a as tf.Tensor4D, b as tf.Tensor4D, 1e-4);
const wallMs = performance.now() - t0;
recording = false;
/** The backend's memory in MiB (wasm: the size of its heap, which only grows). */
function memoryMiB(): number {
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  return (wasm?.HEAPU8?.byteLength ?? tf.memory().numBytes) / 2 ** 20;
}
const r3 = (n: number): number => Math.round(n * 1000) / 1000;
const kernels = [...stats.entries()]
  .sort((x, y) => y[1].selfMs - x[1].selfMs)
  .map(([kernel, r]) => ({ kernel, calls: r.calls, selfSeconds: r3(r.selfMs / 1000), share: r3(r.selfMs / wallMs) }));
console.log(
  JSON.stringify(
    {
      backend: name,
      imgSize,
      ngf,
      lowMemory,
      warmupSeconds: warmupSeconds.map(r3),
      wallSeconds: r3(wallMs / 1000),
      insideKernelsSeconds: r3(insideMs / 1000),
      outsideKernelsSeconds: r3((wallMs - insideMs) / 1000),
      kernelCalls: kernels.reduce((n, k) => n + k.calls, 0),
      wasmHeapMiB: Math.round(memoryMiB()),
      loadavg1: Math.round(os.loadavg()[0] * 100) / 100,
      kernels,
    },
    null,
    1,
  ),
);
