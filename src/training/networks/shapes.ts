/**
 * The official networks' parameter lists (names and shapes, as UGATIT-pytorch's `state_dict` has them),
 * inference of the hyperparameters from a checkpoint's tensor shapes, and a strict check that every
 * network carries exactly the tensors its configuration implies.
 */
import { type NetworkName, type StateDict, type UgatitState } from '../tensors.ts';
import { CheckpointError } from '../training.errors.ts';

/** Hyperparameters a checkpoint's shapes reveal (variant `pytorch`). */
export interface InferredConfig {
  variant: 'pytorch';
  light: boolean;
  ngf: number;
  n_blocks: number;
  /** Known from the weights only in full mode (the first MLP layer's width); null for light models. */
  img_size: number | null;
  ndf: number;
  dis_layers_global: number;
  dis_layers_local: number;
}

/** What the generator's parameter list depends on. */
export interface GeneratorShapeConfig {
  light: boolean;
  ngf: number;
  n_blocks: number;
  /** Needed in full mode only. */
  img_size: number | null;
  inputNc?: number;
  outputNc?: number;
}

/** Every parameter of the official `ResnetGenerator`, in state_dict order, with its PyTorch shape. */
export function expectedGeneratorShapes(cfg: GeneratorShapeConfig): Map<string, number[]> {
  const { ngf, n_blocks: nb, light } = cfg;
  const inNc = cfg.inputNc ?? 3;
  const outNc = cfg.outputNc ?? 3;
  const c = 4 * ngf; // two stride-2 downsamplings double the width twice
  if (!light && (cfg.img_size === null || cfg.img_size % 4 !== 0)) {
    throw new CheckpointError('SHAPE_MISMATCH', `a full-mode generator needs an img_size that is a multiple of 4 (got ${cfg.img_size})`, { img_size: cfg.img_size });
  }
  // Full mode flattens the C×(img/4)×(img/4) post-CAM map; light mode pools it to C first.
  const fcIn = light ? c : (((cfg.img_size as number) / 4) ** 2) * c;
  const m = new Map<string, number[]>();
  m.set('gap_fc.weight', [1, c]);
  m.set('gmp_fc.weight', [1, c]);
  m.set('conv1x1.weight', [c, 2 * c, 1, 1]);
  m.set('conv1x1.bias', [c]);
  m.set('gamma.weight', [c, c]);
  m.set('beta.weight', [c, c]);
  for (let i = 1; i <= nb; i++) {
    m.set(`UpBlock1_${i}.conv1.weight`, [c, c, 3, 3]);
    m.set(`UpBlock1_${i}.norm1.rho`, [1, c, 1, 1]);
    m.set(`UpBlock1_${i}.conv2.weight`, [c, c, 3, 3]);
    m.set(`UpBlock1_${i}.norm2.rho`, [1, c, 1, 1]);
  }
  // DownBlock = [RPad, Conv7, IN, ReLU] + 2×[RPad, Conv3 s2, IN, ReLU] + n_blocks ResBlocks → convs at 1, 5, 9.
  m.set('DownBlock.1.weight', [ngf, inNc, 7, 7]);
  m.set('DownBlock.5.weight', [2 * ngf, ngf, 3, 3]);
  m.set('DownBlock.9.weight', [4 * ngf, 2 * ngf, 3, 3]);
  for (let i = 0; i < nb; i++) {
    m.set(`DownBlock.${12 + i}.conv_block.1.weight`, [c, c, 3, 3]);
    m.set(`DownBlock.${12 + i}.conv_block.5.weight`, [c, c, 3, 3]);
  }
  m.set('FC.0.weight', [c, fcIn]);
  m.set('FC.2.weight', [c, c]);
  // UpBlock2 = 2×[Upsample, RPad, Conv3, ILN, ReLU] + [RPad, Conv7, Tanh] → convs at 2, 7, 11; ILN at 3, 8.
  for (const [conv, norm, cin, cout] of [[2, 3, 4 * ngf, 2 * ngf], [7, 8, 2 * ngf, ngf]] as const) {
    m.set(`UpBlock2.${conv}.weight`, [cout, cin, 3, 3]);
    for (const p of ['rho', 'gamma', 'beta']) m.set(`UpBlock2.${norm}.${p}`, [1, cout, 1, 1]);
  }
  m.set('UpBlock2.11.weight', [outNc, ngf, 7, 7]);
  return m;
}

