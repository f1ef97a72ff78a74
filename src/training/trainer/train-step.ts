/**
 * One U-GAT-IT training iteration, in the official call order (UGATIT.train()):
 *
 * D step: fake_A2B = G_AB(a), fake_B2A = G_BA(b); D calls GA(a), LA(a), GB(b), LB(b), GA(fake_B2A),
 *   LA(fake_B2A), GB(fake_A2B), LB(fake_A2B); backward of Discriminator_loss; Adam step of the four D.
 * G step: G_AB(a), G_BA(b), G_BA(fake_A2B), G_AB(fake_B2A), G_BA(a), G_AB(b) (by default batched as
 *   G_AB([a; b]), G_BA([b; a]), then the two cycle calls); D calls GA, LA on fake_B2A and GB, LB on
 *   fake_A2B; backward of Generator_loss; Adam step of both G; ρ clipped to [0, 1].
 *
 * Spectral normalisation advances its power iteration on every discriminator call, so the order of
 * the twelve D calls is part of the contract. One difference from the official code, by design: the
 * D step computes the fakes outside the gradient tape (the official code does not detach them, but
 * the generator gradients it thereby computes are zeroed before use), which saves a generator backward.
 * The CLI trainer, the benchmark and the parity test all run this class.
 */
import * as tf from '@tensorflow/tfjs';
import { backendReadsSync } from '../backend.ts';
import { CoupledAdam, type AdamOptions } from '../optimizer.ts';
import { throwIfWebgpuError } from '../webgpu.ts';
import { bceWithLogitsLoss, D_LOSS_TERMS, G_LOSS_TERMS, OFFICIAL_LOSS_WEIGHTS, discriminatorLoss, generatorLoss, l1Loss, mseLoss, type LossWeights } from '../losses.ts';
import type { Discriminator, Generator, GeneratorOutput } from '../networks/types.ts';
import type { ParamLayout } from '../layers/param-layout.ts';
import type { NetworkName } from '../tensors.ts';

/** The six networks of one U-GAT-IT model. */
export interface UgatitNetworks {
  genA2B: Generator;
  genB2A: Generator;
  disGA: Discriminator;
  disGB: Discriminator;
  disLA: Discriminator;
  disLB: Discriminator;
}

export const GENERATOR_NAMES = ['genA2B', 'genB2A'] as const satisfies readonly NetworkName[];
export const DISCRIMINATOR_NAMES = ['disGA', 'disGB', 'disLA', 'disLB'] as const satisfies readonly NetworkName[];

/** Every loss term of one iteration, as plain numbers, named as in the official code. */
export type StepLosses = Record<(typeof D_LOSS_TERMS)[number] | (typeof G_LOSS_TERMS)[number] | 'Discriminator_loss' | 'Generator_loss', number>;

/** Observation points, for tests and diagnostics. Tensors passed in are disposed after the call. */
export interface StepHooks {
  /**
   * Raw loss gradients (before weight decay), keyed `<network>.<official param name>`; awaited before
   * the update (read them with `await t.data()`: GPU tensors have no synchronous read in Node).
   */
  onGradients?(phase: 'D' | 'G', grads: ReadonlyMap<string, tf.Tensor>): void | Promise<void>;
  /** After the D step's Adam update, before the G step; awaited. */
  afterDStep?(): void | Promise<void>;
}

/** Options of {@link UgatitTrainStep}. */
export interface TrainStepOptions {
  lossWeights?: LossWeights;
  adam?: Partial<AdamOptions>;
  /** Clamp range of ρ after every G step (official: [0, 1]). */
  rhoRange?: [number, number];
  /**
   * Run G_AB on [a; b] and G_BA on [b; a] as one batch each in the G step instead of four separate
   * calls (same values: generators have no cross-sample statistics; fewer, larger kernels). Default true.
   */
  batchGenerators?: boolean;
  /**
   * Keep fewer activations alive: the D step runs one tape per discriminator call, and the G step one
   * tape per independent loss chain (three per domain) instead of one tape over the whole loss; Adam's
   * moments are kept in JS memory (CoupledAdam `hostState`). A fraction of the peak memory (what the
   * 4 GiB wasm heap needs at 128²) for two more generator passes per iteration. Same gradients up to
   * float rounding; each discriminator sees its calls in the official order. Default false.
   */
  lowMemory?: boolean;
  /**
   * Replace the built-in Adam update (and ρ clipping) of each phase: the data-parallel replicas hand
   * their gradients to the coordinator, which averages them over all replicas, runs the one Adam
   * update and sends the new parameters back, which this callback assigns before returning.
   */
  update?: (phase: 'D' | 'G', grads: ReadonlyMap<string, tf.Tensor>, lr: number) => Promise<void>;
}

