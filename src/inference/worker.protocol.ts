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
  /** Obey the `crash` and `hang` control messages (test doubles only; see ClientOptions.faultInjection). */
  faultInjection?: boolean;
}

type PostedError = SerializedInferenceError | SerializedOtherError;

export type ToWorker =
  | { type: 'job'; id: number; image: ArrayBuffer; opts: JobOptions }
  | { type: 'versions'; id: number }
  // Fault injection, obeyed only when the worker was started with `faultInjection`:
  | { type: 'crash' }
  | { type: 'hang'; ms: number }
  /**
   * Shut down gracefully: refuse new jobs (ABORTED), release the ONNX sessions once no run is under
   * way, wait for the jobs still held, answer `closed`, and let the thread end. May arrive while the
   * worker is still starting; it then closes once its sessions exist.
   */
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'fatal'; error: PostedError }
  | { type: 'result'; id: number; result: Omit<TranslateResult, 'png'> & { png: ArrayBuffer } }
  | { type: 'versions'; id: number; versions: Record<Direction, string | null> }
  | { type: 'error'; id: number; error: PostedError }
  /** Everything is released; the thread ends by itself next (the client terminates it only as a last resort). */
  | { type: 'closed' };