/** Every parameter and spectral-norm buffer of the official `Discriminator(input_nc, ndf, n_layers)`. */
export function expectedDiscriminatorShapes(ndf: number, nLayers: number, inputNc = 3): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const cd = ndf * 2 ** (nLayers - 2); // 1 + (n_layers-3) stride-2 convs, then one stride-1 conv, each doubling
  const sn = (prefix: string, shape: number[], bias: boolean): void => {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    if (bias) m.set(`${prefix}.bias`, [shape[0]]);
    m.set(`${prefix}.weight_orig`, shape);
    m.set(`${prefix}.weight_u`, [shape[0]]);
    m.set(`${prefix}.weight_v`, [fanIn]);
  };
  sn('gap_fc', [1, cd], false);
  sn('gmp_fc', [1, cd], false);
  m.set('conv1x1.weight', [cd, 2 * cd, 1, 1]);
  m.set('conv1x1.bias', [cd]);
  sn('conv', [1, cd, 4, 4], false);
  // model = (n_layers-1) × [RPad, SN-Conv4, LeakyReLU] → convs at 3k+1.
  for (let k = 0; k <= nLayers - 2; k++) {
    const cin = k === 0 ? inputNc : ndf * 2 ** (k - 1);
    sn(`model.${3 * k + 1}`, [ndf * 2 ** k, cin, 4, 4], true);
  }
  return m;
}

function requireTensor(sd: StateDict, net: string, name: string): number[] {
  const t = sd.get(name);
  if (!t) throw new CheckpointError('MISSING_TENSOR', `${net} has no tensor ${name}, so its configuration cannot be inferred`, { network: net, tensor: name });
  return t.shape;
}

function inferGenerator(sd: StateDict, net: string): Pick<InferredConfig, 'light' | 'ngf' | 'n_blocks' | 'img_size'> {
  const down = requireTensor(sd, net, 'DownBlock.1.weight');
  const ngf = down[0];
  const blocks = new Set<string>();
  for (const k of sd.keys()) {
    const mm = /^UpBlock1_(\d+)\./.exec(k);
    if (mm) blocks.add(mm[1]);
  }
  const fc = requireTensor(sd, net, 'FC.0.weight');
  const c = 4 * ngf;
  if (fc.length !== 2 || fc[0] !== c) {
    throw new CheckpointError('SHAPE_MISMATCH', `${net}.FC.0.weight has shape [${fc}], expected [${c}, …] for ngf ${ngf}`, { tensor: `${net}.FC.0.weight`, shape: fc });
  }
  if (fc[1] === c) return { light: true, ngf, n_blocks: blocks.size, img_size: null };
  const side = Math.sqrt(fc[1] / c); // full mode: FC.0 input = (img/4)² · 4ngf
  if (!Number.isInteger(side)) {
    throw new CheckpointError('SHAPE_MISMATCH', `${net}.FC.0.weight input width ${fc[1]} is neither ${c} (light) nor (img/4)²·${c} (full)`, {
      tensor: `${net}.FC.0.weight`,
      shape: fc,
    });
  }
  return { light: false, ngf, n_blocks: blocks.size, img_size: side * 4 };
}

function inferDiscriminator(sd: StateDict, net: string): { ndf: number; nLayers: number } {
  const first = requireTensor(sd, net, 'model.1.weight_orig');
  const convs = [...sd.keys()].filter((k) => /^model\.\d+\.weight_orig$/.test(k)).length;
  return { ndf: first[0], nLayers: convs + 1 };
}

/**
 * Infer the hyperparameters from tensor shapes and check every present network against them.
 * Generators are read from genA2B (else genB2A), the global discriminators from disGA/disGB, the local
 * ones from disLA/disLB; absent discriminators default to the official ndf 64, 7 and 5 layers.
 * @throws CheckpointError MISSING_NETWORK (no generator), MISSING_TENSOR, UNEXPECTED_TENSOR, SHAPE_MISMATCH.
 */
