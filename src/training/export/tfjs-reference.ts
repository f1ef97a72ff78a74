/**
 * The verification reference: the tfjs generator of src/training/networks (an independent implementation
 * of the same network, NHWC) wrapped to take and return the ONNX contract's NCHW arrays.
 */
import * as tf from '@tensorflow/tfjs';
import { config } from '../../config.ts';
import { selectBackend } from '../backend.ts';
import { createGenerator } from '../networks/index.ts';
import type { StateDict } from '../tensors.ts';
import type { GeneratorGraphConfig } from './generator-graph.ts';
import type { GeneratorOutputs, GeneratorReference } from './verify.ts';

let backendName: string | undefined;

/** Build the tfjs generator from `state` on the configured backend (TRAIN_BACKEND, default auto). */
export async function createTfjsReference(state: StateDict, cfg: GeneratorGraphConfig): Promise<GeneratorReference> {
  backendName ??= (await selectBackend(config().TRAIN_BACKEND)).name;
  const gen = createGenerator({ variant: cfg.variant, light: cfg.light, ngf: cfg.ngf, n_blocks: cfg.n_blocks, img_size: cfg.img_size }, state);
  return {
    name: `tfjs-${tf.getBackend()}`,
    async run(input: Float32Array, shape: [number, number, number, number]): Promise<GeneratorOutputs> {
      const outs = tf.tidy(() => {
        const x = tf.transpose(tf.tensor4d(input, shape), [0, 2, 3, 1]) as tf.Tensor4D;
        const r = gen.apply(x);
        return [tf.transpose(r.image, [0, 3, 1, 2]), r.camLogit, tf.transpose(r.heatmap, [0, 3, 1, 2])];
      });
      try {
        const [output, camLogit, heatmap] = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
        return { output, camLogit, heatmap };
      } finally {
        tf.dispose(outs);
      }
    },
    dispose: () => gen.dispose(),
  };
}
