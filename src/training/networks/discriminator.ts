/**
 * Discriminator of the official UGATIT-pytorch code (networks.py), NHWC, spectral-normalised, with
 * parameters under the official names (`model.{1,4,7,…}.weight_orig|weight_u|weight_v|bias`,
 * `gap_fc.*`, `gmp_fc.*`, `conv1x1.*`, `conv.*`). Global: nLayers = 7, local: nLayers = 5.
 */
import * as tf from '@tensorflow/tfjs';
import type { StateDict } from '../tensors.ts';
import { camAttention } from '../layers/cam.ts';
import { defaultBias, fanIn, kaimingUniformA5 } from '../layers/init.ts';
import { hwioLayout, type ParamLayout } from '../layers/param-layout.ts';
import { ParamStore } from '../layers/param-store.ts';
import { reflectionPad } from '../layers/reflection-pad.ts';
import { createRng } from '../layers/rng.ts';
import { SpectralNorm } from '../layers/spectral-norm.ts';
import { NetworkError } from '../training.errors.ts';
import type { ApplyOptions, BuildOptions, Discriminator, DiscriminatorConfig, DiscriminatorOutput, Variant } from './types.ts';
import { assertVariant } from './variant.ts';

const leaky = (t: tf.Tensor4D): tf.Tensor4D => tf.leakyRelu(t, 0.2);

interface SnConv {
  sn: SpectralNorm;
  bias?: tf.Variable;
  stride: number;
}

class PatchDiscriminator implements Discriminator {
  readonly kind = 'discriminator' as const;
  private readonly params: ParamStore;
  private readonly body: SnConv[] = [];
  private readonly gap: SpectralNorm;
  private readonly gmp: SpectralNorm;
  private readonly conv1x1: { weight: tf.Variable; bias: tf.Variable };
  private readonly last: SpectralNorm;
  private disposed = false;

  constructor(readonly config: Required<DiscriminatorConfig> & { variant: Variant }, weights: StateDict | undefined, opts: BuildOptions) {
    const { ndf, nLayers, inputNc } = config;
    const rng = opts.rng ?? createRng(opts.seed);
    const params = new ParamStore(opts.label ?? 'discriminator', weights);
    this.params = params;
    try {
      // model = [RPad, SNConv, LReLU] per conv, so convs sit at indices 1, 4, 7, …
      const conv = (index: number, inC: number, outC: number, stride: number): void => {
        const shape = [outC, inC, 4, 4];
        const sn = new SpectralNorm(params, `model.${index}`, shape, () => kaimingUniformA5(shape, rng), rng);
        const bias = params.add(`model.${index}.bias`, [outC], () => defaultBias(outC, fanIn(shape), rng));
        this.body.push({ sn, bias, stride });
      };
      conv(1, inputNc, ndf, 2);
      for (let i = 1; i < nLayers - 2; i++) conv(1 + 3 * i, ndf * 2 ** (i - 1), ndf * 2 ** i, 2);
      const c = ndf * 2 ** (nLayers - 2); // CAM width: one more doubling by the stride-1 conv
      conv(1 + 3 * (nLayers - 2), c / 2, c, 1);
      this.gap = new SpectralNorm(params, 'gap_fc', [1, c], () => kaimingUniformA5([1, c], rng), rng);
      this.gmp = new SpectralNorm(params, 'gmp_fc', [1, c], () => kaimingUniformA5([1, c], rng), rng);
      const w1 = [c, 2 * c, 1, 1];
      const weight = params.add('conv1x1.weight', w1, () => kaimingUniformA5(w1, rng), true, hwioLayout(w1));
      const bias = params.add('conv1x1.bias', [c], () => defaultBias(c, fanIn(w1), rng));
      this.conv1x1 = { weight, bias };
      this.last = new SpectralNorm(params, 'conv', [1, c, 4, 4], () => kaimingUniformA5([1, c, 4, 4], rng), rng);
      params.checkNoExtraWeights();
    } catch (err) {
      params.dispose();
      throw err;
    }
  }

  apply(x: tf.Tensor4D, opts: ApplyOptions = {}): DiscriminatorOutput {
    if (this.disposed) throw new NetworkError('DISPOSED', 'discriminator was disposed', {});
    const training = opts.training ?? false;
    const { inputNc, nLayers } = this.config;
    const minSize = 2 ** (nLayers - 2) * 2; // enough for every stride-2 conv and the two 4×4 stride-1 convs
    if (x.rank !== 4 || x.shape[3] !== inputNc || x.shape[1] < minSize || x.shape[2] < minSize) {
      throw new NetworkError('INPUT_SHAPE', `discriminator input must be NHWC [B,H,W,${inputNc}] with H,W ≥ ${minSize}; received [${x.shape}]`, { shape: x.shape });
    }
    return tf.tidy(() => {
      let h = x;
      for (const l of this.body) h = leaky(tf.add(l.sn.conv(reflectionPad(h, 1), l.stride, training), l.bias!));
      const cam = camAttention(
        h,
        {
          gapLogit: this.gap.weight(training),
          gmpLogit: this.gmp.weight(training),
          // the official code reweights with parameters()[0], i.e. the raw weight_orig
          gapScale: this.gap.weightOrig,
          gmpScale: this.gmp.weightOrig,
          conv1x1Weight: this.conv1x1.weight,
          conv1x1Bias: this.conv1x1.bias,
        },
        leaky,
      );
      const patch = this.last.conv(reflectionPad(cam.features, 1), 1, training);
      return { patch, camLogit: cam.camLogit, heatmap: cam.heatmap };
    });
  }

  trainableVariables(): Map<string, tf.Variable> {
    return this.params.trainableVariables();
  }

  paramLayouts(): ReadonlyMap<string, ParamLayout> {
    return this.params.layouts();
  }

  stateDict(): StateDict {
    return this.params.stateDict();
  }

  readStateDict(): Promise<StateDict> {
    return this.params.readStateDict();
  }

  loadStateDict(sd: StateDict): void {
    this.params.load(sd);
  }

  dispose(): void {
    this.params.dispose();
    this.disposed = true;
  }
}

/**
 * Build an official-PyTorch-style spectral-normalised discriminator.
 * @param cfg - ndf (64 officially), nLayers (7 global / 5 local), inputNc (3)
 * @param weights - the official state_dict of one discriminator (incl. weight_u/weight_v buffers)
 * @throws {NetworkError} INVALID_CONFIG, UNSUPPORTED_VARIANT, MISSING_TENSOR, UNEXPECTED_TENSOR, SHAPE_MISMATCH
 */
export function createDiscriminator(cfg: DiscriminatorConfig, weights?: StateDict, opts: BuildOptions = {}): Discriminator {
  if (cfg === null || typeof cfg !== 'object') throw new NetworkError('INVALID_CONFIG', 'discriminator config must be an object', {});
  const variant = assertVariant(cfg.variant);
  const check = (name: string, v: unknown, min: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new NetworkError('INVALID_CONFIG', `${name} must be an integer ≥ ${min}; received ${JSON.stringify(v)}`, { [name]: v });
    }
    return v;
  };
  const resolved = { variant, ndf: check('ndf', cfg.ndf, 1), nLayers: check('nLayers', cfg.nLayers, 3), inputNc: check('inputNc', cfg.inputNc ?? 3, 1) };
  return new PatchDiscriminator(resolved, weights, opts);
}
