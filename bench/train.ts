/**
 * `npm run bench:train [-- options]`: seconds per full U-GAT-IT training iteration (D step + G step:
 * both generators, all four discriminators, both Adam updates, ρ clipping) and training images per
 * second, for every tfjs backend present, with the trainer's own code (bench/train-timer.ts).
 *
 *   --configs 128:32,256:64   image size : ngf pairs (light, n_res 4, D 7/5 layers, ndf = ngf)
 *   --backends auto           comma list of wasm, webgpu, cpu, tfjs-node, tfjs-node-gpu; `auto` = wasm,
 *                             plus webgpu on a hardware adapter, plus tfjs-node(-gpu) when installed.
 *                             Name webgpu explicitly to include a software adapter (llvmpipe: slow)
 *   --workers 1,auto          data-parallel replicas to time on wasm/cpu (auto = the cores); GPU
 *                             backends run 1
 *   --batch 1                 images per domain per replica
 *   --runs 2 --warmup 1       timed iterations (median reported) after warm-up iterations
 *   --low-memory auto         as the trainer (auto: on for wasm)
 *
 * Each result is written to stderr as soon as it is measured; one JSON object on stdout at the end.
 */
import os from 'node:os';
import { selectBackend, type BackendChoice, type BackendPreference } from '../src/training/backend.ts';
import { MULTI_WORKER_BACKENDS } from '../src/training/trainer/options.ts';
import { timeTrainIteration, type TrainTiming } from './train-timer.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const configs = arg('configs', '128:32,256:64')
  .split(',')
  .map((c) => c.split(':').map(Number) as [number, number]);
const backendsArg = arg('backends', 'auto');
const workersList = [...new Set(arg('workers', '1,auto').split(',').map((w) => (w === 'auto' ? os.availableParallelism() : Number(w))))];
const batch = Number(arg('batch', '1'));
const runs = Number(arg('runs', '2'));
const warmup = Number(arg('warmup', '1'));
const lowMemory = arg('low-memory', 'auto') as 'auto' | 'on' | 'off';

/** The backends to time, each activated once to check it starts (auto: hardware GPUs only). */
async function presentBackends(): Promise<{ pref: BackendPreference; choice: BackendChoice }[]> {
  const wanted: BackendPreference[] = backendsArg === 'auto' ? ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm'] : (backendsArg.split(',') as BackendPreference[]);
  const out: { pref: BackendPreference; choice: BackendChoice }[] = [];
  for (const pref of wanted) {
    try {
      const choice = await selectBackend(pref);
      if (backendsArg === 'auto' && choice.adapter?.includes('software')) {
        process.stderr.write(`bench:train: skipping webgpu on a software adapter (${choice.adapter}); pass --backends webgpu to time it\n`);
        continue;
      }
      out.push({ pref, choice });
    } catch (err) {
      process.stderr.write(`bench:train: ${pref} not present: ${(err as Error).message.split('\n')[0]}\n`);
    }
  }
  return out;
}

const results: TrainTiming[] = [];
const backends = await presentBackends();
for (const { pref, choice } of backends) {
  await selectBackend(pref);
  const workerCounts = MULTI_WORKER_BACKENDS.includes(choice.name) ? workersList : [1];
  for (const [imgSize, ngf] of configs) {
    for (const workers of workerCounts) {
      try {
        const r = await timeTrainIteration({ backendName: choice.name, imgSize, ngf, workers, batch, runs, warmup, lowMemory });
        results.push(r);
        process.stderr.write(`${JSON.stringify(r)}\n`);
      } catch (err) {
        process.stderr.write(`bench:train: ${choice.name} ${imgSize}²/ngf ${ngf} × ${workers} workers failed: ${(err as Error).message}\n`);
      }
    }
  }
}
process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'train-iteration',
      date: new Date().toISOString(),
      backends: backends.map((b) => ({ name: b.choice.name, reason: b.choice.reason, adapter: b.choice.adapter })),
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.availableParallelism(),
      loadavg1: Number(os.loadavg()[0].toFixed(2)),
      node: process.version,
      note: 'imagesPerSecond = effectiveBatch / secondsPerIterationMedian (an image = one A and one B image)',
      results,
    },
    null,
    2,
  )}\n`,
);
process.exit(0);