/** Split a generator output of batch 2n into the first n and last n samples. */
function splitOutput(o: GeneratorOutput, n: number): [GeneratorOutput, GeneratorOutput] {
  const part = <T extends tf.Tensor>(t: T, i: number): T => tf.slice(t, i * n, n) as T;
  const one = (i: number): GeneratorOutput => ({ image: part(o.image, i), camLogit: part(o.camLogit, i), heatmap: part(o.heatmap, i) });
  return [one(0), one(1)];
}

/**
 * One Adam optimizer over the trainable parameters of `names`, keyed `<network>.<official name>`; the
 * parameters stored in another layout (conv weights, HWIO) get their moments converted in and out of
 * the optimizer state, so checkpoints hold the official layout.
 */
export function createOptimizer(nets: UgatitNetworks, names: readonly NetworkName[], opts: Partial<AdamOptions> & { hostState?: boolean }): CoupledAdam {
  const params = new Map<string, tf.Variable>();
  const layouts = new Map<string, ParamLayout>();
  for (const n of names) {
    for (const [p, v] of nets[n].trainableVariables()) params.set(`${n}.${p}`, v);
    for (const [p, l] of nets[n].paramLayouts()) layouts.set(`${n}.${p}`, l);
  }
  return new CoupledAdam(params, { ...opts, layouts });
}

/**
 * Give {@link StepHooks.onGradients} the gradients in the official layout: stored-layout ones (conv
 * weights) are converted into new tensors, disposed after the hook; the others are passed as they are.
 */
export async function reportGradients(hooks: Pick<StepHooks, 'onGradients'>, phase: 'D' | 'G', grads: ReadonlyMap<string, tf.Tensor>, opt: CoupledAdam): Promise<void> {
  if (!hooks.onGradients) return;
  const converted: tf.Tensor[] = [];
  const official = new Map<string, tf.Tensor>();
  for (const [k, g] of grads) {
    const layout = opt.layoutOf(k);
    if (!layout) official.set(k, g);
    else {
      const t = layout.tensorToOfficial(g);
      converted.push(t);
      official.set(k, t);
    }
  }
  try {
    await hooks.onGradients(phase, official);
  } finally {
    tf.dispose(converted);
  }
}

/** Runs iterations and owns the two optimizers (generators; discriminators). */
export class UgatitTrainStep {
  readonly optG: CoupledAdam;
  readonly optD: CoupledAdam;
  private readonly weights: LossWeights;
  private readonly rhoRange: [number, number];
  private readonly batchGenerators: boolean;
  private readonly lowMemory: boolean;
  private readonly update?: TrainStepOptions['update'];

  constructor(
    readonly nets: UgatitNetworks,
    opts: TrainStepOptions = {},
  ) {
    this.weights = opts.lossWeights ?? OFFICIAL_LOSS_WEIGHTS;
    this.rhoRange = opts.rhoRange ?? [0, 1];
    this.batchGenerators = opts.batchGenerators ?? true;
    this.lowMemory = opts.lowMemory ?? false;
    this.update = opts.update;
    // low memory also keeps Adam's moments out of the backend's memory (2× the parameters), where the
    // backend can hand values over synchronously (not webgpu: its moments stay on the device)
    const adam = { ...opts.adam, hostState: this.lowMemory && backendReadsSync() };
    this.optG = createOptimizer(nets, GENERATOR_NAMES, adam);
    this.optD = createOptimizer(nets, DISCRIMINATOR_NAMES, adam);
  }

