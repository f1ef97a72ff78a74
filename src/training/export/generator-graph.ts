/**
 * The U-GAT-IT ResnetGenerator (official PyTorch variant) as an ONNX graph, built straight from a generator
 * StateDict in PyTorch layout. NCHW is ONNX's native layout, so every weight goes in as it is, under its
 * official name. The graph honours the generator contract (src/shared/generator-contract.ts): input `input` [N,3,H,W];
 * outputs `output` [N,3,H,W], `cam_logit` [N,2], `heatmap` [N,1,H/4,W/4]; dynamic batch (and, in light
 * mode, dynamic H and W).
 *
 * ILN and AdaILN are decomposed (ReduceMean, Sub, Mul, Sqrt, Div) with the unbiased-variance correction
 * N/(N−1) of `torch.var`, N computed from the runtime shape; only the encoder's affine-free IN, whose
 * variance is biased in PyTorch too, uses InstanceNormalization.
 */
import { numel, type NamedTensor, type StateDict } from '../tensors.ts';
import { expectedGeneratorShapes as officialGeneratorShapes } from '../networks/shapes.ts';
import { ExportError } from '../training.errors.ts';
import { float32ToHalf } from './fp16.ts';
import { attr, DataType, GraphBuilder, type Dim } from './graph-builder.ts';

/** The hyperparameters that fix a generator's graph. */
export interface GeneratorGraphConfig {
  /** Only `pytorch` is implemented; `tensorflow` (biases, affine IN, shared CAM FC, biased variance) is planned. */
  variant: 'pytorch' | 'tensorflow';
  light: boolean;
  ngf: number;
  n_blocks: number;
  img_size: number;
}

/** Options of {@link buildGeneratorGraph}. */
export interface GeneratorGraphOptions {
  /** Store weights as float16 and Cast them to float32 inside the graph (I/O stays float32). */
  fp16?: boolean;
}

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
const EPS = 1e-5;
/** Protobuf messages above 2 GiB cannot be encoded or parsed. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Every parameter of the official generator with its PyTorch shape (the importer's list: one source of truth). */
export function expectedGeneratorShapes(cfg: GeneratorGraphConfig): Map<string, number[]> {
  return officialGeneratorShapes({ light: cfg.light, ngf: cfg.ngf, n_blocks: cfg.n_blocks, img_size: cfg.img_size });
}

/** Check the hyperparameters: supported variant, positive integers, img_size a multiple of 4. */
export function validateGeneratorConfig(cfg: GeneratorGraphConfig): void {
  if (cfg.variant !== 'pytorch') {
    throw new ExportError('UNSUPPORTED_VARIANT', `variant "${cfg.variant}" is not supported yet (only "pytorch")`, {
      variant: cfg.variant,
    });
  }
  for (const [k, v] of Object.entries({ ngf: cfg.ngf, n_blocks: cfg.n_blocks, img_size: cfg.img_size })) {
    if (!Number.isInteger(v) || v < 1) throw new ExportError('BAD_OPTION', `${k} must be a positive integer, got ${v}`);
  }
  if (cfg.img_size % 4 !== 0) {
    throw new ExportError('BAD_OPTION', `img_size must be a multiple of 4, got ${cfg.img_size}`, { img_size: cfg.img_size });
  }
}

/** Check that `state` holds the tensors a generator of `cfg` needs, with the right shapes (extra tensors are ignored). */
export function validateGeneratorState(state: StateDict, cfg: GeneratorGraphConfig): void {
  validateGeneratorConfig(cfg);
  for (const [name, shape] of expectedGeneratorShapes(cfg)) {
    const t = state.get(name);
    if (!t) throw new ExportError('MISSING_WEIGHT', `generator weight "${name}" is missing`, { name });
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ExportError(
        'SHAPE_MISMATCH',
        `generator weight "${name}" has shape [${t.shape.join(',')}], expected [${shape.join(',')}]`,
        { name, shape: t.shape, expected: shape },
      );
    }
    if (t.data.length !== numel(shape)) {
      throw new ExportError('SHAPE_MISMATCH', `generator weight "${name}" holds ${t.data.length} values, expected ${numel(shape)}`, {
        name,
      });
    }
  }
}

/** Result of {@link buildGeneratorGraph}. */
export interface GeneratorGraph {
  builder: GraphBuilder;
  /** Bytes of weights stored in the graph. */
  weightBytes: number;
}

