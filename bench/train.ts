/**
 * `npm run bench:train [-- --runs 3 --backend auto --sizes 128 --ngf 32,64 --ndf <n>]`: milliseconds per full
 * U-GAT-IT training iteration (D step + G step: both generators, all four discriminators, both Adam
 * updates, ρ clipping) with the trainer's own UgatitTrainStep, light generators, batch 1, n_res 4,
 * official discriminators (7/5 layers, ndf = ngf). Random inputs: the data pipeline is prefetched and
 * not part of the step. `--low-memory auto|on|off` as the trainer (auto: on for wasm). Each result is
 * also written to stderr as soon as it is measured. Prints one JSON object on stdout.
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

const runs = Number(arg('runs', '3'));
const backendPref = arg('backend', 'auto') as BackendPreference;
const sizes = arg('sizes', '128').split(',').map(Number);
const widths = arg('ngf', '32,64').split(',').map(Number);
const lowMemoryMode = arg('low-memory', 'auto') as 'auto' | 'on' | 'off';
/** Discriminator width; default = ngf as the official `--ch`. */
const ndfArg = arg('ndf', '');

const backend = await selectBackend(backendPref);
const results: Record<string, unknown>[] = [];
for (const imgSize of sizes) {
  for (const ngf of widths) {
    const ndf = ndfArg ? Number(ndfArg) : ngf;
    const o = resolveTrainOptions({ dataDir: '-', outDir: '-', light: true, imgSize, ngf, ndf, nRes: 4, batch: 1, seed: 1 });
    const nets = buildNetworks(o);
    const lowMemory = useLowMemory(lowMemoryMode, backend.name);
    const sut = new UgatitTrainStep(nets, { lowMemory });
    const a = tf.randomUniform([1, imgSize, imgSize, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const b = tf.randomUniform([1, imgSize, imgSize, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    const warm = performance.now();
    await sut.run(a, b, 1e-4); // first iteration compiles / allocates
    const warmupMs = performance.now() - warm;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await sut.run(a, b, 1e-4);
      times.push(performance.now() - t);
    }
    times.sort((x, y) => x - y);
    results.push({
      imgSize,
      ngf,
      ndf,
      light: true,
      nRes: 4,
      batch: 1,
      lowMemory,
      msPerIterationMedian: Math.round(times[Math.floor(times.length / 2)]),
      msPerIterationMin: Math.round(times[0]),
      runs: times.map((t) => Math.round(t)),
      warmupMs: Math.round(warmupMs),
    });
    process.stderr.write(`${JSON.stringify(results[results.length - 1])}\n`);
    a.dispose();
    b.dispose();
    sut.dispose();
    for (const n of Object.values(nets)) n.dispose();
  }
}
process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'train-iteration',
      backend: backend.name,
      backendReason: backend.reason,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
      loadavg1: Number(os.loadavg()[0].toFixed(2)),
      node: process.version,
      results,
    },
    null,
    2,
  )}\n`,
);
