/**
 * The parameters and buffers of one network, keyed by their official UGATIT-pytorch names. Most are
 * kept in PyTorch layout (Linear [out,in], ρ/γ/β [1,C,1,1]); those added with a {@link ParamLayout}
 * (conv weights: HWIO) are stored permuted, and every way in (given weights, {@link ParamStore.load}) and
 * out ({@link ParamStore.stateDict}, {@link ParamStore.readStateDict}, {@link ParamStore.layouts} for
 * gradients and Adam's moments) converts, so state dicts always have the official shapes and order.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedTensor, StateDict } from '../tensors.ts';
import type { ParamLayout } from './param-layout.ts';
import { NetworkError } from '../training.errors.ts';

let nextStoreId = 0;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Variables of one network; built from given weights (validated) or from initialisers. */
export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly trainable = new Set<string>();
  private readonly layout = new Map<string, ParamLayout>();
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
   * @param shape - the official (PyTorch) shape; `init` returns data in that layout too
   * @param layout - store permuted (the variable then has `layout.storageShape`)
   * @throws {NetworkError} MISSING_TENSOR / SHAPE_MISMATCH when loading weights that do not fit.
   */
  add(name: string, shape: number[], init: () => NamedTensor, trainable = true, layout?: ParamLayout): tf.Variable {
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
    // Copy (toStorage copies too): tfjs' cpu backend would otherwise alias the caller's array.
    const data = layout ? layout.toStorage(src.data) : src.data.slice();
    const v = tf.tidy(() => tf.variable(tf.tensor(data, layout?.storageShape ?? shape, 'float32'), trainable, `${this.scope}/${name}`));
    this.vars.set(name, v);
    if (layout) this.layout.set(name, layout);
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

  /** Parameters stored in another layout than PyTorch's, by official name. */
  layouts(): ReadonlyMap<string, ParamLayout> {
    return this.layout;
  }

  /** The official shape of a variable's name (its own shape unless stored permuted). */
  private officialShape(name: string, v: tf.Variable): number[] {
    return [...(this.layout.get(name)?.officialShape ?? v.shape)];
  }

  /** Stored data of `name` as a fresh array in the official layout. */
  private official(name: string, data: Float32Array): Float32Array {
    const layout = this.layout.get(name);
    return layout ? layout.toOfficial(data) : data.slice();
  }

  /** Every parameter and buffer, copied out in PyTorch layout. */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [k, v] of this.vars) out.set(k, { shape: this.officialShape(k, v), data: this.official(k, v.dataSync() as Float32Array) });
    return out;
  }

  /** Every parameter and buffer, read back asynchronously (works on GPU backends, which cannot read synchronously). */
  async readStateDict(): Promise<StateDict> {
    const entries = [...this.vars];
    const data = await Promise.all(entries.map(([, v]) => v.data() as Promise<Float32Array>));
    return new Map(entries.map(([k, v], i) => [k, { shape: this.officialShape(k, v), data: this.official(k, data[i]) }]));
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
      const expected = this.officialShape(k, v);
      if (!sameShape(t.shape, expected) || t.data.length !== v.size) {
        throw new NetworkError('SHAPE_MISMATCH', `tensor "${k}" has shape [${t.shape}], expected [${expected}]`, { name: k, expected, received: t.shape });
      }
    }
    for (const [k, v] of this.vars) {
      const t = sd.get(k)!;
      const layout = this.layout.get(k);
      const data = layout ? layout.toStorage(t.data) : t.data.slice();
      tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32')));
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
    this.layout.clear();
  }
}