/**
 * Build the generator graph. Validates `state` first (typed {@link ExportError} on a missing weight or a
 * wrong shape). Encode it with `builder.toModelBytes(...)`.
 */
export function buildGeneratorGraph(state: StateDict, cfg: GeneratorGraphConfig, opts: GeneratorGraphOptions = {}): GeneratorGraph {
  validateGeneratorConfig(cfg);
  const weightsBytes = [...expectedGeneratorShapes(cfg).values()].reduce((s, sh) => s + numel(sh) * (opts.fp16 ? 2 : 4), 0);
  if (weightsBytes > PROTOBUF_LIMIT - 16 * 1024 * 1024) {
    throw new ExportError(
      'TOO_LARGE',
      `the generator's weights take ${weightsBytes} bytes; an ONNX protobuf must stay under 2 GiB (use light mode, a smaller img_size, or --fp16)`,
      { bytes: weightsBytes },
    );
  }
  validateGeneratorState(state, cfg);
  const g = new GraphBuilder(`ugatit_generator_${cfg.light ? 'light' : 'full'}`);
  const gen = new GeneratorOps(g, state, !!opts.fp16);
  const { ngf, n_blocks: nBlocks, light, img_size: size } = cfg;

  // light mode is fully convolutional apart from global pooling, so H and W may vary; full mode's FC.0 pins them
  const hDim: Dim = light ? 'H' : size;
  const wDim: Dim = light ? 'W' : size;
  let x = g.input('input', DataType.FLOAT, ['N', 3, hDim, wDim]);

  // encoder: stem, two stride-2 downsamplings, n_blocks residual blocks (IN is affine-free, biased variance)
  x = gen.relu(gen.instanceNorm(gen.conv(gen.reflectPad(x, 3), 'DownBlock.1.weight', 1), ngf));
  x = gen.relu(gen.instanceNorm(gen.conv(gen.reflectPad(x, 1), 'DownBlock.5.weight', 2), ngf * 2));
  x = gen.relu(gen.instanceNorm(gen.conv(gen.reflectPad(x, 1), 'DownBlock.9.weight', 2), ngf * 4));
  const c = ngf * 4;
  for (let i = 0; i < nBlocks; i++) {
    const p = `DownBlock.${12 + i}.conv_block`;
    let y = gen.relu(gen.instanceNorm(gen.conv(gen.reflectPad(x, 1), `${p}.1.weight`, 1), c));
    y = gen.instanceNorm(gen.conv(gen.reflectPad(y, 1), `${p}.5.weight`, 1), c);
    x = g.op('Add', [x, y], {}, 'res_add');
  }

  // CAM: separate bias-free GAP and GMP Linears give the logits; their raw weights rescale the channels
  const gapLogit = gen.linear(g.op('Flatten', [g.op('GlobalAveragePool', [x])], { axis: attr.int(1) }), 'gap_fc.weight');
  const gmpLogit = gen.linear(g.op('Flatten', [g.op('GlobalMaxPool', [x])], { axis: attr.int(1) }), 'gmp_fc.weight');
  const camLogit = g.op('Concat', [gapLogit, gmpLogit], { axis: attr.int(1) }, 'cam_concat');
  const perChannel = g.constI64([1, -1, 1, 1], 'shape_1c11');
  const xGap = g.op('Mul', [x, g.op('Reshape', [gen.weight('gap_fc.weight'), perChannel])], {}, 'x_gap');
  const xGmp = g.op('Mul', [x, g.op('Reshape', [gen.weight('gmp_fc.weight'), perChannel])], {}, 'x_gmp');
  x = g.op('Concat', [xGap, xGmp], { axis: attr.int(1) }, 'cam_features');
  x = gen.relu(gen.conv(x, 'conv1x1.weight', 1, 'conv1x1.bias'));
  const heatmap = g.op('ReduceSum', [x, g.constI64([1], 'axes_1')], { keepdims: attr.int(1) }, 'heatmap_sum');

  // γ/β MLP: full mode flattens the bottleneck in (C,H,W) order, light mode global-average-pools it
  let h = light ? g.op('Flatten', [g.op('GlobalAveragePool', [x])], { axis: attr.int(1) }) : g.op('Flatten', [x], { axis: attr.int(1) });
  h = gen.relu(gen.linear(h, 'FC.0.weight'));
  h = gen.relu(gen.linear(h, 'FC.2.weight'));
  const axes23 = g.constI64([2, 3], 'axes_2_3');
  const gamma = g.op('Unsqueeze', [gen.linear(h, 'gamma.weight'), axes23], {}, 'gamma');
  const beta = g.op('Unsqueeze', [gen.linear(h, 'beta.weight'), axes23], {}, 'beta');

  // decoder residual blocks with AdaILN (one γ/β pair shared by all of them)
  for (let i = 1; i <= nBlocks; i++) {
    const p = `UpBlock1_${i}`;
    let y = gen.conv(gen.reflectPad(x, 1), `${p}.conv1.weight`, 1);
    y = gen.relu(gen.affine(gen.layerInstanceNorm(y, `${p}.norm1.rho`), gamma, beta));
    y = gen.conv(gen.reflectPad(y, 1), `${p}.conv2.weight`, 1);
    y = gen.affine(gen.layerInstanceNorm(y, `${p}.norm2.rho`), gamma, beta);
    x = g.op('Add', [x, y], {}, 'res_add');
  }

  // upsampling: nearest ×2, conv, ILN (learned γ, β), ReLU — twice; then the 7×7 output conv and tanh
  for (const [conv, norm] of [
    ['UpBlock2.2.weight', 'UpBlock2.3'],
    ['UpBlock2.7.weight', 'UpBlock2.8'],
  ]) {
    x = gen.upsample2x(x);
    x = gen.conv(gen.reflectPad(x, 1), conv, 1);
    x = gen.relu(gen.affine(gen.layerInstanceNorm(x, `${norm}.rho`), gen.weight(`${norm}.gamma`), gen.weight(`${norm}.beta`)));
  }
  x = g.op('Tanh', [gen.conv(gen.reflectPad(x, 3), 'UpBlock2.11.weight', 1)]);

  const h4: Dim = light ? 'H_div_4' : size / 4;
  const w4: Dim = light ? 'W_div_4' : size / 4;
  g.output('output', x, DataType.FLOAT, ['N', 3, hDim, wDim]);
  g.output('cam_logit', camLogit, DataType.FLOAT, ['N', 2]);
  g.output('heatmap', heatmap, DataType.FLOAT, ['N', 1, h4, w4]);
  return { builder: g, weightBytes: weightsBytes };
}

