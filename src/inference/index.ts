/** The inference pipeline's public surface: what the bot and the CLI import. */
import type { Config } from '../config.ts';
import { type ClientOptions, createInferenceClient as createWorkerClient } from './inference.client.ts';
import type { InferenceClient } from './inference.types.ts';

export type { Direction, FaceBox, InferenceClient, TranslateOptions, TranslateResult } from './inference.types.ts';
export { DIRECTIONS } from './inference.types.ts';
export { InferenceError, isInferenceError, INFERENCE_ERROR_CODES, type InferenceErrorCode } from './inference.errors.ts';
export { WorkerInferenceClient, type ClientOptions } from './inference.client.ts';
export { ModelRegistry, type ModelInfo } from './model.registry.ts';

/**
 * The client the configuration asks for: an in-process worker thread (INFERENCE_TRANSPORT=inprocess,
 * the default) or a BullMQ queue on REDIS_URL served by `startRedisInferenceWorker` processes
 * (INFERENCE_TRANSPORT=redis). Resolves once it is ready to take work.
 */
export async function createInferenceClient(config: Config, opts: ClientOptions = {}): Promise<InferenceClient> {
  if (config.INFERENCE_TRANSPORT === 'redis') {
    const { createRedisInferenceClient } = await import('./redis.transport.ts');
    return createRedisInferenceClient(config);
  }
  return createWorkerClient(config, opts);
}
