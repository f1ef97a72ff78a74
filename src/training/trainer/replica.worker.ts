/**
 * One data-parallel replica (a worker thread): its own tfjs instance and a full copy of the six
 * networks. Per iteration it runs the ordinary {@link UgatitTrainStep} on its share of the batch, but
 * instead of updating, hands each phase's gradients to the coordinator and waits for the averaged
 * update's parameters (see data-parallel.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendPreference } from '../backend.ts';
import { createDiscriminator, createGenerator } from '../networks/index.ts';
import type { NetworkName, UgatitState } from '../tensors.ts';
import type { FromReplica, ReplicaInit, ToReplica } from './replica.protocol.ts';
import { UgatitTrainStep, type UgatitNetworks } from './train-step.ts';

const port = parentPort!;
const init = workerData as ReplicaInit;
const post = (msg: FromReplica, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

let waitingParams: ((m: Extract<ToReplica, { type: 'params' }>) => void) | undefined;

function buildNets(): UgatitNetworks {
  const c = init.nets;
  const gen = { light: c.light, ngf: c.ngf, n_blocks: c.nRes, img_size: c.imgSize };
  return {
    genA2B: createGenerator(gen, init.state.genA2B, { label: 'genA2B' }),
    genB2A: createGenerator(gen, init.state.genB2A, { label: 'genB2A' }),
    disGA: createDiscriminator({ ndf: c.ndf, nLayers: c.disLayersGlobal }, init.state.disGA, { label: 'disGA' }),
    disGB: createDiscriminator({ ndf: c.ndf, nLayers: c.disLayersGlobal }, init.state.disGB, { label: 'disGB' }),
    disLA: createDiscriminator({ ndf: c.ndf, nLayers: c.disLayersLocal }, init.state.disLA, { label: 'disLA' }),
    disLB: createDiscriminator({ ndf: c.ndf, nLayers: c.disLayersLocal }, init.state.disLB, { label: 'disLB' }),
  };
}

async function main(): Promise<void> {
  await selectBackend(init.backend as BackendPreference);
  const nets = buildNets();
  const byKey = new Map<string, tf.Variable>();
  for (const [net, n] of Object.entries(nets)) for (const [p, v] of n.trainableVariables()) byKey.set(`${net}.${p}`, v);
  const sut = new UgatitTrainStep(nets, {
    lowMemory: init.lowMemory,
    lossWeights: init.lossWeights,
    update: async (phase, grads) => {
      const names = [...grads.keys()];
      const values = await Promise.all(names.map(async (k) => ((await grads.get(k)!.data()) as Float32Array).slice()));
      const params = new Promise<Extract<ToReplica, { type: 'params' }>>((resolve) => (waitingParams = resolve));
      post({ type: 'grads', phase, names, values }, values.map((v) => v.buffer as ArrayBuffer));
      const msg = await params;
      let at = 0;
      msg.names.forEach((k, i) => {
        const v = byKey.get(k);
        if (!v) throw new Error(`replica has no parameter ${k}`);
        const view = msg.shared.subarray(at, at + msg.sizes[i]);
        at += msg.sizes[i];
        tf.tidy(() => v.assign(tf.tensor(view, v.shape, 'float32')));
      });
    },
  });
  port.on('message', (msg: ToReplica) => {
    if (msg.type === 'params') {
      const resolve = waitingParams;
      waitingParams = undefined;
      resolve?.(msg);
      return;
    }
    void (async () => {
      try {
        if (msg.type === 'step') {
          const a = tf.tensor4d(msg.a, msg.shape);
          const b = tf.tensor4d(msg.b, msg.shape);
          try {
            const losses = await sut.run(a, b, msg.lr);
            post({ type: 'done', losses });
          } finally {
            a.dispose();
            b.dispose();
          }
        } else if (msg.type === 'state') {
          const state: UgatitState = {};
          for (const n of msg.networks) state[n as NetworkName] = await nets[n].readStateDict();
          post({ type: 'state', state });
        }
      } catch (err) {
        post({ type: 'error', message: (err as Error).message, stack: (err as Error).stack });
      }
    })();
  });
  post({ type: 'ready' });
}

main().catch((err: unknown) => post({ type: 'error', message: (err as Error).message, stack: (err as Error).stack }));