/** The generator's building blocks as graph fragments; each returns the name of its output tensor. */
class GeneratorOps {
  private readonly added = new Map<string, string>();

  constructor(
    private readonly g: GraphBuilder,
    private readonly state: StateDict,
    private readonly fp16: boolean,
  ) {}

  /** The float32 tensor name of an official weight, adding its initializer (and fp16 Cast) on first use. */
  weight(name: string): string {
    let out = this.added.get(name);
    if (out) return out;
    const t = this.state.get(name) as NamedTensor;
    if (this.fp16) {
      const stored = this.g.initializerF16(`${name}.fp16`, t.shape, float32ToHalf(t.data));
      out = this.g.op('Cast', [stored], { to: attr.int(DataType.FLOAT) }, name);
    } else {
      out = this.g.initializer(name, t.shape, t.data);
    }
    this.added.set(name, out);
    return out;
  }

  reflectPad(x: string, p: number): string {
    return this.g.op('Pad', [x, this.g.constI64([0, 0, p, p, 0, 0, p, p], `pads_${p}`)], { mode: attr.string('reflect') }, 'pad');
  }

  conv(x: string, weightName: string, stride: number, biasName?: string): string {
    const w = this.state.get(weightName) as NamedTensor;
    const inputs = [x, this.weight(weightName)];
    if (biasName) inputs.push(this.weight(biasName));
    return this.g.op(
      'Conv',
      inputs,
      {
        kernel_shape: attr.ints([w.shape[2], w.shape[3]]),
        strides: attr.ints([stride, stride]),
        pads: attr.ints([0, 0, 0, 0]),
      },
      'conv',
    );
  }

  relu(x: string): string {
    return this.g.op('Relu', [x], {}, 'relu');
  }

  /** `x · Wᵀ` for a bias-free Linear with weight `[out, in]`. */
  linear(x: string, weightName: string): string {
    return this.g.op('Gemm', [x, this.weight(weightName)], { transB: attr.int(1) }, 'linear');
  }

