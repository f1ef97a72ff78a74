/**
 * Where a training run starts: fresh (seeded initialisation), from `--init` (our checkpoint or an
 * official .pt file), or resumed from the newest checkpoint of its run dir. run.json is read once per
 * run ({@link planStart}); the options that define the model and data stream must match it.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { loadCheckpoint } from '../checkpoint.ts';
import { hashInts, RNG_PURPOSE } from '../data/rng.ts';
import { createDiscriminator, createGenerator } from '../networks/index.ts';
import { expectedDiscriminatorShapes, expectedGeneratorShapes } from '../networks/shapes.ts';
import type { AdamState } from '../optimizer.ts';
import { NETWORK_NAMES, type StateDict, type UgatitState } from '../tensors.ts';
import { readTorchCheckpoint } from '../torch-import/index.ts';
import { TrainingError } from '../training.errors.ts';
import { ARCHITECTURE_KEYS, type TrainOptions } from './options.ts';
import { adamStateFrom } from './optimizer-state.ts';
import { assertRunDirFree, CHECKPOINTS_DIR, listCheckpoints, readRunFile, type RunFile } from './run-dir.ts';
import type { UgatitNetworks } from './train-step.ts';

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

/** What {@link planStart} found: the run file and checkpoint to resume from (resume), or neither (fresh run). */
export type StartPlan = { resume: true; run: RunFile; from: { step: number; dir: string } } | { resume: false };

/**
 * Check, before anything is written, that the run can start as asked: a fresh run needs a free run
 * dir; a resume needs run.json (read here, once) with matching architecture and a complete checkpoint.
 * @throws {TrainingError} RUN_DIR_IN_USE, RESUME_FAILED
 */
export async function planStart(o: TrainOptions, outDir: string, resume: boolean): Promise<StartPlan> {
  if (!resume) {
    await assertRunDirFree(outDir);
    return { resume: false };
  }
  const run = await readRunFile(outDir);
  if (o.workers === 'auto') o.workers = run.options.workers; // the effective batch must stay
  for (const key of ARCHITECTURE_KEYS) {
    if (run.options[key] !== o[key]) {
      throw new TrainingError('RESUME_FAILED', `cannot resume: ${key} is ${JSON.stringify(o[key])} but the run used ${JSON.stringify(run.options[key])}`, { key });
    }
  }
  const cks = await listCheckpoints(outDir);
  const from = cks[cks.length - 1];
  if (!from) throw new TrainingError('RESUME_FAILED', `cannot resume: ${path.join(outDir, CHECKPOINTS_DIR)} holds no complete checkpoint`, { outDir });
  return { resume: true, run, from };
}

/**
 * Build the six networks: from `state` where it has a network, else freshly initialised from a
 * stream derived from the seed (so two runs with one seed start identical).
 */
export function buildNetworks(o: TrainOptions, state: UgatitState = {}): UgatitNetworks {
  const built: Partial<UgatitNetworks> = {};
  try {
    NETWORK_NAMES.forEach((name, i) => {
      const seed = hashInts(o.seed, RNG_PURPOSE.init, i);
      const w: StateDict | undefined = state[name];
      if (name.startsWith('gen')) {
        (built as Record<string, unknown>)[name] = createGenerator({ light: o.light, ngf: o.ngf, n_blocks: o.nRes, img_size: o.imgSize }, w, { seed, label: name });
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

/** Every tensor the six networks of `o` will have, `<network>.<name>` with its shape, from the shape table (nothing is allocated). */
export function modelShapes(o: TrainOptions): Array<[string, number[]]> {
  return NETWORK_NAMES.flatMap((name) => {
    const shapes = name.startsWith('gen')
      ? expectedGeneratorShapes({ light: o.light, ngf: o.ngf, n_blocks: o.nRes, img_size: o.imgSize })
      : expectedDiscriminatorShapes(o.ndf, name.startsWith('disG') ? o.disLayersGlobal : o.disLayersLocal);
    return [...shapes].map(([k, shape]): [string, number[]] => [`${name}.${k}`, shape]);
  });
}

/** Read `--init`: our checkpoint dir, or an official UGATIT-pytorch .pt file. */
async function readInit(file: string): Promise<{ state: UgatitState; source: Record<string, unknown> }> {
  try {
    const s = await stat(file);
    if (s.isDirectory()) {
      const ck = await loadCheckpoint(file);
      return { state: ck.state, source: { init: file, initStep: ck.config.step } };
    }
    return { state: await readTorchCheckpoint(file, { require: [] }), source: { init: file } };
  } catch (err) {
    throw new TrainingError('INIT_FAILED', `cannot read --init ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
}

/** The networks, optimizer state and step a run starts from. */
export interface StartState {
  nets: UgatitNetworks;
  adam?: { G: AdamState; D: AdamState };
  startStep: number;
  /** Recorded in every checkpoint's config (`resumedFrom`, or `init` and `initStep`). */
  initSource: Record<string, unknown>;
}

/**
 * Load what {@link planStart} decided: the resumed checkpoint (weights and Adam moments), the `--init`
 * weights, or fresh networks.
 * @throws {TrainingError} RESUME_FAILED (no optimizer state, or already at the last step), INIT_FAILED
 */
export async function loadStartState(o: TrainOptions, plan: StartPlan): Promise<StartState> {
  let state: StartState;
  if (plan.resume) {
    const ck = await loadCheckpoint(plan.from.dir);
    if (!ck.optimizer) throw new TrainingError('RESUME_FAILED', `cannot resume exactly: ${plan.from.dir} has no optimizer state`, { dir: plan.from.dir });
    state = {
      nets: buildNetworks(o, ck.state),
      adam: { G: adamStateFrom(ck.optimizer, 'G'), D: adamStateFrom(ck.optimizer, 'D') },
      startStep: ck.config.step,
      initSource: { resumedFrom: plan.from.dir },
    };
  } else if (o.init) {
    const init = await readInit(o.init);
    let nets: UgatitNetworks;
    try {
      nets = buildNetworks(o, init.state);
    } catch (err) {
      throw new TrainingError('INIT_FAILED', `--init ${o.init} does not fit this configuration: ${(err as Error).message}`, { file: o.init }, { cause: err });
    }
    state = { nets, startStep: 0, initSource: init.source };
  } else {
    state = { nets: buildNetworks(o), startStep: 0, initSource: {} };
  }
  if (state.startStep >= o.iterations) {
    for (const n of Object.values(state.nets)) n.dispose();
    throw new TrainingError('RESUME_FAILED', `the run is already at step ${state.startStep} of ${o.iterations}; pass a larger --iterations to continue`, { step: state.startStep });
  }
  return state;
}