export function inferConfig(state: UgatitState): InferredConfig {
  const genName: NetworkName | undefined = state.genA2B ? 'genA2B' : state.genB2A ? 'genB2A' : undefined;
  if (!genName) throw new CheckpointError('MISSING_NETWORK', 'the checkpoint has no generator (genA2B or genB2A)', { missing: ['genA2B', 'genB2A'] });
  const gen = inferGenerator(state[genName] as StateDict, genName);
  const globalName: NetworkName | undefined = state.disGA ? 'disGA' : state.disGB ? 'disGB' : undefined;
  const localName: NetworkName | undefined = state.disLA ? 'disLA' : state.disLB ? 'disLB' : undefined;
  const global = globalName ? inferDiscriminator(state[globalName] as StateDict, globalName) : undefined;
  const local = localName ? inferDiscriminator(state[localName] as StateDict, localName) : undefined;
  if (global && local && global.ndf !== local.ndf) {
    throw new CheckpointError('SHAPE_MISMATCH', `${localName}.model.1.weight_orig has ${local.ndf} output channels but ${globalName} has ${global.ndf}`, {
      tensor: `${localName}.model.1.weight_orig`,
    });
  }
  const cfg: InferredConfig = {
    variant: 'pytorch',
    ...gen,
    ndf: global?.ndf ?? local?.ndf ?? 64,
    dis_layers_global: global?.nLayers ?? 7,
    dis_layers_local: local?.nLayers ?? 5,
  };
  validateState(state, cfg);
  return cfg;
}

/**
 * Check that every present network has exactly the tensors `cfg` implies, with the right shapes
 * (like PyTorch's strict `load_state_dict`).
 * @throws CheckpointError MISSING_TENSOR, UNEXPECTED_TENSOR or SHAPE_MISMATCH naming the tensor.
 */
export function validateState(state: UgatitState, cfg: InferredConfig): void {
  const genShapes = expectedGeneratorShapes(cfg);
  const expected: Record<NetworkName, Map<string, number[]>> = {
    genA2B: genShapes,
    genB2A: genShapes,
    disGA: expectedDiscriminatorShapes(cfg.ndf, cfg.dis_layers_global),
    disGB: expectedDiscriminatorShapes(cfg.ndf, cfg.dis_layers_global),
    disLA: expectedDiscriminatorShapes(cfg.ndf, cfg.dis_layers_local),
    disLB: expectedDiscriminatorShapes(cfg.ndf, cfg.dis_layers_local),
  };
  for (const net of Object.keys(expected) as NetworkName[]) {
    const sd = state[net];
    if (!sd) continue;
    const want = expected[net];
    for (const [name, shape] of want) {
      const t = sd.get(name);
      if (!t) throw new CheckpointError('MISSING_TENSOR', `${net} lacks ${name} (expected shape [${shape}])`, { network: net, tensor: `${net}.${name}`, expected: shape });
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new CheckpointError('SHAPE_MISMATCH', `${net}.${name} has shape [${t.shape}], expected [${shape}] for ${describeCfg(cfg)}`, {
          network: net,
          tensor: `${net}.${name}`,
          shape: t.shape,
          expected: shape,
        });
      }
      if (t.data.length !== shape.reduce((a, b) => a * b, 1)) {
        throw new CheckpointError('CORRUPT', `${net}.${name} holds ${t.data.length} values for shape [${shape}]`, { tensor: `${net}.${name}` });
      }
    }
    for (const name of sd.keys()) {
      if (!want.has(name)) {
        throw new CheckpointError('UNEXPECTED_TENSOR', `${net} has a tensor ${name} that the official ${net.startsWith('gen') ? 'generator' : 'discriminator'} does not have`, {
          network: net,
          tensor: `${net}.${name}`,
        });
      }
    }
  }
}

function describeCfg(cfg: InferredConfig): string {
  return `${cfg.light ? 'light' : 'full'} ngf ${cfg.ngf}, n_blocks ${cfg.n_blocks}, img_size ${cfg.img_size ?? 'any'}, ndf ${cfg.ndf}, D layers ${cfg.dis_layers_global}/${cfg.dis_layers_local}`;
}
