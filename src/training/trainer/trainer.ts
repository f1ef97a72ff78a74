/**
 * `webtoon train`: the U-GAT-IT training loop. It validates everything before writing anything,
 * picks the backend, builds (or resumes, or fine-tunes) the six networks (resume.ts), then runs
 * {@link UgatitTrainStep} per iteration on prefetched data, writing losses.jsonl every step, a sample
 * grid and the loss curve every `sampleEvery`, and a checkpoint (weights + Adam moments + step) every
 * `saveEvery` and when stopped (end, abort signal / SIGINT). All randomness is a function of
 * (seed, step), so a resumed run continues exactly as an uninterrupted one. The run dir's files are
 * run-dir.ts's; the optimizer-state codec is optimizer-state.ts.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Logger } from 'pino';
import { moduleLogger } from '../../logger.ts';
import { selectBackend, type BackendChoice } from '../backend.ts';
import { saveCheckpoint } from '../checkpoint.ts';
import { manifestHash, scanDataset } from '../data/dataset.ts';
import { TrainDataLoader } from '../data/loader.ts';
import { loadSamplingWeights, type SamplingWeights } from '../data/sampler.ts';
import { linearDecayLr } from '../optimizer.ts';
import { NETWORK_NAMES, type UgatitState } from '../tensors.ts';
import { TrainingError } from '../training.errors.ts';
import { renderLossCurve } from './loss-curve.ts';
import { LossHistory } from './loss-history.ts';
import { optimizerTensors } from './optimizer-state.ts';
import { resolveTrainOptions, resolveWorkers, useLowMemory, type TrainOptions } from './options.ts';
import { DataParallelStep } from './data-parallel.ts';
import { checkWebgpuTensorSizes } from '../webgpu.ts';
import { createProgress, type ProgressReporter } from './progress.ts';
import { loadStartState, modelShapes, planStart } from './resume.ts';
import {
  CHECKPOINTS_DIR,
  checkpointConfig,
  checkpointDirName,
  LOSS_CURVE_FILE,
  LOSSES_FILE,
  newRunFile,
  prepareRunDir,
  pruneCheckpoints,
  RESUMABLE_KEYS,
  type RunFile,
  SAMPLES_DIR,
  truncateLosses,
} from './run-dir.ts';
import { renderSampleGrid } from './sample-grid.ts';
import { UgatitTrainStep, type StepLosses } from './train-step.ts';

export { buildNetworks, resumeOptions } from './resume.ts';
export { optimizerTensors } from './optimizer-state.ts';
export { CHECKPOINTS_DIR, checkpointDirName, listCheckpoints, LOSS_CURVE_FILE, LOSSES_FILE, readRunFile, RUN_FILE, SAMPLES_DIR } from './run-dir.ts';

/** What happens around the loop; all optional. */
export interface TrainHooks {
  /** Continue the run in `outDir` from its newest checkpoint. */
  resume?: boolean;
  /** Stop (checkpoint, return) once this step is done, as if interrupted (tests, time-boxed runs). */
  stopAfterStep?: number;
  /** Abort = finish the current step, checkpoint, return (the CLI wires SIGINT to it). */
  signal?: AbortSignal;
  /** Progress display (default 'auto': bar on a TTY, log lines otherwise). */
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  log?: Logger;
  /** Called after every step with the losses and the live tensor count. */
  onStep?(info: { step: number; lr: number; losses: StepLosses; numTensors: number }): void;
}

/** What a finished (or stopped) run reports. */
export interface TrainSummary {
  outDir: string;
  backend: BackendChoice;
  startStep: number;
  /** Last completed step. */
  step: number;
  iterations: number;
  stoppedEarly: boolean;
  /** Directory of the last checkpoint written. */
  checkpoint: string;
  /** Images skipped as unreadable. */
  skippedImages: number;
  /** Mean seconds per iteration over this session. */
  secondsPerIteration: number;
  /** Total time the loop waited for data (≈0 when prefetching keeps up). */
  dataWaitSeconds: number;
  /** Data-parallel replicas (1 = the step runs in this process). */
  workers: number;
  /** Images per domain per step: workers × batch. */
  effectiveBatch: number;
  /** Training images per second over this session: effectiveBatch × iterations / seconds (an image = one A and one B; PyTorch at batch 1 does 1 per iteration). */
  imagesPerSecond: number;
}

/**
 * Train (or resume) a U-GAT-IT model; see the module comment.
 * @throws {TrainingError} for bad options or data (before anything is written), BackendError when the
 *   requested backend cannot start.
 */
