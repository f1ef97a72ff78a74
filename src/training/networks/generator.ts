/**
 * ResnetGenerator of the official UGATIT-pytorch code (networks.py), NHWC, with parameters under the
 * official state_dict names. See /shared/reference/ugatit.md §1 for the layer table.
 */
import * as tf from '@tensorflow/tfjs';
import type { StateDict } from '../tensors.ts';
import { AdaILN } from '../layers/ada-iln.ts';
import { camAttention } from '../layers/cam.ts';
import { conv2dHwio } from '../layers/conv2d.ts';
import { ILN } from '../layers/iln.ts';
import { defaultBias, fanIn, kaimingUniformA5 } from '../layers/init.ts';
import { instanceNorm } from '../layers/instance-norm.ts';
import { hwioLayout, type ParamLayout } from '../layers/param-layout.ts';
import { ParamStore } from '../layers/param-store.ts';
import { reflectionPad } from '../layers/reflection-pad.ts';
import { createRng, type Rng } from '../layers/rng.ts';
import { upsampleNearest2x } from '../layers/upsample-nearest.ts';
import { GammaBetaMlp } from './mlp.ts';
import { NetworkError } from '../training.errors.ts';
import type { ApplyOptions, BuildOptions, Generator, GeneratorConfig, GeneratorConfigInput, GeneratorOutput } from './types.ts';
import { assertVariant } from './variant.ts';

function positiveInt(name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new NetworkError('INVALID_CONFIG', `${name} must be an integer ≥ ${min}; received ${JSON.stringify(v)}`, { [name]: v });
  }
  return v;
}

/**
 * Validate and complete a generator configuration (camelCase or checkpoint snake_case).
 * @throws {NetworkError} INVALID_CONFIG, UNSUPPORTED_VARIANT
 */
export function resolveGeneratorConfig(input: GeneratorConfigInput): GeneratorConfig {
  if (input === null || typeof input !== 'object') throw new NetworkError('INVALID_CONFIG', 'generator config must be an object', {});
  const variant = assertVariant(input.variant);
  if (typeof input.light !== 'boolean') throw new NetworkError('INVALID_CONFIG', `light must be a boolean; received ${JSON.stringify(input.light)}`, { light: input.light });
  const imgSize = positiveInt('imgSize', input.imgSize ?? input.img_size, 4);
  if (imgSize % 4 !== 0) throw new NetworkError('INVALID_CONFIG', `imgSize must be a multiple of 4; received ${imgSize}`, { imgSize });
  return {
    variant,
    light: input.light,
    ngf: positiveInt('ngf', input.ngf),
    nBlocks: positiveInt('nBlocks', input.nBlocks ?? input.n_blocks, 0),
    imgSize,
    inputNc: positiveInt('inputNc', input.inputNc ?? 3),
    outputNc: positiveInt('outputNc', input.outputNc ?? 3),
  };
}

/** A bias-free conv weight `[out,in,k,k]` registered under `name` with PyTorch's default init, stored HWIO. */
function convWeight(params: ParamStore, name: string, out: number, inp: number, k: number, rng: Rng): tf.Variable {
  const shape = [out, inp, k, k];
  return params.add(name, shape, () => kaimingUniformA5(shape, rng), true, hwioLayout(shape));
}

/** A 'valid' conv with a stored (HWIO) weight. */
const convStored = (x: tf.Tensor4D, w: tf.Variable, stride = 1): tf.Tensor4D => conv2dHwio(x, w as tf.Tensor as tf.Tensor4D, stride);

interface ResBlock {
  conv1: tf.Variable;
  conv2: tf.Variable;
}

interface AdaBlock extends ResBlock {
  norm1: AdaILN;
  norm2: AdaILN;
}

class ResnetGenerator implements Generator {
  readonly kind = 'generator' as const;
  private readonly params: ParamStore;
  private readonly down: tf.Variable[] = [];
  private readonly encoderBlocks: ResBlock[] = [];
  private readonly cam: { gap: tf.Variable; gmp: tf.Variable; conv: tf.Variable; bias: tf.Variable };
  private readonly mlp: GammaBetaMlp;
  private readonly decoderBlocks: AdaBlock[] = [];
  private readonly up: Array<{ conv: tf.Variable; norm: ILN }> = [];
  private readonly outConv: tf.Variable;
  private disposed = false;