  /** Affine-free InstanceNorm2d: biased variance, ε = 1e-5 (matches PyTorch's nn.InstanceNorm2d). */
  instanceNorm(x: string, channels: number): string {
    const scale = this.g.constF32([channels], new Array<number>(channels).fill(1), `in_scale_${channels}`);
    const bias = this.g.constF32([channels], new Array<number>(channels).fill(0), `in_bias_${channels}`);
    return this.g.op('InstanceNormalization', [x, scale, bias], { epsilon: attr.float(EPS) }, 'instance_norm');
  }

  /**
   * The normalisation shared by ILN and AdaILN: ρ·x̂_I + (1−ρ)·x̂_L with instance statistics over (H,W) and
   * layer statistics over (C,H,W), both with the unbiased variance of `torch.var` (÷(N−1)), ε inside the root.
   */
  layerInstanceNorm(x: string, rhoName: string): string {
    const g = this.g;
    const inst = this.normalise(x, [2, 3]);
    const layer = this.normalise(x, [1, 2, 3]);
    const rho = this.weight(rhoName);
    const oneMinusRho = g.op('Sub', [g.constF32([], [1], 'one'), rho], {}, 'one_minus_rho');
    return g.op('Add', [g.op('Mul', [rho, inst], {}, 'rho_in'), g.op('Mul', [oneMinusRho, layer], {}, 'rho_ln')], {}, 'iln');
  }

  /** `x·γ + β` (γ, β broadcast over H and W). */
  affine(x: string, gamma: string, beta: string): string {
    return this.g.op('Add', [this.g.op('Mul', [x, gamma], {}, 'scaled'), beta], {}, 'shifted');
  }

  /** Resize ×2 nearest (asymmetric, floor): replicates every pixel 2×2 like nn.Upsample(scale_factor=2). */
  upsample2x(x: string): string {
    const scales = this.g.constF32([4], [1, 1, 2, 2], 'scales_2x');
    return this.g.op(
      'Resize',
      [x, '', scales],
      {
        mode: attr.string('nearest'),
        coordinate_transformation_mode: attr.string('asymmetric'),
        nearest_mode: attr.string('floor'),
      },
      'upsample',
    );
  }

  /**
   * Mean over `axes`, keeping dims. Layer statistics (C·H·W, 4.2 M values at 256²) are reduced in two stages —
   * over H,W, then over C — because one float32 ReduceMean over all of them drifts by ~1e-4 relative in
   * onnxruntime; staged, the error is ~2e-7 (the tfjs side does the same, see layers/norm-stats.ts).
   */
  private stagedMean(x: string, axes: number[], name: string): string {
    const g = this.g;
    if (axes.length === 3 && axes[0] === 1) {
      const spatial = g.op('ReduceMean', [x], { axes: attr.ints([2, 3]), keepdims: attr.int(1) }, `${name}_hw`);
      return g.op('ReduceMean', [spatial], { axes: attr.ints([1]), keepdims: attr.int(1) }, name);
    }
    return g.op('ReduceMean', [x], { axes: attr.ints(axes), keepdims: attr.int(1) }, name);
  }

  /** (x − mean)/√(var_unbiased + ε) over `axes`, with N = the product of those axes' runtime sizes. */
  private normalise(x: string, axes: number[]): string {
    const g = this.g;
    const mean = this.stagedMean(x, axes, 'mean');
    const d = g.op('Sub', [x, mean], {}, 'centered');
    const biasedVar = this.stagedMean(g.op('Mul', [d, d], {}, 'sq'), axes, 'var_b');
    // N from the runtime shape, so light models stay exact at any input size
    const dims = g.op('Cast', [g.op('Shape', [x])], { to: attr.int(DataType.FLOAT) }, 'shape_f');
    const counted = g.op('Slice', [dims, g.constI64([axes[0]], 'slice_start'), g.constI64([4], 'slice_end')], {}, 'reduced_dims');
    const n = g.op('ReduceProd', [counted], { keepdims: attr.int(0) }, 'n');
    const correction = g.op('Div', [n, g.op('Sub', [n, g.constF32([], [1], 'one')], {}, 'n_minus_1')], {}, 'bessel');
    const variance = g.op('Mul', [biasedVar, correction], {}, 'var_u');
    const std = g.op('Sqrt', [g.op('Add', [variance, g.constF32([], [EPS], 'eps')], {}, 'var_eps')], {}, 'std');
    return g.op('Div', [d, std], {}, 'normed');
  }
}
