/**
 * Adam as `torch.optim.Adam(..., weight_decay=wd)` implements it: classic coupled L2 (wd·θ is added
 * to the gradient before the moments, not AdamW), bias-corrected, ε added after the square root:
 *
 *   g ← ∇ + wd·θ;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   θ ← θ − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
 *
 * plus the official linear learning-rate decay over the second half of training. The moments can be
 * exported and restored, so a resumed run continues exactly (the official code drops them).
 */
import * as tf from '@tensorflow/tfjs';
import type { ParamLayout } from './layers/param-layout.ts';
import type { NamedTensor } from './tensors.ts';

/** Hyper-parameters; defaults are the official ones. */
export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Official: betas (0.5, 0.999), eps 1e-8 (torch default), weight decay 1e-4. */
export const OFFICIAL_ADAM: Readonly<AdamOptions> = Object.freeze({ beta1: 0.5, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4 });

/** Exported optimizer state: the step count and both moments per parameter (in the variables' own layout). */
export interface AdamState {
  step: number;
  m: Map<string, NamedTensor>;
  v: Map<string, NamedTensor>;
}

/** Adam with coupled L2 weight decay over a fixed set of named variables. */
export class CoupledAdam {
  /** Number of updates applied so far (torch's `state['step']`). */
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly hostM = new Map<string, Float32Array>();
  private readonly hostV = new Map<string, Float32Array>();
  readonly opts: AdamOptions;
  /** True when the moments live in JS memory and the update runs in JS (see the constructor). */
  readonly hostState: boolean;
  private allocated = false;

  /**
   * @param params - the variables to optimise, by a stable name (e.g. `genA2B.UpBlock2.1.rho`)
   * @param opts.hostState - keep m and v in JS Float32Arrays and update on the CPU instead of as
   *   tensors: frees 2× the parameter memory on the backend (the wasm heap is capped at 4 GiB), at the
   *   cost of copying parameters and gradients out and back each step. Same formula, double-precision
   *   arithmetic rounded to float32.
   */
  constructor(
    readonly params: ReadonlyMap<string, tf.Variable>,
    opts: Partial<AdamOptions> & { hostState?: boolean; layouts?: ReadonlyMap<string, ParamLayout> } = {},
  ) {
    const { hostState = false, layouts = new Map<string, ParamLayout>(), ...adam } = opts;
    this.opts = { ...OFFICIAL_ADAM, ...adam };
    this.hostState = hostState;
    this.layouts = layouts;
  }

  /** Parameters stored in another layout than PyTorch's: their moments are converted in and out of the state. */
  private readonly layouts: ReadonlyMap<string, ParamLayout>;

  /** How parameter `name` is stored when not in PyTorch's layout (e.g. a conv weight, HWIO). */
  layoutOf(name: string): ParamLayout | undefined {
    return this.layouts.get(name);
  }

  /** A moment of `name` as stored → a state entry in the official layout. */
  private entry(name: string, data: Float32Array): NamedTensor {
    const layout = this.layouts.get(name);
    if (layout) return { shape: [...layout.officialShape], data: layout.toOfficial(data) };
    return { shape: [...this.params.get(name)!.shape], data: data.slice() };
  }

  /**
   * Allocate the (zero) moments on first use: a data-parallel replica builds the train step's
   * optimizers for their parameter lists but never updates, so it never pays for the moments.
   */
  private ensureMoments(): void {
    if (this.allocated) return;
    this.allocated = true;
    for (const [name, p] of this.params) {
      if (this.hostState) {
        this.hostM.set(name, new Float32Array(p.size));
        this.hostV.set(name, new Float32Array(p.size));
      } else {
        this.m.set(name, tf.variable(tf.zerosLike(p), false));
        this.v.set(name, tf.variable(tf.zerosLike(p), false));
      }
    }
  }

