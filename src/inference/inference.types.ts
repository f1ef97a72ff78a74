/** The public types of the inference pipeline: what the bot, the CLI and the tests call. */

import type { Direction } from '../shared/direction.ts';

export { DIRECTIONS, type Direction } from '../shared/direction.ts';

/**
 * What comes back: `face` the translated square face (a grid for several faces), `photo` the whole
 * picture at its own size with every translated face blended back where it was, `side_by_side` the
 * input crop beside the translated face.
 */
export type OutputMode = 'face' | 'photo' | 'side_by_side';

export const OUTPUT_MODES: readonly OutputMode[] = ['face', 'photo', 'side_by_side'];

/** Options of one translation. */
export interface TranslateOptions {
  direction: Direction;
  /** Blend the generator's CAM attention heatmap over the output. */
  attention?: boolean;
  /** What comes back (default `face`; `side_by_side` when the older `sideBySide` flag is set). */
  output?: OutputMode;
  /** Older spelling of `output: 'side_by_side'`; ignored when `output` is given. */
  sideBySide?: boolean;
  /**
   * Level the eye line (BlazeFace key points) before cropping; the paste-back turns the face back.
   * Default false (the box crop): whether aligned crops become the default is decided by the audit's identity measurement.
   */
  aligned?: boolean;
  /** `one` (default): the largest face; `all`: every face, returned as a grid. */
  faces?: 'one' | 'all';
  /** `auto` (default): faces must be found (else NO_FACE); `center`: fall back to the centre square. */
  crop?: 'auto' | 'center';
  /** Output side of each translated face (default from OUTPUT_SIZE; 512 is upscaled with Lanczos). */
  outputSize?: 256 | 512;
  /** Also return the largest face's model-size input crop and raw output, for the automatic audit (src/analysis). */
  auditImages?: boolean;
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
  /** Degrees the crop was turned to level the eye line (aligned crops only; 0 or absent = box crop). */
  angle?: number;
}

/** The outcome of one translation. */
export interface TranslateResult {
  png: Buffer;
  /** The output mode that produced `png`. */
  output: OutputMode;
  /** Size of `png` (a `photo` is the picture's own size unless it had to be scaled down for upload). */
  width: number;
  height: number;
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
  /** With `auditImages`: the largest face's input crop and the generator's output (no overlay), 8-bit RGB, width×height×3. */
  auditImages?: AuditImages;
}

/** The pixels the automatic audit compares (see {@link TranslateOptions.auditImages}). */
export interface AuditImages {
  width: number;
  height: number;
  input: Uint8Array;
  output: Uint8Array;
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
