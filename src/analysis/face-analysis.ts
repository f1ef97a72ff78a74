/**
 * Face analysis that runs offline: one wrapper around `@vladmandic/face-api` (MIT; its models ship inside
 * the npm package) on TensorFlow.js. For each face it gives the box, the detector's score, the 68
 * landmarks, a 128-d identity descriptor, the apparent age and the gender with its probability.
 *
 * Layering: `src/analysis` sits below `src/inference` and `src/db` users (the bot's audit and the
 * `webtoon eval` command both use it) and imports nothing from them: it takes plain RGB pixels.
 *
 * TensorFlow.js instance: face-api's `dist/face-api.node-wasm.js` bundle `require`s `@tensorflow/tfjs`
 * and `@tensorflow/tfjs-backend-wasm` instead of bundling its own copy, and `@tensorflow/tfjs` has no
 * `exports` map, so the trainer's ESM `import * as tf from '@tensorflow/tfjs'` and this `require` load
 * the same CommonJS module: one engine, one backend registry, one tensor count. Hence the rules here:
 * - if a backend is already active (the trainer chose tfjs-node or wasm), it is kept, never switched;
 * - otherwise the wasm backend is activated through the trainer's own `selectBackend('wasm')`, which
 *   also sets the .wasm binary path once for the process;
 * - every tensor made here is disposed (`analyze` leaves the engine's tensor count as it found it;
 *   tested).
 * Models load once per process (a shared promise), from `node_modules/@vladmandic/face-api/model`.
 *
 * What the analysers can be trusted for: they were trained on photographs. On real photos and on
 * photo-like outputs (`/reverse` results, cycle reconstructions a2b→b2a) identity, gender and age are
 * meaningful; on webtoon drawings (`/webtoonify` outputs) detection often fails and gender/age are weak.
 * See docs/evaluation.md.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type * as FaceApi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import { AppError } from '../errors.ts';

/** An 8-bit RGB image, row-major (HWC), 3 channels (the shape `decodeImage` returns). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** Must be 3 (checked). */
  channels: number;
}

/** One analysed face. Coordinates are in the analysed image's pixels. */
export interface FaceAnalysis {
  box: { x: number; y: number; width: number; height: number };
  /** Detector confidence in [0, 1]. */
  score: number;
  /** 128-d face descriptor (face-api's ResNet-34-like recognition net; L2 norm ≈ 1). */
  descriptor: Float32Array;
  gender: 'male' | 'female';
  /** Probability of `gender`, in [0.5, 1]. */
  genderProbability: number;
  /** Apparent age in years. */
  age: number;
  /** 68 landmarks (iBUG layout: 36–41 left eye, 42–47 right eye as seen in the image). */
  landmarks: { x: number; y: number }[];
}

/** The face analyser could not start or was given something it cannot analyse. */
export class FaceAnalysisError extends AppError<'ANALYSIS_UNAVAILABLE' | 'INVALID_IMAGE' | 'DISPOSED'> {}

export interface FaceAnalyzerOptions {
  /** Smallest detector score kept (default 0.3: outputs of a generator are often low-contrast). */
  minConfidence?: number;
  /** Most faces returned per image (default 16). */
  maxFaces?: number;
}

type FaceApiModule = typeof FaceApi;

const require = createRequire(import.meta.url);
let loaded: Promise<FaceApiModule> | undefined;

/** Directory of the models that ship inside the face-api package. */
export function faceApiModelDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/** Version string of the analyser, stored with each audit so results of different analysers are not mixed. */
export function faceApiVersion(): string {
  return `face-api ${(require('@vladmandic/face-api/package.json') as { version: string }).version}`;
}

async function loadOnce(): Promise<FaceApiModule> {
  const { selectBackend } = await import('../training/backend.ts');
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiModule;
  // One engine for the whole process, or tensors of one would be invisible to the other's dispose/memory.
  if ((faceapi.tf as unknown as { engine(): unknown }).engine() !== tf.engine()) {
    throw new Error('face-api loaded a second TensorFlow.js instance (check that @tensorflow/tfjs is deduplicated in node_modules)');
  }
  // Keep a backend someone already chose (e.g. the trainer's tfjs-node); else wasm (one thread, SIMD).
  if (!tf.engine().backendName) await selectBackend('wasm');
  const dir = faceApiModelDir();
  await Promise.all([
    faceapi.nets.ssdMobilenetv1.loadFromDisk(dir),
    faceapi.nets.faceLandmark68Net.loadFromDisk(dir),
    faceapi.nets.faceRecognitionNet.loadFromDisk(dir),
    faceapi.nets.ageGenderNet.loadFromDisk(dir),
  ]);
  return faceapi;
}

/**
 * Detects and describes faces. Create with {@link FaceAnalyzer.create}; models are loaded once per process
 * however many analysers exist. Calls are serialised (the wasm backend is single-threaded anyway).
 */