  /**
   * One update with learning rate `lr`. `grads` must hold a gradient for every parameter
   * (a missing one is an error: silently skipping would desynchronise the moments).
   */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.opts;
    for (const name of this.params.keys()) if (!grads.has(name)) throw new Error(`no gradient for parameter ${name}`);
    this.ensureMoments();
    this.step++;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    const stepSize = lr / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    for (const [name, p] of this.params) {
      const g = grads.get(name)!;
      if (this.hostState) {
        const gv = g.dataSync() as Float32Array;
        const pv = Float32Array.from(p.dataSync() as Float32Array);
        const m = this.hostM.get(name)!;
        const v = this.hostV.get(name)!;
        for (let i = 0; i < pv.length; i++) {
          const gd = gv[i] + weightDecay * pv[i];
          const mi = beta1 * m[i] + (1 - beta1) * gd;
          const vi = beta2 * v[i] + (1 - beta2) * gd * gd;
          m[i] = mi;
          v[i] = vi;
          pv[i] = pv[i] - stepSize * (m[i] / (Math.sqrt(v[i]) / sqrtBc2 + eps));
        }
        tf.tidy(() => p.assign(tf.tensor(pv, p.shape, 'float32')));
        continue;
      }
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      tf.tidy(() => {
        const gd = weightDecay !== 0 ? tf.add(g, tf.mul(p, weightDecay)) : g;
        const mNew = tf.add(tf.mul(m, beta1), tf.mul(gd, 1 - beta1));
        const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(gd), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(vNew), sqrtBc2), eps);
        p.assign(tf.sub(p, tf.mul(tf.div(mNew, denom), stepSize)));
        m.assign(mNew);
        v.assign(vNew);
      });
    }
  }

  /** Copy the state out (for checkpoints). */
  getState(): AdamState {
    this.ensureMoments();
    const dump = (src: Map<string, Float32Array | tf.Variable>) =>
      new Map([...src].map(([k, a]) => [k, this.entry(k, a instanceof Float32Array ? a : (a.dataSync() as Float32Array))]));
    return this.hostState ? { step: this.step, m: dump(this.hostM), v: dump(this.hostV) } : { step: this.step, m: dump(this.m), v: dump(this.v) };
  }

  /** {@link getState}, read back asynchronously (works on every backend, webgpu included). */
  async readState(): Promise<AdamState> {
    this.ensureMoments();
    if (this.hostState) return this.getState();
    const dump = async (src: Map<string, tf.Variable>) => {
      const entries = [...src];
      const data = await Promise.all(entries.map(([, t]) => t.data() as Promise<Float32Array>));
      return new Map(entries.map(([k], i) => [k, this.entry(k, data[i])]));
    };
    return { step: this.step, m: await dump(this.m), v: await dump(this.v) };
  }

  /**
   * Restore a state written by {@link getState} (official layout).
   * @throws {Error} when a parameter is missing from it or has another size.
   */
  setState(state: AdamState): void {
    for (const src of [state.m, state.v]) {
      for (const [name, p] of this.params) {
        const t = src.get(name);
        if (!t) throw new Error(`optimizer state lacks ${name}`);
        if (t.data.length !== p.size) throw new Error(`optimizer state ${name} has ${t.data.length} values, expected ${p.size}`);
      }
    }
    this.ensureMoments();
    for (const [which, src] of [
      ['m', state.m],
      ['v', state.v],
    ] as const) {
      for (const name of this.params.keys()) {
        const official = src.get(name)!.data;
        const data = this.layouts.get(name)?.toStorage(official) ?? official;
        if (this.hostState) (which === 'm' ? this.hostM : this.hostV).get(name)!.set(data);
        else {
          const variable = (which === 'm' ? this.m : this.v).get(name)!;
          tf.tidy(() => variable.assign(tf.tensor(data, variable.shape)));
        }
      }
    }
    this.step = state.step;
  }

  /** Free the moment tensors (not the parameters). */
  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
    this.hostM.clear();
    this.hostV.clear();
    this.allocated = false;
  }
}

/**
 * The official schedule: constant `lr0` for the first half of `iterations`, then reduced by
 * lr0/(iterations/2) per step, reaching 0 at the last step. `step` is 1-based (the step being run).
 */
export function linearDecayLr(step: number, lr0: number, iterations: number, decay = true): number {
  const half = Math.floor(iterations / 2);
  if (!decay || half === 0 || step <= half) return lr0;
  return Math.max(0, lr0 - (lr0 / half) * (step - half));
}
