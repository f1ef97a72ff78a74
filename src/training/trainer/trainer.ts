/**
 * `webtoon train`: the U-GAT-IT training loop. It validates everything before writing anything,
 * picks the backend, builds (or resumes, or fine-tunes) the six networks, then runs
 * {@link UgatitTrainStep} per iteration on prefetched data, writing losses.jsonl every step, a sample
 * grid and the loss curve every `sampleEvery`, and a checkpoint (weights + Adam moments + step) every
 * `saveEvery` and when stopped (end, abort signal / SIGINT). All randomness is a function of
 * (seed, step), so a resumed run continues exactly as an uninterrupted one.
 *
 * Run dir layout: run.json, losses.jsonl, loss-curve.png, samples/step_XXXXXXX.png,
 * checkpoints/step_XXXXXXX/{config.json, weights.safetensors, optimizer.safetensors}.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Logger } from 'pino';
import { moduleLogger } from '../../logger.ts';
import { selectBackend, type BackendChoice } from '../backend.ts';
import { loadCheckpoint, saveCheckpoint, type CheckpointConfig } from '../checkpoint.ts';
import { manifestHash, scanDataset } from '../data/dataset.ts';
import { TrainDataLoader } from '../data/loader.ts';
import { hashInts, RNG_PURPOSE } from '../data/rng.ts';
import { loadSamplingWeights, type SamplingWeights } from '../data/sampler.ts';
import { createDiscriminator, createGenerator } from '../networks/index.ts';
import { linearDecayLr, type AdamState } from '../optimizer.ts';
import type { NamedTensor, NetworkName, StateDict, UgatitState } from '../tensors.ts';
import { readTorchCheckpoint } from '../torch-import/index.ts';
import { renderLossCurve, type LossRecord } from './loss-curve.ts';
import { LossHistory } from './loss-history.ts';
import { ARCHITECTURE_KEYS, resolveTrainOptions, resolveWorkers, useLowMemory, type TrainOptions } from './options.ts';
import { DataParallelStep } from './data-parallel.ts';
import { checkWebgpuTensorSizes } from '../webgpu.ts';
import { createProgress, type ProgressReporter } from './progress.ts';
import { renderSampleGrid } from './sample-grid.ts';
import { UgatitTrainStep, type StepLosses, type UgatitNetworks } from './train-step.ts';
import { TrainingError } from './training-error.ts';

export const RUN_FILE = 'run.json';
export const LOSSES_FILE = 'losses.jsonl';
export const LOSS_CURVE_FILE = 'loss-curve.png';
export const CHECKPOINTS_DIR = 'checkpoints';
export const SAMPLES_DIR = 'samples';

const NETWORKS: readonly NetworkName[] = ['genA2B', 'genB2A', 'disGA', 'disGB', 'disLA', 'disLB'];

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

/** Contents of run.json. */
interface RunFile {
  format: 'webtoonfaces-train-run';
  version: 1;
  options: TrainOptions;
  /** workers × batch: images per domain per step (absent in runs made before --workers: = batch). */
  effectiveBatch?: number;
  dataManifestHash: string;
  createdAt: string;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Name of the checkpoint dir of `step` (zero-padded so names sort by step). */
export function checkpointDirName(step: number): string {
  return `step_${String(step).padStart(7, '0')}`;
}

/** Completed checkpoints of a run dir (those with a config.json), oldest first. */
export async function listCheckpoints(outDir: string): Promise<{ step: number; dir: string }[]> {
  const root = path.join(outDir, CHECKPOINTS_DIR);
  if (!(await exists(root))) return [];
  const out: { step: number; dir: string }[] = [];
  for (const name of await readdir(root)) {
    const m = /^step_(\d+)$/.exec(name);
    if (m && (await exists(path.join(root, name, 'config.json')))) out.push({ step: Number(m[1]), dir: path.join(root, name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** Read run.json of a run dir. */
export async function readRunFile(outDir: string): Promise<RunFile> {
  const file = path.join(outDir, RUN_FILE);
  let json: RunFile;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as RunFile;
  } catch (err) {
    throw new TrainingError('RESUME_FAILED', `cannot resume: ${file} is missing or not JSON (${(err as Error).message})`, { outDir });
  }
  if (json.format !== 'webtoonfaces-train-run' || json.version !== 1) {
    throw new TrainingError('RESUME_FAILED', `cannot resume: ${file} is not a run file of this trainer`, { outDir });
  }
  // runs made before --workers existed trained in one process
  json.options.workers ??= 1;
  return json;
}

/**
 * The options to resume `outDir` with: those recorded in run.json, overridden by `explicit` ones.
 * Only iterations, save/sample cadence, backend, prefetch and keep-checkpoints may change; the
 * options that define the model and data stream must stay (else the resume could not be exact).
 * @throws {TrainingError} RESUME_FAILED
 */
export async function resumeOptions(outDir: string, explicit: Partial<TrainOptions> = {}): Promise<TrainOptions> {
  const run = await readRunFile(outDir);
  if (explicit.workers === 'auto') explicit = { ...explicit, workers: undefined }; // keep the run's own
  for (const key of ARCHITECTURE_KEYS) {
    const v = explicit[key];
    if (v !== undefined && v !== run.options[key]) {
      throw new TrainingError(
        'RESUME_FAILED',
        `cannot resume with ${key} = ${JSON.stringify(v)}: the run was started with ${JSON.stringify(run.options[key])} and a resumed run keeps its configuration`,
        { key, run: run.options[key], requested: v },
      );
    }
  }
  const merged = { ...run.options };
  for (const [k, v] of Object.entries(explicit)) if (v !== undefined && k !== 'init') (merged as Record<string, unknown>)[k] = v;
  merged.outDir = outDir;
  return merged;
}

function generatorConfig(o: TrainOptions) {
  return { light: o.light, ngf: o.ngf, n_blocks: o.nRes, img_size: o.imgSize };
}

function checkpointConfig(o: TrainOptions, step: number, dataHash: string | null, extra: Record<string, unknown>): CheckpointConfig {
  return {
    format: 'webtoonfaces-ugatit',
    formatVersion: 1,
    variant: 'pytorch',
    light: o.light,
    ngf: o.ngf,
    ndf: o.ndf,
    n_blocks: o.nRes,
    img_size: o.imgSize,
    dis_layers_global: o.disLayersGlobal,
    dis_layers_local: o.disLayersLocal,
    step,
    data_manifest_hash: dataHash,
    source: { kind: 'webtoon-train', seed: o.seed, iterations: o.iterations, lr: o.lr, batch: o.batch, ...extra },
  };
}

/**
 * Build the six networks: from `state` where it has a network, else freshly initialised from a
 * stream derived from the seed (so two runs with one seed start identical).
 */
export function buildNetworks(o: TrainOptions, state: UgatitState = {}): UgatitNetworks {
  const built: Partial<UgatitNetworks> = {};
  try {
    NETWORKS.forEach((name, i) => {
      const seed = hashInts(o.seed, RNG_PURPOSE.init, i);
      const w: StateDict | undefined = state[name];
      if (name.startsWith('gen')) {
        (built as Record<string, unknown>)[name] = createGenerator(generatorConfig(o), w, { seed, label: name });
      } else {
        const nLayers = name.startsWith('disG') ? o.disLayersGlobal : o.disLayersLocal;
        (built as Record<string, unknown>)[name] = createDiscriminator({ ndf: o.ndf, nLayers }, w, { seed, label: name });
      }
    });
  } catch (err) {
    for (const n of Object.values(built)) n?.dispose();
    throw err;
  }
  return built as UgatitNetworks;
}

/** Adam state ⇄ the checkpoint's `optimizer.safetensors` naming (`<G|D>.<m|v>.<network>.<param>`, `__step__`). */
export function optimizerTensors(g: AdamState, d: AdamState): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [prefix, s] of [
    ['G', g],
    ['D', d],
  ] as const) {
    for (const [k, t] of s.m) out.set(`${prefix}.m.${k}`, t);
    for (const [k, t] of s.v) out.set(`${prefix}.v.${k}`, t);
  }
  out.set('__step__', { shape: [], data: Float32Array.of(g.step) });
  return out;
}

function adamStateFrom(tensors: Map<string, NamedTensor>, prefix: 'G' | 'D'): AdamState {
  const m = new Map<string, NamedTensor>();
  const v = new Map<string, NamedTensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith(`${prefix}.m.`)) m.set(k.slice(4), t);
    else if (k.startsWith(`${prefix}.v.`)) v.set(k.slice(4), t);
  }
  const step = tensors.get('__step__')?.data[0];
  if (step === undefined) throw new Error('optimizer state lacks __step__');
  return { step, m, v };
}

/** Read `--init`: our checkpoint dir, or an official UGATIT-pytorch .pt file. */
async function readInit(file: string): Promise<{ state: UgatitState; source: Record<string, unknown> }> {
  try {
    const s = await stat(file);
    if (s.isDirectory()) {
      const ck = await loadCheckpoint(file);
      return { state: ck.state, source: { init: file, initStep: ck.config.step } };
    }
    return { state: readTorchCheckpoint(file, { require: [] }), source: { init: file } };
  } catch (err) {
    throw new TrainingError('INIT_FAILED', `cannot read --init ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
}

/** Keep losses.jsonl consistent with a resumed step: drop lines of steps after it; return kept records. */
async function truncateLosses(file: string, upTo: number): Promise<LossRecord[]> {
  if (!(await exists(file))) return [];
  const kept: string[] = [];
  const records: LossRecord[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as { step: number; lr: number } & Record<string, number>;
      if (r.step > upTo) continue;
      kept.push(line);
      const { step, lr, ...losses } = r;
      delete (losses as Record<string, unknown>).time;
      records.push({ step, lr, losses });
    } catch {
      // a torn last line from a crash: drop it
    }
  }
  await writeFile(file, kept.length ? `${kept.join('\n')}\n` : '');
  return records;
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
  let resumeFrom: { step: number; dir: string } | undefined;
  if (hooks.resume) {
    const run = await readRunFile(outDir);
    if (o.workers === 'auto') o.workers = run.options.workers; // the effective batch must stay
    for (const key of ARCHITECTURE_KEYS) {
      if (run.options[key] !== o[key]) {
        throw new TrainingError('RESUME_FAILED', `cannot resume: ${key} is ${JSON.stringify(o[key])} but the run used ${JSON.stringify(run.options[key])}`, { key });
      }
    }
    const cks = await listCheckpoints(outDir);
    resumeFrom = cks[cks.length - 1];
    if (!resumeFrom) throw new TrainingError('RESUME_FAILED', `cannot resume: ${path.join(outDir, CHECKPOINTS_DIR)} holds no complete checkpoint`, { outDir });
  } else if ((await exists(path.join(outDir, RUN_FILE))) || (await exists(path.join(outDir, CHECKPOINTS_DIR)))) {
    throw new TrainingError('RUN_DIR_IN_USE', `${outDir} already holds a training run; pass --resume to continue it or choose another --out`, { outDir });
  }
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
  const backend = await selectBackend(o.backend);
  const workers = resolveWorkers(o.workers, backend.name, availableParallelism());
  const effectiveBatch = workers * o.batch;
  const loader = await TrainDataLoader.create({
    dataset,
    imgSize: o.imgSize,
    // the data stream of workers × batch: a run with N workers of batch B sees what one worker of batch N·B sees
    batch: effectiveBatch,
    seed: o.seed,
    augment: o.augment,
    samplingWeights: weights,
    prefetch: o.prefetch,
    log,
  });
  const dataHash = await manifestHash(dataset);
  if (hooks.resume) {
    const run = await readRunFile(outDir);
    if (run.dataManifestHash !== dataHash) {
      log.warn({ dataDir: o.dataDir }, 'the training images changed since the run started: the resumed data stream will differ from an uninterrupted run');
    }
  }
  log.info({ backend: backend.name, reason: backend.reason }, `training on tfjs backend ${backend.name} (${backend.reason})`);
  log.info({ workers, batch: o.batch, effectiveBatch }, `${workers} worker${workers > 1 ? 's' : ''} × batch ${o.batch} = effective batch ${effectiveBatch} images per domain per step`);
  if (o.lowMemory === 'auto' && backend.name === 'wasm') log.info('low-memory train step (per-discriminator and per-domain gradient tapes): the wasm heap is capped at 4 GiB');

  let nets: UgatitNetworks;
  let startStep = 0;
  let adam: { G: AdamState; D: AdamState } | undefined;
  let initSource: Record<string, unknown> = {};
  if (resumeFrom) {
    const ck = await loadCheckpoint(resumeFrom.dir);
    if (!ck.optimizer) throw new TrainingError('RESUME_FAILED', `cannot resume exactly: ${resumeFrom.dir} has no optimizer state`, { dir: resumeFrom.dir });
    nets = buildNetworks(o, ck.state);
    adam = { G: adamStateFrom(ck.optimizer, 'G'), D: adamStateFrom(ck.optimizer, 'D') };
    startStep = ck.config.step;
    initSource = { resumedFrom: resumeFrom.dir };
  } else if (o.init) {
    const init = await readInit(o.init);
    try {
      nets = buildNetworks(o, init.state);
    } catch (err) {
      throw new TrainingError('INIT_FAILED', `--init ${o.init} does not fit this configuration: ${(err as Error).message}`, { file: o.init }, { cause: err });
    }
    initSource = init.source;
  } else {
    nets = buildNetworks(o);
  }
  if (startStep >= o.iterations) {
    for (const n of Object.values(nets)) n.dispose();
    throw new TrainingError('RESUME_FAILED', `the run is already at step ${startStep} of ${o.iterations}; pass a larger --iterations to continue`, { step: startStep });
  }
  if (backend.name === 'webgpu') {
    try {
      // e.g. the full-size generator's 1 GiB MLP weight: refuse before anything is written
      checkWebgpuTensorSizes(NETWORKS.flatMap((n) => [...nets[n].trainableVariables()].map(([k, v]) => [`${n}.${k}`, v.shape] as [string, number[]])));
    } catch (err) {
      for (const n of Object.values(nets)) n.dispose();
      throw new TrainingError('OPTION_INVALID', (err as Error).message, { backend: backend.name }, { cause: err });
    }
  }
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
  await mkdir(path.join(outDir, CHECKPOINTS_DIR), { recursive: true });
  await mkdir(path.join(outDir, SAMPLES_DIR), { recursive: true });
  if (!resumeFrom) {
    const run: RunFile = { format: 'webtoonfaces-train-run', version: 1, options: { ...o, outDir, workers }, effectiveBatch, dataManifestHash: dataHash, createdAt: new Date().toISOString() };
    await writeFile(path.join(outDir, RUN_FILE), `${JSON.stringify(run, null, 2)}\n`);
  } else {
    const run = await readRunFile(outDir);
    run.options = { ...run.options, iterations: o.iterations, saveEvery: o.saveEvery, sampleEvery: o.sampleEvery, backend: o.backend, prefetch: o.prefetch, keepCheckpoints: o.keepCheckpoints, lowMemory: o.lowMemory };
    await writeFile(path.join(outDir, RUN_FILE), `${JSON.stringify(run, null, 2)}\n`);
  }
  const lossesFile = path.join(outDir, LOSSES_FILE);
  const history = new LossHistory();
  for (const r of await truncateLosses(lossesFile, startStep)) history.add(r.step, r.losses);
  const lossStream: WriteStream = createWriteStream(lossesFile, { flags: 'a' });
  const fixedA = o.sampleCount > 0 ? await loader.fixedImages('A', o.sampleCount) : undefined;
  const fixedB = o.sampleCount > 0 ? await loader.fixedImages('B', o.sampleCount) : undefined;

  const progress: ProgressReporter = createProgress({ mode: hooks.progress ?? 'auto', start: startStep, total: o.iterations, log });
  let lastSaved = resumeFrom?.dir ?? '';
  let lastSavedStep = startStep;
  const save = async (step: number) => {
    const dir = path.join(outDir, CHECKPOINTS_DIR, checkpointDirName(step));
    let state: UgatitState = {};
    if (pool) state = await pool.readState();
    else for (const n of NETWORKS) state[n] = await nets[n].readStateDict();
    await saveCheckpoint(dir, {
      config: checkpointConfig(o, step, dataHash, { ...initSource, workers, effectiveBatch }),
      state,
      optimizer: optimizerTensors(await opt.optG.readState(), await opt.optD.readState()),
    });
    lastSaved = dir;
    lastSavedStep = step;
    if (o.keepCheckpoints > 0) {
      const all = await listCheckpoints(outDir);
      for (const old of all.slice(0, Math.max(0, all.length - o.keepCheckpoints))) await rm(old.dir, { recursive: true, force: true });
    }
    progress.note(`saved checkpoint ${dir}`);
  };
  const sample = async (step: number) => {
    if (fixedA && fixedB && fixedA.paths.length > 0 && fixedB.paths.length > 0) {
      const png = await renderSampleGrid(nets, fixedA.data, fixedB.data, o.imgSize, `step ${step}`);
      await writeFile(path.join(outDir, SAMPLES_DIR, `step_${String(step).padStart(7, '0')}.png`), png);
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
