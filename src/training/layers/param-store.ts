/**
 * The parameters and buffers of one network, keyed by their official UGATIT-pytorch names and kept
 * in PyTorch layout (conv OIHW, Linear [out,in], ρ/γ/β [1,C,1,1]). Layers transpose on the fly, so the
 * variables, their gradients and the optimiser's moments all have exactly the official shapes.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedTensor, StateDict } from '../tensors.ts';
import { NetworkError } from '../training.errors.ts';

let nextStoreId = 0;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Variables of one network; built from given weights (validated) or from initialisers. */
export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly trainable = new Set<string>();
  private readonly scope: string;

  /**
   * @param label - readable prefix of the tfjs variable names (they must be unique process-wide)
   * @param weights - official state_dict to load; every added name must be present with the same shape
   */
  constructor(label: string, private readonly weights?: StateDict) {
    this.scope = `${label}#${nextStoreId++}`;
  }

  /**
   * Register a parameter (trainable) or buffer (not trainable, e.g. spectral norm's u/v).
   * @throws {NetworkError} MISSING_TENSOR / SHAPE_MISMATCH when loading weights that do not fit.
   */
  add(name: string, shape: number[], init: () => NamedTensor, trainable = true): tf.Variable {
    let src: NamedTensor;
    if (this.weights) {
      const w = this.weights.get(name);
      if (!w) throw new NetworkError('MISSING_TENSOR', `weights lack tensor "${name}" (expected shape [${shape}])`, { name, expected: shape });
      if (!sameShape(w.shape, shape)) {
        throw new NetworkError('SHAPE_MISMATCH', `tensor "${name}" has shape [${w.shape}], expected [${shape}]`, { name, expected: shape, received: w.shape });
      }
      if (w.data.length !== shape.reduce((n, d) => n * d, 1)) {
        throw new NetworkError('SHAPE_MISMATCH', `tensor "${name}" holds ${w.data.length} values, shape [${shape}] needs more or fewer`, { name, expected: shape });
      }
      src = w;
    } else {
      src = init();
    }
    // Copy: tfjs' cpu backend would otherwise alias the caller's array.
    const v = tf.tidy(() => tf.variable(tf.tensor(src.data.slice(), shape, 'float32'), trainable, `${this.scope}/${name}`));
    this.vars.set(name, v);
    if (trainable) this.trainable.add(name);
    return v;
  }

  /** After all layers are added: loaded weights must not hold names the network does not have. */
  checkNoExtraWeights(): void {
    if (!this.weights) return;
    const extra = [...this.weights.keys()].filter((k) => !this.vars.has(k));
    if (extra.length > 0) {
      throw new NetworkError('UNEXPECTED_TENSOR', `weights hold ${extra.length} tensor(s) this network does not have: ${extra.slice(0, 5).join(', ')}`, { names: extra });
    }
  }

  /** The variable registered under an official name. */
  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new NetworkError('MISSING_TENSOR', `no parameter "${name}"`, { name });
    return v;
  }

  /** Trainable parameters in registration (official module) order. */
  trainableVariables(): Map<string, tf.Variable> {
    return new Map([...this.vars].filter(([k]) => this.trainable.has(k)));
  }

  /** Every parameter and buffer, copied out in PyTorch layout. */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [k, v] of this.vars) out.set(k, { shape: [...v.shape], data: (v.dataSync() as Float32Array).slice() });
    return out;
  }

  /**
   * Overwrite all parameters and buffers from a state_dict of the same network (names and shapes
   * must match exactly; nothing is changed when they do not).
   */
  load(sd: StateDict): void {
    const missing = [...this.vars.keys()].filter((k) => !sd.has(k));
    if (missing.length) throw new NetworkError('MISSING_TENSOR', `state_dict lacks ${missing.length} tensor(s): ${missing.slice(0, 5).join(', ')}`, { names: missing });
    const extra = [...sd.keys()].filter((k) => !this.vars.has(k));
    if (extra.length) throw new NetworkError('UNEXPECTED_TENSOR', `state_dict holds unknown tensor(s): ${extra.slice(0, 5).join(', ')}`, { names: extra });
    for (const [k, v] of this.vars) {
      const t = sd.get(k)!;
      if (!sameShape(t.shape, v.shape) || t.data.length !== v.size) {
        throw new NetworkError('SHAPE_MISMATCH', `tensor "${k}" has shape [${t.shape}], expected [${v.shape}]`, { name: k, expected: v.shape, received: t.shape });
      }
    }
    for (const [k, v] of this.vars) {
      const t = sd.get(k)!;
      tf.tidy(() => v.assign(tf.tensor(t.data.slice(), v.shape, 'float32')));
    }
  }

  /** Number of variables (parameters + buffers). */
  get size(): number {
    return this.vars.size;
  }

  /** Free every variable. */
  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.trainable.clear();
  }
}