export async function runTraining(input: Partial<TrainOptions> & Pick<TrainOptions, 'dataDir' | 'outDir'>, hooks: TrainHooks = {}): Promise<TrainSummary> {
  const log = hooks.log ?? moduleLogger('training.trainer');
  const o = resolveTrainOptions(input);
  const outDir = path.resolve(o.outDir);

  // ---- validate everything before writing anything ----
  const plan = await planStart(o, outDir, !!hooks.resume);
  const backend = await selectBackend(o.backend);
  if (backend.name === 'webgpu') {
    try {
      // e.g. the full-size generator's 1 GiB MLP weight: refused from the shape table, before any tensor exists
      checkWebgpuTensorSizes(modelShapes(o));
    } catch (err) {
      throw new TrainingError('OPTION_INVALID', (err as Error).message, { backend: backend.name }, { cause: err });
    }
  }
  const workers = resolveWorkers(o.workers, backend.name, availableParallelism());
  const effectiveBatch = workers * o.batch;
  // the data stream of workers × batch: a run with N workers of batch B sees what one worker of batch N·B sees
  const { loader, dataHash } = await openTrainingData(o, effectiveBatch, log);
  if (plan.resume && plan.run.dataManifestHash !== dataHash) {
    log.warn({ dataDir: o.dataDir }, 'the training images changed since the run started: the resumed data stream will differ from an uninterrupted run');
  }
  log.info({ backend: backend.name, reason: backend.reason }, `training on tfjs backend ${backend.name} (${backend.reason})`);
  log.info({ workers, batch: o.batch, effectiveBatch }, `${workers} worker${workers > 1 ? 's' : ''} × batch ${o.batch} = effective batch ${effectiveBatch} images per domain per step`);
  if (o.lowMemory === 'auto' && backend.name === 'wasm') log.info('low-memory train step (per-discriminator and per-domain gradient tapes): the wasm heap is capped at 4 GiB');

  const { nets, adam, startStep, initSource } = await loadStartState(o, plan);
  if (plan.resume) log.info({ step: startStep, checkpoint: plan.from.dir }, `resuming from step ${startStep} of ${o.iterations} (${plan.from.dir})`);
  const lowMemory = useLowMemory(o.lowMemory, backend.name);
  let pool: DataParallelStep | undefined;
  let sut: UgatitTrainStep | undefined;
  try {
    if (workers > 1) {
      pool = await DataParallelStep.start(nets, {
        workers,
        backend: backend.name,
        nets: { light: o.light, ngf: o.ngf, ndf: o.ndf, nRes: o.nRes, imgSize: o.imgSize, disLayersGlobal: o.disLayersGlobal, disLayersLocal: o.disLayersLocal },
        lowMemory,
        adam: { weightDecay: o.weightDecay },
      });
    } else {
      sut = new UgatitTrainStep(nets, { adam: { weightDecay: o.weightDecay }, lowMemory });
    }
  } catch (err) {
    for (const n of Object.values(nets)) n.dispose();
    throw err;
  }
  const opt = (pool ?? sut)!;
  if (adam) {
    opt.optG.setState(adam.G);
    opt.optD.setState(adam.D);
  }

  // ---- from here on the run dir is written ----
  const runFile: RunFile = plan.resume
    ? { ...plan.run, options: { ...plan.run.options, ...pick(o, RESUMABLE_KEYS) } }
    : newRunFile({ ...o, outDir, workers }, dataHash, effectiveBatch);
  await prepareRunDir(outDir, runFile);
  const lossesFile = path.join(outDir, LOSSES_FILE);
  const history = new LossHistory();
  for (const r of await truncateLosses(lossesFile, startStep)) history.add(r.step, r.losses);
  const lossStream: WriteStream = createWriteStream(lossesFile, { flags: 'a' });
  const fixedA = o.sampleCount > 0 ? await loader.fixedImages('A', o.sampleCount) : undefined;
  const fixedB = o.sampleCount > 0 ? await loader.fixedImages('B', o.sampleCount) : undefined;

  const progress: ProgressReporter = createProgress({ mode: hooks.progress ?? 'auto', start: startStep, total: o.iterations, log });
  let lastSaved = plan.resume ? plan.from.dir : '';
  let lastSavedStep = startStep;
  const save = async (step: number) => {
    const dir = path.join(outDir, CHECKPOINTS_DIR, checkpointDirName(step));
    let state: UgatitState = {};
    if (pool) state = await pool.readState();
    else for (const n of NETWORK_NAMES) state[n] = await nets[n].readStateDict();
    await saveCheckpoint(dir, {
      config: checkpointConfig(o, step, dataHash, { ...initSource, workers, effectiveBatch }),
      state,
      optimizer: optimizerTensors(await opt.optG.readState(), await opt.optD.readState()),
    });
    lastSaved = dir;
    lastSavedStep = step;
    await pruneCheckpoints(outDir, o.keepCheckpoints);
    progress.note(`saved checkpoint ${dir}`);
  };
  const sample = async (step: number) => {
    if (fixedA && fixedB && fixedA.paths.length > 0 && fixedB.paths.length > 0) {
      const png = await renderSampleGrid(nets, fixedA.data, fixedB.data, o.imgSize, `step ${step}`);
      await writeFile(path.join(outDir, SAMPLES_DIR, `${checkpointDirName(step)}.png`), png);
    }
    if (history.size > 0) await writeFile(path.join(outDir, LOSS_CURVE_FILE), await renderLossCurve(history.records(), `U-GAT-IT losses (${path.basename(outDir)})`));
  };

  const started = performance.now();
  let step = startStep;
  let stoppedEarly = false;
  let dataWaitMs = 0;
  let diverged = false;
  try {
    while (step < o.iterations) {
      const waitStart = performance.now();
      const batch = await loader.batch(step); // step is 0-based here: the data of iteration step+1
      dataWaitMs += performance.now() - waitStart;
      const s = step + 1;
      const lr = linearDecayLr(s, o.lr, o.iterations, o.decay);
      const shape: [number, number, number, number] = [effectiveBatch, o.imgSize, o.imgSize, 3];
      let losses: StepLosses;
      if (pool) {
        losses = await pool.run(batch.a, batch.b, shape, lr);
      } else {
        const realA = tf.tensor4d(batch.a, shape);
        const realB = tf.tensor4d(batch.b, shape);
        try {
          losses = await sut!.run(realA, realB, lr);
        } finally {
          realA.dispose();
          realB.dispose();
        }
      }
      step = s;
      lossStream.write(`${JSON.stringify({ step, lr, time: Date.now(), ...losses })}\n`);
      history.add(step, losses);
      progress.update({ step, dLoss: losses.Discriminator_loss, gLoss: losses.Generator_loss, lr });
      hooks.onStep?.({ step, lr, losses, numTensors: tf.memory().numTensors });
      if (!Number.isFinite(losses.Generator_loss) || !Number.isFinite(losses.Discriminator_loss)) {
        diverged = true; // keep the last good checkpoint as the newest: no save after this
        break;
      }
      // A step is synchronous work; give the event loop a turn so that SIGINT, file writes and the
      // decoders' completions are handled between steps, not starved until the run ends.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (step % o.sampleEvery === 0) await sample(step);
      if (step % o.saveEvery === 0) await save(step);
      if (hooks.signal?.aborted || (hooks.stopAfterStep !== undefined && step >= hooks.stopAfterStep)) {
        stoppedEarly = step < o.iterations;
        break;
      }
    }
    if (!diverged) {
      if (lastSavedStep !== step || !lastSaved) await save(step);
      if (step % o.sampleEvery !== 0 && step > startStep) await sample(step);
    }
  } finally {
    progress.stop();
    await new Promise<void>((resolve) => lossStream.end(resolve));
    sut?.dispose();
    await pool?.dispose();
    for (const n of Object.values(nets)) n.dispose();
  }
  if (diverged) {
    throw new TrainingError(
      'DIVERGED',
      `the loss became non-finite at step ${step}; stopped without saving (newest good checkpoint: ${lastSaved || 'none'}); try a lower --lr`,
      { step, checkpoint: lastSaved },
    );
  }
  const elapsed = (performance.now() - started) / 1000;
  const summary: TrainSummary = {
    outDir,
    backend,
    startStep,
    step,
    iterations: o.iterations,
    stoppedEarly,
    checkpoint: lastSaved,
    skippedImages: loader.skipped.size,
    secondsPerIteration: step > startStep ? elapsed / (step - startStep) : 0,
    dataWaitSeconds: dataWaitMs / 1000,
    workers,
    effectiveBatch,
    imagesPerSecond: step > startStep && elapsed > 0 ? (effectiveBatch * (step - startStep)) / elapsed : 0,
  };
  log.info(summary, stoppedEarly ? `stopped at step ${step}; resume with --resume` : `training finished at step ${step}`);
  return summary;
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = o[k];
  return out;
}

/** Scan the dataset, read the sampling weights, start the prefetching loader; nothing is written. */
async function openTrainingData(o: TrainOptions, batch: number, log: Logger): Promise<{ loader: TrainDataLoader; dataHash: string }> {
  const dataset = await scanDataset(o.dataDir);
  let weights: SamplingWeights | undefined;
  if (o.samplingWeights) {
    weights = await loadSamplingWeights(o.samplingWeights, dataset);
    if (weights.unknownPaths.length) {
      log.warn(
        { file: o.samplingWeights, unknown: weights.unknownPaths.length, examples: weights.unknownPaths.slice(0, 5) },
        `${weights.unknownPaths.length} path(s) in the sampling weights are not training images of domain ${weights.domain}; ignored`,
      );
    }
    log.info({ domain: weights.domain, matched: weights.matched, default: weights.defaultWeight }, 'sampling with weights');
  }
  const loader = await TrainDataLoader.create({
    dataset,
    imgSize: o.imgSize,
    batch,
    seed: o.seed,
    augment: o.augment,
    samplingWeights: weights,
    prefetch: o.prefetch,
    log,
  });
  return { loader, dataHash: await manifestHash(dataset) };
}
