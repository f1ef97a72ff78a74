/** The public types of the inference pipeline: what the bot, the CLI and the tests call. */

import type { Direction } from '../shared/direction.ts';

export { DIRECTIONS, type Direction } from '../shared/direction.ts';

/** Options of one translation. */
export interface TranslateOptions {
  direction: Direction;
  /** Blend the generator's CAM attention heatmap over the output. */
  attention?: boolean;
  /** Put the input crop to the left of the output (before / after). */
  sideBySide?: boolean;
  /** `one` (default): the largest face; `all`: every face, returned as a grid. */
  faces?: 'one' | 'all';
  /** `auto` (default): faces must be found (else NO_FACE); `center`: fall back to the centre square. */
  crop?: 'auto' | 'center';
  /** Output side of each translated face (default from OUTPUT_SIZE; 512 is upscaled with Lanczos). */
  outputSize?: 256 | 512;
  /** Abort the job; it fails with ABORTED. */
  signal?: AbortSignal;
  /** Called whenever the job's queue position changes; 0 = running now. */
  onQueuePosition?: (position: number) => void;
}

/** A face box in input-image pixels (after EXIF orientation). */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

/** The outcome of one translation. */
export interface TranslateResult {
  png: Buffer;
  direction: Direction;
  modelVersion: string;
  facesFound: number;
  cropMode: 'face' | 'center';
  /** The square crops that were translated (empty detections → the centre square when cropMode is center). */
  boxes: FaceBox[];
  inputSha256: string;
  /** Milliseconds per stage (queue, decode, detect, crop, generate, render) and `total`. */
  timings: Record<string, number>;
  /** How many images shared the generator run that produced this result (dynamic batching). */
  batchSize?: number;
}

/** What the bot calls. Created by `createInferenceClient(config)`. */
export interface InferenceClient {
  /** Translate the face(s) in `image`. Rejects with an InferenceError. */
  translate(image: Buffer, opts: TranslateOptions): Promise<TranslateResult>;
  /** Jobs waiting or running now. */
  queueDepth(): number;
  /** The version served per direction now (null when no model is available). */
  modelVersions(): Promise<Record<Direction, string | null>>;
  /** Stop the worker; pending jobs fail with ABORTED. */
  close(): Promise<void>;
}
