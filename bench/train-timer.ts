/**
 * One timing of the trainer's own iteration, shared by bench:train and bench:compare: light
 * generators, n_res 4, official 7/5-layer discriminators with ndf = ngf, random inputs (the data
 * pipeline is prefetched and not part of a step), `workers` data-parallel replicas of `batch` images
 * each (workers > 1: {@link DataParallelStep}, as `webtoon train --workers`), else {@link UgatitTrainStep}
 * in this process. Reports seconds per iteration and training images per second (effective batch /
 * seconds; an image = one A and one B, as PyTorch at batch 1 does one per iteration).
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { DataParallelStep } from '../src/training/trainer/data-parallel.ts';
import { resolveTrainOptions, useLowMemory } from '../src/training/trainer/options.ts';
import { buildNetworks } from '../src/training/trainer/trainer.ts';
import { UgatitTrainStep } from '../src/training/trainer/train-step.ts';

export interface TrainTiming {
  backend: string;
  imgSize: number;
  ngf: number;
  workers: number;
  batch: number;
  effectiveBatch: number;
  lowMemory: boolean;
  secondsPerIterationMedian: number;
  imagesPerSecond: number;
  runsSeconds: number[];
  warmupSeconds: number[];
  loadavg1: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const r3 = (n: number): number => Math.round(n * 1000) / 1000;

/** Time `runs` iterations after `warmup` ones on the active tfjs backend `backendName`. */
export async function timeTrainIteration(opts: {
  backendName: string;
  imgSize: number;
  ngf: number;
  workers: number;
  batch?: number;
  runs: number;
  warmup: number;
  lowMemory?: 'auto' | 'on' | 'off';
}): Promise<TrainTiming> {
  const { backendName, imgSize, ngf, workers, runs, warmup } = opts;
  const batch = opts.batch ?? 1;
  const eff = workers * batch;
  const o = resolveTrainOptions({ dataDir: '-', outDir: '-', light: true, imgSize, ngf, ndf: ngf, nRes: 4, batch, seed: 1, workers });
  const lowMemory = useLowMemory(opts.lowMemory ?? 'auto', backendName);
  const nets = buildNetworks(o);
  const shape: [number, number, number, number] = [eff, imgSize, imgSize, 3];
  const a = tf.tidy(() => (tf.randomUniform(shape, -1, 1, 'float32', 1).dataSync() as Float32Array).slice());
  const b = tf.tidy(() => (tf.randomUniform(shape, -1, 1, 'float32', 2).dataSync() as Float32Array).slice());
  let step: () => Promise<unknown>;
  let close: () => Promise<void>;
  if (workers > 1) {
    const pool = await DataParallelStep.start(nets, {
      workers,
      backend: backendName,
      nets: { light: true, ngf, ndf: ngf, nRes: 4, imgSize, disLayersGlobal: o.disLayersGlobal, disLayersLocal: o.disLayersLocal },
      lowMemory,
    });
    step = () => pool.run(a.slice(), b.slice(), shape, 1e-4);
    close = () => pool.dispose();
  } else {
    const sut = new UgatitTrainStep(nets, { lowMemory });
    const ta = tf.tensor4d(a, shape);
    const tb = tf.tensor4d(b, shape);
    step = () => sut.run(ta, tb, 1e-4);
    close = async () => {
      tf.dispose([ta, tb]);
      sut.dispose();
    };
  }
  const time = async (): Promise<number> => {
    const t = performance.now();
    await step();
    return (performance.now() - t) / 1000;
  };
  try {
    const warmupSeconds: number[] = [];
    for (let i = 0; i < warmup; i++) warmupSeconds.push(r3(await time()));
    const runsSeconds: number[] = [];
    for (let i = 0; i < runs; i++) runsSeconds.push(r3(await time()));
    const s = median(runsSeconds);
    return {
      backend: backendName,
      imgSize,
      ngf,
      workers,
      batch,
      effectiveBatch: eff,
      lowMemory,
      secondsPerIterationMedian: r3(s),
      imagesPerSecond: r3(eff / s),
      runsSeconds,
      warmupSeconds,
      loadavg1: Math.round(os.loadavg()[0] * 100) / 100,
    };
  } finally {
    await close();
    for (const n of Object.values(nets)) n.dispose();
  }
}