  /**
   * One iteration on `realA`, `realB` (NHWC in [-1, 1]) with learning rate `lr` for both optimizers.
   * Leaves no tensor behind besides the updated variables. The losses are read back asynchronously
   * (the only read of a step), so the same code runs on GPU backends.
   * @throws {WebgpuError} DEVICE_ERROR when the GPU rejected part of the step's work
   */
  async run(realA: tf.Tensor4D, realB: tf.Tensor4D, lr: number, hooks: StepHooks = {}): Promise<StepLosses> {
    const dTerms = await this.discriminatorStep(realA, realB, lr, hooks);
    await hooks.afterDStep?.();
    const gTerms = await this.generatorStep(realA, realB, lr, hooks);
    let d: Float32Array, g: Float32Array;
    try {
      [d, g] = (await Promise.all([dTerms.data(), gTerms.data()])) as [Float32Array, Float32Array];
    } finally {
      dTerms.dispose();
      gTerms.dispose();
    }
    throwIfWebgpuError();
    const losses = {} as StepLosses;
    D_LOSS_TERMS.forEach((k, i) => (losses[k] = d[i]));
    losses.Discriminator_loss = d[D_LOSS_TERMS.length];
    G_LOSS_TERMS.forEach((k, i) => (losses[k] = g[i]));
    losses.Generator_loss = g[G_LOSS_TERMS.length];
    return losses;
  }

  private async discriminatorStep(realA: tf.Tensor4D, realB: tf.Tensor4D, lr: number, hooks: StepHooks): Promise<tf.Tensor1D> {
    const { genA2B, genB2A, disGA, disLA, disGB, disLB } = this.nets;
    const train = { training: true };
    // Fakes outside the tape: no D gradient depends on the generators' parameters.
    const fakeA2B = tf.tidy(() => genA2B.apply(realA, train).image);
    const fakeB2A = tf.tidy(() => genB2A.apply(realB, train).image);
    if (this.lowMemory) {
      // Low memory: one tape per discriminator call. Each D's loss terms involve only its own parameters
      // and its own spectral-norm state, so running D's two calls (real, then fake) back to back gives
      // the same values as the official interleaved order, with an eighth of the activations alive.
      const grads: tf.NamedTensorMap = {};
      const parts: tf.Tensor[] = [];
      const plan = [
        ['GA', disGA, realA, fakeB2A],
        ['LA', disLA, realA, fakeB2A],
        ['GB', disGB, realB, fakeA2B],
        ['LB', disLB, realB, fakeA2B],
      ] as const;
      for (const [, dis, real, fake] of plan) {
        const vars = [...dis.trainableVariables().values()];
        // ∇(L_real + L_fake) = ∇L_real + ∇L_fake: one tape per call, each call's σ saved in its own tape
        const call = (input: tf.Tensor4D, target: number) => {
          let pair: tf.Tensor[] = [];
          const r = tf.variableGrads(() => {
            const out = dis.apply(input, train);
            const patch = mseLoss(out.patch, target);
            const cam = mseLoss(out.camLogit, target);
            pair = [tf.keep(patch), tf.keep(cam)];
            return tf.mul(tf.add(patch, cam), this.weights.adv) as tf.Scalar;
          }, vars);
          r.value.dispose();
          return { pair, grads: r.grads };
        };
        const onReal = call(real, 1);
        const onFake = call(fake, 0);
        for (const v of vars) {
          const a = onReal.grads[v.name];
          const b = onFake.grads[v.name];
          grads[v.name] = a && b ? tf.add(a, b) : (a ?? b)!.clone();
        }
        tf.dispose([...Object.values(onReal.grads), ...Object.values(onFake.grads)]);
        parts.push(tf.add(onReal.pair[0], onFake.pair[0]), tf.add(onReal.pair[1], onFake.pair[1]));
        tf.dispose([...onReal.pair, ...onFake.pair]);
      }
      fakeA2B.dispose();
      fakeB2A.dispose();
      await this.applyGrads('D', this.optD, grads, lr, hooks);
      // parts are [patch, cam] per D in the order GA, LA, GB, LB = D_LOSS_TERMS' order
      const out = tf.tidy(() => tf.stack([...parts, tf.mul(tf.addN(parts), this.weights.adv)]) as tf.Tensor1D);
      tf.dispose(parts);
      return out;
    }
    let terms: tf.Tensor1D | undefined;
    const params = this.optD.params;
    const { value, grads } = tf.variableGrads(() => {
      const real = { GA: disGA.apply(realA, train), LA: disLA.apply(realA, train), GB: disGB.apply(realB, train), LB: disLB.apply(realB, train) };
      const fake = { GA: disGA.apply(fakeB2A, train), LA: disLA.apply(fakeB2A, train), GB: disGB.apply(fakeA2B, train), LB: disLB.apply(fakeA2B, train) };
      const { terms: t, total } = discriminatorLoss(real, fake, this.weights);
      terms = tf.keep(tf.stack([...D_LOSS_TERMS.map((k) => t[k]), total]) as tf.Tensor1D);
      return total;
    }, [...params.values()]);
    fakeA2B.dispose();
    fakeB2A.dispose();
    await this.applyGrads('D', this.optD, grads, lr, hooks);
    value.dispose();
    return terms!;
  }

