/** The inference pipeline's public surface: what the bot and the CLI import. */
export type { Direction, FaceBox, InferenceClient, TranslateOptions, TranslateResult } from './inference.types.ts';
export { DIRECTIONS } from './inference.types.ts';
export { InferenceError, isInferenceError, INFERENCE_ERROR_CODES, type InferenceErrorCode } from './inference.errors.ts';
export { createInferenceClient, WorkerInferenceClient, type ClientOptions } from './inference.client.ts';
export { ModelRegistry, type ModelInfo } from './model.registry.ts';
