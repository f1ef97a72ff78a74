/** Messages between the inference client (main thread) and the worker thread. */
import type { Config } from '../config.ts';
import type { SerializedInferenceError, SerializedOtherError } from './inference.errors.ts';
import type { Direction, TranslateResult } from './inference.types.ts';
import type { MetadataOverrides } from './model.registry.ts';
import type { JobOptions } from './translate.pipeline.ts';

/** `workerData` of the worker. */
export interface WorkerInit {
  config: Config;
  modelFile?: string;
  modelOverrides?: MetadataOverrides;
}

type PostedError = SerializedInferenceError | SerializedOtherError;

export type ToWorker =
  | { type: 'job'; id: number; image: ArrayBuffer; opts: JobOptions }
  | { type: 'versions'; id: number }
  | { type: 'crash' }
  | { type: 'hang'; ms: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'fatal'; error: PostedError }
  | { type: 'result'; id: number; result: Omit<TranslateResult, 'png'> & { png: ArrayBuffer } }
  | { type: 'versions'; id: number; versions: Record<Direction, string | null> }
  | { type: 'error'; id: number; error: PostedError }
  | { type: 'closed' };
