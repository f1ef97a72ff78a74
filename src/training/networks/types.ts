/**
 * Public shapes of the U-GAT-IT networks. Everything is NHWC on the tfjs side; weights are named and
 * laid out as the official UGATIT-pytorch state_dict.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ParamLayout } from '../layers/param-layout.ts';
import type { StateDict } from '../tensors.ts';
import type { Rng } from '../layers/rng.ts';

/**
 * Which official code a network follows. Only `pytorch` (znxlwm/UGATIT-pytorch) exists; `tensorflow`
 * (taki0112/UGATIT: biases, affine IN, shared CAM FC, biased variance) would be added here and
 * branched on in {@link assertVariant}'s callers.
 */
export type Variant = 'pytorch';

/** Generator hyperparameters (official names: ngf, n_blocks, img_size, light). */
export interface GeneratorConfig {
  variant: Variant;
  light: boolean;
  ngf: number;
  nBlocks: number;
  /** Full mode only works at this size; light mode takes any multiple of 4. */
  imgSize: number;
  inputNc: number;
  outputNc: number;
}

/**
 * What {@link createGenerator} accepts: camelCase or the checkpoint's snake_case
 * (`n_blocks`, `img_size`), variant defaulting to `pytorch`, channels to 3.
 */
export interface GeneratorConfigInput {
  variant?: string;
  light: boolean;
  ngf: number;
  nBlocks?: number;
  n_blocks?: number;
  imgSize?: number;
  img_size?: number;
  inputNc?: number;
  outputNc?: number;
}

/** Discriminator hyperparameters: global = 7 layers, local = 5 layers. */
export interface DiscriminatorConfig {
  variant?: string;
  ndf: number;
  nLayers: number;
  inputNc?: number;
}

/** Forward options. */
export interface ApplyOptions {
  /** Discriminators: one spectral-norm power iteration per call, u/v updated (generators: no effect). */
  training?: boolean;
}

/** Construction options. */
export interface BuildOptions {
  /** Seed of the initialiser when no weights are given (ignored when `rng` is set). */
  seed?: number;
  /** Share one random stream across several networks (the trainer's `--seed`). */
  rng?: Rng;
  /** Readable label of the tfjs variables (e.g. `genA2B`). */
  label?: string;
}

/** Generator outputs, NHWC. */
export interface GeneratorOutput {
  /** `[B,H,W,outputNc]` in (−1,1). */
  image: tf.Tensor4D;
  /** `[B,2]` raw logits (GAP, GMP). */
  camLogit: tf.Tensor2D;
  /** `[B,H/4,W/4,1]` unnormalised channel sum after CAM. */
  heatmap: tf.Tensor4D;
}

/** Discriminator outputs, NHWC. */
export interface DiscriminatorOutput {
  /** `[B,h,w,1]` patch logits (no sigmoid; LSGAN). */
  patch: tf.Tensor4D;
  camLogit: tf.Tensor2D;
  heatmap: tf.Tensor4D;
}

/** What both network kinds share. */
export interface Network {
  /**
   * The optimiser's parameters, keyed by official name, as stored: PyTorch layout except those in
   * {@link Network.paramLayouts} (conv weights, kept HWIO), so their gradients are stored-layout too.
   */
  trainableVariables(): Map<string, tf.Variable>;
  /** The parameters and buffers stored in another layout than PyTorch's, with their conversions. */
  paramLayouts(): ReadonlyMap<string, ParamLayout>;
  /** Every parameter and buffer (incl. spectral-norm u/v), copied out in PyTorch layout. */
  stateDict(): StateDict;
  /** The same, read back asynchronously: the only form GPU backends (webgpu) support in Node. */
  readStateDict(): Promise<StateDict>;
  /** Overwrite every parameter and buffer; names and shapes must match exactly (else nothing changes). */
  loadStateDict(sd: StateDict): void;
  /** Free all variables; the network is unusable afterwards. */
  dispose(): void;
}

export interface Generator extends Network {
  readonly kind: 'generator';
  readonly config: GeneratorConfig;
  apply(x: tf.Tensor4D, opts?: ApplyOptions): GeneratorOutput;
  /** RhoClipper: clamp every ρ (AdaILN and ILN) into [min, max]; the official trainer uses [0, 1]. */
  clipRho(min?: number, max?: number): void;
}

export interface Discriminator extends Network {
  readonly kind: 'discriminator';
  readonly config: Required<DiscriminatorConfig> & { variant: Variant };
  apply(x: tf.Tensor4D, opts?: ApplyOptions): DiscriminatorOutput;
}
