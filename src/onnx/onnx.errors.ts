import { AppError } from '../errors.ts';

/**
 * A run refused by `runtime.ts`. `MODEL_DISPOSED`: the model was disposed (the worker is shutting
 * down); the inference pipeline passes it on as `InferenceError[ABORTED]`. Kept apart from
 * `runtime.ts` so that checking for it does not load onnxruntime-node.
 */
export class OnnxError extends AppError<'MODEL_DISPOSED'> {}