  private generatorStep(realA: tf.Tensor4D, realB: tf.Tensor4D, lr: number, hooks: StepHooks): Promise<tf.Tensor1D> {
    return this.lowMemory ? this.generatorStepSplit(realA, realB, lr, hooks) : this.generatorStepJoint(realA, realB, lr, hooks);
  }

  /**
   * The G step as a sum of independent chains, one tape each (generators have no state, so each chain
   * recomputes the passes it needs): per domain X, (1) fake_X = G(other) → D_GX, D_LX adversarial terms
   * and the CAM term with label 1; (2) identity_X = G(real_X) → L1 and the CAM term with label 0;
   * (3) cycle_X → L1. Chains of A run before those of B, so the D calls keep the official order
   * GA, LA, GB, LB. Gradients are summed.
   */
  private async generatorStepSplit(realA: tf.Tensor4D, realB: tf.Tensor4D, lr: number, hooks: StepHooks): Promise<tf.Tensor1D> {
    const { genA2B, genB2A, disGA, disLA, disGB, disLB } = this.nets;
    const train = { training: true };
    const w = this.weights;
    const params = [...this.optG.params.values()];
    const summed: tf.NamedTensorMap = {};
    const kept = new Map<string, tf.Tensor>();
    const chain = (f: () => { terms: Record<string, tf.Scalar>; total: tf.Scalar }) => {
      const { value, grads } = tf.variableGrads(() => {
        const r = f();
        for (const [k, t] of Object.entries(r.terms)) kept.set(k, tf.keep(t));
        return r.total;
      }, params);
      value.dispose();
      for (const [name, g] of Object.entries(grads)) {
        const prev = summed[name];
        summed[name] = prev ? tf.add(prev, g) : g;
        if (prev) {
          prev.dispose();
          g.dispose();
        }
      }
    };
    for (const side of ['A', 'B'] as const) {
      const [real, other, toX, fromX, disG, disL] =
        side === 'A' ? [realA, realB, genB2A, genA2B, disGA, disLA] : [realB, realA, genA2B, genB2A, disGB, disLB];
      chain(() => {
        const fake = toX.apply(other, train);
        const dg = disG.apply(fake.image, train);
        const dl = disL.apply(fake.image, train);
        const terms = {
          [`G_ad_loss_G${side}`]: mseLoss(dg.patch, 1),
          [`G_ad_cam_loss_G${side}`]: mseLoss(dg.camLogit, 1),
          [`G_ad_loss_L${side}`]: mseLoss(dl.patch, 1),
          [`G_ad_cam_loss_L${side}`]: mseLoss(dl.camLogit, 1),
          [`camOther_${side}`]: bceWithLogitsLoss(fake.camLogit, 1),
        };
        const adv = tf.addN([terms[`G_ad_loss_G${side}`], terms[`G_ad_cam_loss_G${side}`], terms[`G_ad_loss_L${side}`], terms[`G_ad_cam_loss_L${side}`]]);
        return { terms, total: tf.add(tf.mul(adv, w.adv), tf.mul(terms[`camOther_${side}`], w.cam)) as tf.Scalar };
      });
      chain(() => {
        const ident = toX.apply(real, train);
        const terms = { [`G_identity_loss_${side}`]: l1Loss(ident.image, real), [`camSelf_${side}`]: bceWithLogitsLoss(ident.camLogit, 0) };
        return { terms, total: tf.add(tf.mul(terms[`G_identity_loss_${side}`], w.identity), tf.mul(terms[`camSelf_${side}`], w.cam)) as tf.Scalar };
      });
      chain(() => {
        const cycle = toX.apply(fromX.apply(real, train).image, train).image;
        const terms = { [`G_recon_loss_${side}`]: l1Loss(cycle, real) };
        return { terms, total: tf.mul(terms[`G_recon_loss_${side}`], w.cycle) as tf.Scalar };
      });
    }
    await this.applyGrads('G', this.optG, summed, lr, hooks);
    const [lo, hi] = this.rhoRange;
    genA2B.clipRho(lo, hi);
    genB2A.clipRho(lo, hi);
    const out = tf.tidy(() => {
      for (const side of ['A', 'B']) kept.set(`G_cam_loss_${side}`, tf.add(kept.get(`camOther_${side}`)!, kept.get(`camSelf_${side}`)!));
      const total = (side: string) =>
        tf.addN([
          tf.mul(tf.addN(['G', 'L'].flatMap((d) => [kept.get(`G_ad_loss_${d}${side}`)!, kept.get(`G_ad_cam_loss_${d}${side}`)!])), w.adv),
          tf.mul(kept.get(`G_recon_loss_${side}`)!, w.cycle),
          tf.mul(kept.get(`G_identity_loss_${side}`)!, w.identity),
          tf.mul(kept.get(`G_cam_loss_${side}`)!, w.cam),
        ]);
      return tf.stack([...G_LOSS_TERMS.map((k) => kept.get(k)!), tf.add(total('A'), total('B'))]) as tf.Tensor1D;
    });
    tf.dispose([...kept.values()]);
    return out;
  }

