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
  readonly opts: AdamOptions;

  /**
   * @param params - the variables to optimise, by a stable name (e.g. `genA2B.UpBlock2.1.rho`)
   */
  constructor(
    readonly params: ReadonlyMap<string, tf.Variable>,
    opts: Partial<AdamOptions> = {},
  ) {
    this.opts = { ...OFFICIAL_ADAM, ...opts };
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /**
   * One update with learning rate `lr`. `grads` must hold a gradient for every parameter
   * (a missing one is an error: silently skipping would desynchronise the moments).
   */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.opts;
    this.step++;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    const stepSize = lr / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (!g) throw new Error(`no gradient for parameter ${name}`);
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
    const dump = (src: Map<string, tf.Variable>) =>
      new Map([...src].map(([k, t]) => [k, { shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) }]));
    return { step: this.step, m: dump(this.m), v: dump(this.v) };
  }

  /**
   * Restore a state written by {@link getState}.
   * @throws {Error} when a parameter is missing from it or has another size.
   */
  setState(state: AdamState): void {
    for (const [which, src] of [
      [this.m, state.m],
      [this.v, state.v],
    ] as const) {
      for (const [name, variable] of which) {
        const t = src.get(name);
        if (!t) throw new Error(`optimizer state lacks ${name}`);
        if (t.data.length !== variable.size) throw new Error(`optimizer state ${name} has ${t.data.length} values, expected ${variable.size}`);
        tf.tidy(() => variable.assign(tf.tensor(t.data, variable.shape)));
      }
    }
    this.step = state.step;
  }

  /** Free the moment tensors (not the parameters). */
  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
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
