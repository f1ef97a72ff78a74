/** The training backends a user may ask for, without loading TensorFlow.js (the CLI lists them in --help). */

/** What the user may ask for (`TRAIN_BACKEND`, `--backend`). */
export type BackendPreference = 'auto' | 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';

export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];