export class FaceAnalyzer {
  private chain: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    private readonly faceapi: FaceApiModule,
    private readonly options: Required<FaceAnalyzerOptions>,
  ) {}

  /**
   * Load the models (once per process) and return an analyser.
   * @throws {FaceAnalysisError} ANALYSIS_UNAVAILABLE when the package or its models cannot be loaded.
   */
  static async create(options: FaceAnalyzerOptions = {}): Promise<FaceAnalyzer> {
    const minConfidence = options.minConfidence ?? 0.3;
    const maxFaces = options.maxFaces ?? 16;
    if (!(minConfidence > 0 && minConfidence < 1)) throw new TypeError(`FaceAnalyzer: minConfidence must be in (0, 1), got ${minConfidence}`);
    if (!Number.isInteger(maxFaces) || maxFaces < 1) throw new TypeError(`FaceAnalyzer: maxFaces must be a positive integer, got ${maxFaces}`);
    loaded ??= loadOnce().catch((err: unknown) => {
      loaded = undefined;
      throw new FaceAnalysisError('ANALYSIS_UNAVAILABLE', `the face analyser could not load: ${(err as Error).message}`, {}, { cause: err });
    });
    return new FaceAnalyzer(await loaded, { minConfidence, maxFaces });
  }

  /** The TensorFlow.js engine's live tensor count (for leak tests). */
  numTensors(): number {
    return tf.memory().numTensors;
  }

  /** Name of the active tfjs backend (`wasm`, `tensorflow`, `cpu`). */
  backend(): string {
    return tf.getBackend();
  }

  /**
   * Every face in the image, largest first.
   * @throws {FaceAnalysisError} INVALID_IMAGE when `image` is not 8-bit RGB of the stated size.
   */
  analyze(image: RgbImage): Promise<FaceAnalysis[]> {
    if (this.disposed) return Promise.reject(new FaceAnalysisError('DISPOSED', 'the face analyser was disposed'));
    try {
      checkImage(image);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const run = this.chain.then(() => this.run(image));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * The 128-d descriptor of an image that already is a face crop, without detection (face-api's
   * recognition net resizes it to 150²). Used for the eval's "face-KID" on webtoon drawings, where the
   * photo-trained detector often finds nothing.
   */
  describeCrop(image: RgbImage): Promise<Float32Array> {
    if (this.disposed) return Promise.reject(new FaceAnalysisError('DISPOSED', 'the face analyser was disposed'));
    try {
      checkImage(image);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const run = this.chain.then(async () => {
      const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
      try {
        const d = await this.faceapi.computeFaceDescriptor(input as unknown as FaceApi.TNetInput);
        return Float32Array.from(Array.isArray(d) ? d[0] : d);
      } finally {
        input.dispose();
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The largest face, or null when none is found. */
  async largestFace(image: RgbImage): Promise<FaceAnalysis | null> {
    const faces = await this.analyze(image);
    return faces[0] ?? null;
  }

  private async run(image: RgbImage): Promise<FaceAnalysis[]> {
    const { faceapi, options } = this;
    const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    try {
      const results = await faceapi
        .detectAllFaces(input as unknown as FaceApi.TNetInput, new faceapi.SsdMobilenetv1Options({ minConfidence: options.minConfidence, maxResults: options.maxFaces }))
        .withFaceLandmarks()
        .withFaceDescriptors()
        .withAgeAndGender();
      return results
        .map((r) => ({
          box: { x: r.detection.box.x, y: r.detection.box.y, width: r.detection.box.width, height: r.detection.box.height },
          score: r.detection.score,
          descriptor: Float32Array.from(r.descriptor),
          gender: r.gender === 'male' ? ('male' as const) : ('female' as const),
          genderProbability: r.genderProbability,
          age: r.age,
          landmarks: r.landmarks.positions.map((p) => ({ x: p.x, y: p.y })),
        }))
        .sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
    } finally {
      input.dispose();
    }
  }

  /** Stop accepting work. The models stay loaded for other analysers of the process. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.chain;
  }
}

function checkImage(image: RgbImage): void {
  const ok =
    typeof image === 'object' &&
    image !== null &&
    image.data instanceof Uint8Array &&
    Number.isInteger(image.width) &&
    Number.isInteger(image.height) &&
    image.width > 0 &&
    image.height > 0 &&
    image.channels === 3 &&
    image.data.length === image.width * image.height * 3;
  if (!ok) {
    const got = image && typeof image === 'object' ? { width: image.width, height: image.height, channels: image.channels, bytes: image.data?.length } : { value: String(image) };
    throw new FaceAnalysisError('INVALID_IMAGE', `image: expected 8-bit RGB { data, width, height, channels: 3 } with width·height·3 bytes, received ${JSON.stringify(got)}`, got);
  }
}

/**
 * Identity similarity of two faces: the cosine of their descriptors, in [-1, 1] (1 = same direction).
 * face-api descriptors are close to unit length, so 1 − cosine ≈ half the squared Euclidean distance
 * face-api's own matcher uses (its "same person" threshold of distance 0.6 ≈ cosine 0.82).
 */
export function identitySimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length || a.length === 0) throw new TypeError(`identitySimilarity: descriptors must have the same non-zero length, got ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na === 0 || nb === 0) return 0;
  return dot / Math.sqrt(na * nb);
}

/** A horizontally mirrored copy of an RGB image (pure pixel copy; used by tests and the eval's sanity check). */
export function mirrorImage(image: RgbImage): RgbImage {
  const { width, height } = image;
  const out = new Uint8Array(image.data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const s = row + x * 3;
      const d = row + (width - 1 - x) * 3;
      out[d] = image.data[s];
      out[d + 1] = image.data[s + 1];
      out[d + 2] = image.data[s + 2];
    }
  }
  return { data: out, width, height, channels: 3 };
}
