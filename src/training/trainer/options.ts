/**
 * Training options: defaults (the official trainer's where it has one), validation with clear
 * errors, and the geometry checks that refuse an image size the chosen networks cannot take.
 */
import type { BackendPreference } from '../backend.ts';
import { TrainingError } from '../training.errors.ts';

/** Everything a run is configured by. Names follow the CLI flags. */
export interface TrainOptions {
  /** Dataset dir with trainA/ trainB/ (testA/ testB/ optional). */
  dataDir: string;
  /** Run dir: checkpoints, samples, losses.jsonl, loss-curve.png, run.json. */
  outDir: string;
  light: boolean;
  imgSize: number;
  ngf: number;
  /** Discriminator base width; the official trainer uses `--ch` for both (= ngf). */
  ndf: number;
  nRes: number;
  disLayersGlobal: number;
  disLayersLocal: number;
  iterations: number;
  batch: number;
  lr: number;
  weightDecay: number;
  /** Linear decay to 0 over the second half (official `decay_flag`). */
  decay: boolean;
  seed: number;
  saveEvery: number;
  sampleEvery: number;
  /** How many fixed test images per domain the sample grid shows. */
  sampleCount: number;
  /** Keep only this many newest checkpoints (0 = keep all). */
  keepCheckpoints: number;
  samplingWeights?: string;
  backend: BackendPreference;
  /** Official flip + resize(img+30) + random crop. */
  augment: boolean;
  /** Steps of data prepared ahead. */
  prefetch: number;
  /** Fine-tune from this checkpoint (our format dir, or an official .pt file). */
  init?: string;
  /** Per-discriminator / per-domain gradient tapes (half the peak memory); auto = on for wasm. */
  lowMemory: 'auto' | 'on' | 'off';
}

/** The official defaults (main.py), except where noted in docs/training.md. */
export const DEFAULT_TRAIN_OPTIONS: Omit<TrainOptions, 'dataDir' | 'outDir'> = {
  light: false,
  imgSize: 256,
  ngf: 64,
  ndf: 64,
  nRes: 4,
  disLayersGlobal: 7,
  disLayersLocal: 5,
  iterations: 1_000_000,
  batch: 1,
  lr: 1e-4,
  weightDecay: 1e-4,
  decay: true,
  seed: 0,
  saveEvery: 1000,
  sampleEvery: 1000,
  sampleCount: 5,
  keepCheckpoints: 3,
  backend: 'auto',
  augment: true,
  prefetch: 3,
  lowMemory: 'auto',
};

/** Whether a run on backend `backendName` uses the low-memory train step. */
export function useLowMemory(mode: TrainOptions['lowMemory'], backendName: string): boolean {
  return mode === 'on' || (mode === 'auto' && backendName === 'wasm');
}

/** Options that define the model and the data stream; a resumed run must keep them. */
export const ARCHITECTURE_KEYS = [
  'light',
  'imgSize',
  'ngf',
  'ndf',
  'nRes',
  'disLayersGlobal',
  'disLayersLocal',
  'batch',
  'lr',
  'weightDecay',
  'decay',
  'seed',
  'augment',
] as const satisfies readonly (keyof TrainOptions)[];

/**
 * Spatial size of a discriminator's patch output for an input of `size`, or null when the layer
 * stack shrinks the map below what its reflection pads and 4×4 convs need. The stack is
 * (n_layers − 2) × [RPad 1, conv 4 stride 2], then [RPad 1, conv 4 stride 1], CAM (1×1), then the
 * final [RPad 1, conv 4 stride 1]; a reflection pad of 1 needs a map of at least 2.
 */
export function discriminatorPatchSize(size: number, nLayers: number): number | null {
  let s = size;
  for (let i = 0; i < nLayers - 2; i++) {
    if (s < 2) return null;
    s = Math.floor((s + 2 - 4) / 2) + 1;
  }
  for (let i = 0; i < 2; i++) {
    if (s < 2) return null;
    s = s + 2 - 4 + 1;
  }
  return s >= 1 ? s : null;
}

