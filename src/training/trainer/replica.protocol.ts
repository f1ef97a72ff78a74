/**
 * Messages between the data-parallel coordinator (main thread, {@link DataParallelStep}) and its
 * replicas (worker threads, replica.worker.ts). Tensors travel as Float32Arrays keyed
 * `<network>.<official param name>`; gradients are transferred, not copied.
 */
import type { TrainStepOptions } from './train-step.ts';
import type { NetworkName, UgatitState } from '../tensors.ts';

/** What a replica is built from. */
export interface ReplicaInit {
  /** The tfjs backend each replica activates (its own instance: wasm runs one thread per instance). */
  backend: string;
  /** Network shapes, as the trainer's options. */
  nets: { light: boolean; ngf: number; ndf: number; nRes: number; imgSize: number; disLayersGlobal: number; disLayersLocal: number };
  /** Every network's weights and spectral-norm buffers: all replicas start identical. */
  state: UgatitState;
  lowMemory: boolean;
  lossWeights?: TrainStepOptions['lossWeights'];
}

export type ToReplica =
  | { type: 'step'; a: Float32Array; b: Float32Array; shape: [number, number, number, number]; lr: number }
  | { type: 'params'; phase: 'D' | 'G'; names: string[]; /** concatenated values, shared by all replicas */ shared: Float32Array; sizes: number[] }
  | { type: 'state'; networks: readonly NetworkName[] };

export type FromReplica =
  | { type: 'ready' }
  | { type: 'grads'; phase: 'D' | 'G'; names: string[]; values: Float32Array[] }
  | { type: 'done'; losses: Record<string, number> }
  | { type: 'state'; state: UgatitState }
  | { type: 'error'; message: string; stack?: string };
