import * as tf from '@tensorflow/tfjs';
import { constantTensor } from './init.ts';
import { ilnMix } from './instance-norm.ts';
import type { ParamStore } from './param-store.ts';

/**
 * AdaILN of the decoder blocks: ilnMix(x, ρ)·γ[b,c] + β[b,c], with γ, β `[B,C]` from the MLP. Its only
 * parameter is ρ `[1,C,1,1]` (official name `<prefix>.rho`), initialised to 0.9.
 */
export class AdaILN {
  readonly rho: tf.Variable;

  constructor(params: ParamStore, prefix: string, readonly channels: number) {
    const shape = [1, channels, 1, 1];
    this.rho = params.add(`${prefix}.rho`, shape, () => constantTensor(shape, 0.9));
  }

  apply(x: tf.Tensor4D, gamma: tf.Tensor2D, beta: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, , , c] = x.shape;
      // γ, β are per sample: [B,C] → [B,1,1,C] to broadcast over H and W
      return tf.add(tf.mul(ilnMix(x, this.rho), tf.reshape(gamma, [b, 1, 1, c])), tf.reshape(beta, [b, 1, 1, c])) as tf.Tensor4D;
    });
  }
}