  constructor(readonly config: GeneratorConfig, weights: StateDict | undefined, opts: BuildOptions) {
    const { ngf, nBlocks, light, imgSize, inputNc, outputNc } = config;
    const rng = opts.rng ?? createRng(opts.seed);
    const params = new ParamStore(opts.label ?? 'generator', weights);
    this.params = params;
    try {
      // Encoder: DownBlock.{1,5,9} convs, then ResnetBlocks at DownBlock.12, 13, …
      this.down.push(convWeight(params, 'DownBlock.1.weight', ngf, inputNc, 7, rng));
      this.down.push(convWeight(params, 'DownBlock.5.weight', ngf * 2, ngf, 3, rng));
      this.down.push(convWeight(params, 'DownBlock.9.weight', ngf * 4, ngf * 2, 3, rng));
      const c = ngf * 4;
      for (let i = 0; i < nBlocks; i++) {
        const p = `DownBlock.${12 + i}.conv_block`;
        this.encoderBlocks.push({ conv1: convWeight(params, `${p}.1.weight`, c, c, 3, rng), conv2: convWeight(params, `${p}.5.weight`, c, c, 3, rng) });
      }
      // CAM: two separate bias-free Linear(C→1), then Conv1×1 2C→C with bias
      const gap = params.add('gap_fc.weight', [1, c], () => kaimingUniformA5([1, c], rng));
      const gmp = params.add('gmp_fc.weight', [1, c], () => kaimingUniformA5([1, c], rng));
      const conv = convWeight(params, 'conv1x1.weight', c, 2 * c, 1, rng);
      const bias = params.add('conv1x1.bias', [c], () => defaultBias(c, fanIn([c, 2 * c, 1, 1]), rng));
      this.cam = { gap, gmp, conv, bias };
      this.mlp = new GammaBetaMlp(params, c, light, imgSize / 4, rng);
      for (let i = 0; i < nBlocks; i++) {
        const p = `UpBlock1_${i + 1}`;
        const conv1 = convWeight(params, `${p}.conv1.weight`, c, c, 3, rng);
        const norm1 = new AdaILN(params, `${p}.norm1`, c);
        const conv2 = convWeight(params, `${p}.conv2.weight`, c, c, 3, rng);
        const norm2 = new AdaILN(params, `${p}.norm2`, c);
        this.decoderBlocks.push({ conv1, conv2, norm1, norm2 });
      }
      // UpBlock2: [Upsample, RPad, Conv (2), ILN (3), ReLU] ×2 at offsets 0 and 5, then RPad, Conv (11), Tanh
      for (let i = 0; i < 2; i++) {
        const inC = ngf * 2 ** (2 - i);
        const conv = convWeight(params, `UpBlock2.${2 + 5 * i}.weight`, inC / 2, inC, 3, rng);
        this.up.push({ conv, norm: new ILN(params, `UpBlock2.${3 + 5 * i}`, inC / 2) });
      }
      this.outConv = convWeight(params, 'UpBlock2.11.weight', outputNc, ngf, 7, rng);
      params.checkNoExtraWeights();
    } catch (err) {
      params.dispose();
      throw err;
    }
  }

  apply(x: tf.Tensor4D, _opts: ApplyOptions = {}): GeneratorOutput {
    this.checkInput(x);
    return tf.tidy(() => {
      let h = x;
      // encoder
      h = tf.relu(instanceNorm(convStored(reflectionPad(h, 3), this.down[0], 1)));
      h = tf.relu(instanceNorm(convStored(reflectionPad(h, 1), this.down[1], 2)));
      h = tf.relu(instanceNorm(convStored(reflectionPad(h, 1), this.down[2], 2)));
      for (const blk of this.encoderBlocks) {
        const r = tf.relu(instanceNorm(convStored(reflectionPad(h, 1), blk.conv1)));
        h = tf.add(h, instanceNorm(convStored(reflectionPad(r, 1), blk.conv2)));
      }
      const { gap, gmp, conv, bias } = this.cam;
      const cam = camAttention(h, { gapLogit: gap, gmpLogit: gmp, gapScale: gap, gmpScale: gmp, conv1x1Weight: conv, conv1x1Bias: bias }, (t) => tf.relu(t));
      const { gamma, beta } = this.mlp.apply(cam.features);
      h = cam.features;
      for (const blk of this.decoderBlocks) {
        const r = tf.relu(blk.norm1.apply(convStored(reflectionPad(h, 1), blk.conv1), gamma, beta));
        h = tf.add(h, blk.norm2.apply(convStored(reflectionPad(r, 1), blk.conv2), gamma, beta));
      }
      for (const u of this.up) h = tf.relu(u.norm.apply(convStored(reflectionPad(upsampleNearest2x(h), 1), u.conv)));
      const image = tf.tanh(convStored(reflectionPad(h, 3), this.outConv)) as tf.Tensor4D;
      return { image, camLogit: cam.camLogit, heatmap: cam.heatmap };
    });
  }

  private checkInput(x: tf.Tensor4D): void {
    if (this.disposed) throw new NetworkError('DISPOSED', 'generator was disposed', {});
    const { inputNc, light, imgSize } = this.config;
    if (x.rank !== 4 || x.shape[3] !== inputNc) {
      throw new NetworkError('INPUT_SHAPE', `generator input must be NHWC [B,H,W,${inputNc}]; received [${x.shape}]`, { shape: x.shape });
    }
    const [, h, w] = x.shape;
    if (h % 4 !== 0 || w % 4 !== 0 || h < 8 || w < 8) {
      throw new NetworkError('INPUT_SHAPE', `generator input H and W must be multiples of 4 and ≥ 8; received ${h}×${w}`, { shape: x.shape });
    }
    if (!light && (h !== imgSize || w !== imgSize)) {
      throw new NetworkError('INPUT_SHAPE', `a full-mode generator only takes ${imgSize}×${imgSize} input; received ${h}×${w}`, { shape: x.shape, imgSize });
    }
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

  clipRho(min = 0, max = 1): void {
    for (const [name, v] of this.params.trainableVariables()) {
      if (name.endsWith('.rho')) tf.tidy(() => v.assign(tf.clipByValue(v, min, max)));
    }
  }

  dispose(): void {
    this.params.dispose();
    this.disposed = true;
  }
}

/**
 * Build an official-PyTorch-style ResnetGenerator.
 * @param cfg - ngf, n_blocks, img_size, light (and variant, only `pytorch`)
 * @param weights - the official state_dict of one generator (e.g. `(await readTorchCheckpoint(f)).genA2B`);
 *   without it, parameters get PyTorch's default initialisation from a seedable RNG.
 * @throws {NetworkError} INVALID_CONFIG, UNSUPPORTED_VARIANT, MISSING_TENSOR, UNEXPECTED_TENSOR, SHAPE_MISMATCH
 */
export function createGenerator(cfg: GeneratorConfigInput, weights?: StateDict, opts: BuildOptions = {}): Generator {
  return new ResnetGenerator(resolveGeneratorConfig(cfg), weights, opts);
}