  private async generatorStepJoint(realA: tf.Tensor4D, realB: tf.Tensor4D, lr: number, hooks: StepHooks): Promise<tf.Tensor1D> {
    const { genA2B, genB2A, disGA, disLA, disGB, disLB } = this.nets;
    const train = { training: true };
    let terms: tf.Tensor1D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      let a2b: GeneratorOutput, b2a: GeneratorOutput, a2a: GeneratorOutput, b2b: GeneratorOutput;
      if (this.batchGenerators) {
        // Every statistic of the generators is per sample, so one call on [a; b] equals two calls.
        const n = realA.shape[0];
        [a2b, b2b] = splitOutput(genA2B.apply(tf.concat([realA, realB], 0), train), n);
        [b2a, a2a] = splitOutput(genB2A.apply(tf.concat([realB, realA], 0), train), n);
      } else {
        a2b = genA2B.apply(realA, train);
        b2a = genB2A.apply(realB, train);
        a2a = genB2A.apply(realA, train);
        b2b = genA2B.apply(realB, train);
      }
      const a2b2a = genB2A.apply(a2b.image, train);
      const b2a2b = genA2B.apply(b2a.image, train);
      const fake = { GA: disGA.apply(b2a.image, train), LA: disLA.apply(b2a.image, train), GB: disGB.apply(a2b.image, train), LB: disLB.apply(a2b.image, train) };
      const { terms: t, total } = generatorLoss(
        {
          realA,
          realB,
          fake,
          cycleA: a2b2a.image,
          cycleB: b2a2b.image,
          identityA: a2a.image,
          identityB: b2b.image,
          camA2B: a2b.camLogit,
          camB2B: b2b.camLogit,
          camB2A: b2a.camLogit,
          camA2A: a2a.camLogit,
        },
        this.weights,
      );
      terms = tf.keep(tf.stack([...G_LOSS_TERMS.map((k) => t[k]), total]) as tf.Tensor1D);
      return total;
    }, [...this.optG.params.values()]);
    await this.applyGrads('G', this.optG, grads, lr, hooks);
    value.dispose();
    const [lo, hi] = this.rhoRange;
    genA2B.clipRho(lo, hi);
    genB2A.clipRho(lo, hi);
    return terms!;
  }

  private async applyGrads(phase: 'D' | 'G', opt: CoupledAdam, grads: tf.NamedTensorMap, lr: number, hooks: StepHooks): Promise<void> {
    const byKey = new Map<string, tf.Tensor>();
    for (const [key, variable] of opt.params) {
      const g = grads[variable.name];
      // A parameter the loss does not reach gets a zero gradient, as torch's zero_grad leaves it.
      byKey.set(key, g ?? tf.zerosLike(variable));
    }
    try {
      await reportGradients(hooks, phase, byKey, opt);
      if (this.update) await this.update(phase, byKey, lr);
      else opt.apply(byKey, lr);
    } finally {
      for (const t of byKey.values()) t.dispose();
    }
  }

  /** Free the optimizers' moments (the networks belong to the caller). */
  dispose(): void {
    this.optG.dispose();
    this.optD.dispose();
  }
}