/** The smallest multiple of 4 a discriminator with `nLayers` accepts. */
export function minImageSize(nLayers: number): number {
  for (let s = 4; s <= 1 << 20; s += 4) if (discriminatorPatchSize(s, nLayers) !== null) return s;
  throw new RangeError(`no image size works with ${nLayers} discriminator layers`);
}

function invalid(message: string, details: Record<string, unknown>): never {
  throw new TrainingError('OPTION_INVALID', message, details);
}

function checkInt(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    invalid(`--${name} must be an integer from ${min} to ${max}; received ${JSON.stringify(v)}`, { option: name, value: v });
  }
}

function checkNumber(name: string, v: number, min: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    invalid(`--${name} must be a number ≥ ${min}; received ${JSON.stringify(v)}`, { option: name, value: v });
  }
}

/**
 * Fill defaults and validate.
 * @throws {TrainingError} OPTION_INVALID for out-of-range values; IMG_SIZE_INVALID when the image size
 *   is not a multiple of 4, or is too small for the generator or the chosen discriminator depths.
 */
export function resolveTrainOptions(input: Partial<TrainOptions> & Pick<TrainOptions, 'dataDir' | 'outDir'>): TrainOptions {
  const o: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as TrainOptions;
  if (typeof o.dataDir !== 'string' || o.dataDir === '') invalid('--data must name the dataset dir', { option: 'data' });
  if (typeof o.outDir !== 'string' || o.outDir === '') invalid('--out must name the run dir', { option: 'out' });
  checkInt('ngf', o.ngf, 1, 1024);
  checkInt('ndf', o.ndf, 1, 1024);
  checkInt('n-res', o.nRes, 0, 64);
  checkInt('dis-layers-global', o.disLayersGlobal, 3, 12);
  checkInt('dis-layers-local', o.disLayersLocal, 3, 12);
  checkInt('iterations', o.iterations, 1);
  checkInt('batch', o.batch, 1, 1024);
  checkNumber('lr', o.lr, 0);
  checkNumber('weight-decay', o.weightDecay, 0);
  checkInt('seed', o.seed, 0, 2 ** 32 - 1);
  checkInt('save-every', o.saveEvery, 1);
  checkInt('sample-every', o.sampleEvery, 1);
  checkInt('sample-count', o.sampleCount, 0, 64);
  checkInt('keep-checkpoints', o.keepCheckpoints, 0);
  checkInt('prefetch', o.prefetch, 0, 64);
  checkInt('img-size', o.imgSize, 1, 4096);
  if (!['auto', 'on', 'off'].includes(o.lowMemory)) invalid(`--low-memory must be auto, on or off; received ${JSON.stringify(o.lowMemory)}`, { option: 'low-memory' });
  if (o.imgSize % 4 !== 0 || o.imgSize < 8) {
    throw new TrainingError('IMG_SIZE_INVALID', `--img-size must be a multiple of 4 and at least 8 (the generator downsamples twice); received ${o.imgSize}`, {
      imgSize: o.imgSize,
    });
  }
  for (const [flag, layers] of [
    ['dis-layers-global', o.disLayersGlobal],
    ['dis-layers-local', o.disLayersLocal],
  ] as const) {
    if (discriminatorPatchSize(o.imgSize, layers) === null) {
      const min = minImageSize(layers);
      throw new TrainingError(
        'IMG_SIZE_INVALID',
        `--img-size ${o.imgSize} is too small for a ${layers}-layer discriminator (--${flag}): its ${layers - 2} stride-2 convolutions shrink the map below what the last 4×4 convolutions need; use --img-size ≥ ${min} or fewer layers`,
        { imgSize: o.imgSize, option: flag, layers, minImgSize: min },
      );
    }
  }
  return o;
}
