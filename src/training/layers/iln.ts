import * as tf from '@tensorflow/tfjs';
import { constantTensor } from './init.ts';
import { ilnMix } from './instance-norm.ts';
import type { ParamStore } from './param-store.ts';

/**
 * ILN (Instance-Layer Normalisation) of the up-sampling path: ilnMix(x, ρ)·γ + β with learnable ρ, γ, β,
 * each `[1,C,1,1]` (official names `<prefix>.rho|gamma|beta`), initialised ρ=0, γ=1, β=0.
 */
export class ILN {
  readonly rho: tf.Variable;
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(params: ParamStore, prefix: string, readonly channels: number) {
    const shape = [1, channels, 1, 1];
    this.rho = params.add(`${prefix}.rho`, shape, () => constantTensor(shape, 0));
    this.gamma = params.add(`${prefix}.gamma`, shape, () => constantTensor(shape, 1));
    this.beta = params.add(`${prefix}.beta`, shape, () => constantTensor(shape, 0));
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const c = this.channels;
      return tf.add(tf.mul(ilnMix(x, this.rho), tf.reshape(this.gamma, [c])), tf.reshape(this.beta, [c])) as tf.Tensor4D;
    });
  }
}
