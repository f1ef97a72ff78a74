/**
 * Webtoon/anime face detection with OpenCV (compiled to wasm, `@techstark/opencv-js`) and the LBP
 * cascade `lbpcascade_animeface.xml` the seed project used to crop its webtoon training faces.
 * The OpenCV module object is thenable: never `await` it; wait for `onRuntimeInitialized` instead.
 *
 * Hostile images: the cascade runs on a copy at most {@link DETECT_MAX_SIDE} px on its long side (a
 * 5000×5000 image used to exhaust the 1 GiB wasm heap). Should the wasm module still fail (any
 * `WebAssembly.RuntimeError`), its heap may be corrupt: the detector drops that module, loads a fresh
 * OpenCV instance with its cascade, and throws {@link AnimeDetectorError} for the one call, so no later
 * request ever meets the broken module.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { RawImage } from '../media/media.ts';
import { resizeTo, toGray } from '../media/media.ts';
import type { Detection } from './face-box.ts';

/** The few OpenCV.js members we use. */
interface CvMat {
  delete(): void;
}
interface CvRectVector {
  size(): number;
  get(i: number): { x: number; y: number; width: number; height: number };
  delete(): void;
}
interface CvCascade {
  load(path: string): boolean;
  detectMultiScale(img: CvMat, out: CvRectVector, scale: number, minNeighbors: number, flags: number, minSize: unknown, maxSize: unknown): void;
  delete(): void;
}
interface Cv {
  Mat?: unknown;
  onRuntimeInitialized?: () => void;
  matFromArray(rows: number, cols: number, type: number, data: ArrayLike<number>): CvMat;
  CV_8UC1: number;
  RectVector: new () => CvRectVector;
  CascadeClassifier: new () => CvCascade;
  Size: new (w: number, h: number) => unknown;
  equalizeHist(src: CvMat, dst: CvMat): void;
  FS_createDataFile(parent: string, name: string, data: Uint8Array, canRead: boolean, canWrite: boolean, canOwn: boolean): void;
  FS_unlink?(path: string): void;
}

// The module is wrapped in an object: resolving a promise with the thenable module itself loops forever.
let cvPromise: Promise<{ cv: Cv }> | undefined;

/** Load OpenCV.js once per thread; `fresh` drops the current instance (its wasm heap) and loads a new one. */
function loadCv(fresh = false): Promise<{ cv: Cv }> {
  const require = createRequire(import.meta.url);
  if (fresh) {
    cvPromise = undefined;
    // A new evaluation of the module file instantiates a new wasm module with a new heap. The file
    // builds on a global `Module` left by the previous evaluation: remove it, or embind registers twice.
    delete require.cache[require.resolve('@techstark/opencv-js')];
    delete (globalThis as { Module?: unknown }).Module;
  }
  cvPromise ??= new Promise<{ cv: Cv }>((resolve, reject) => {
    try {
      const cv = require('@techstark/opencv-js') as Cv;
      if (cv.Mat) {
        resolve({ cv });
        return;
      }
      const timer = setTimeout(() => reject(new Error('OpenCV.js did not initialise within 30 s')), 30_000);
      cv.onRuntimeInitialized = () => {
        clearTimeout(timer);
        resolve({ cv });
      };
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
  return cvPromise;
}

let fileCounter = 0;

/** Long side of the second, downscaled pass. */
export const SECOND_PASS_SIDE = 200;

/** Longest side the cascade ever sees: larger images are detected on a downscaled copy. */
export const DETECT_MAX_SIDE = 1024;

/** The wasm module failed during one detection; the detector has already replaced it. */
export class AnimeDetectorError extends Error {
  override readonly name = 'AnimeDetectorError';
}

/** True for an error raised by the WebAssembly runtime (trap, out-of-bounds access, abort). */
function isWasmFailure(err: unknown): boolean {
  if (err instanceof Error && err.name === 'RuntimeError') return true; // WebAssembly.RuntimeError
  // Emscripten's abort() and some traps surface as plain errors or numbers (a C++ exception pointer).
  if (typeof err === 'number') return true;
  const message = err instanceof Error ? err.message : String(err);
  return /memory access out of bounds|abort\(|unreachable|Cannot enlarge memory|out of memory/i.test(message);
}

export interface AnimeFaceOptions {
  /** Scale step between pyramid levels (default 1.05; 1.1 missed our drawn test face). */
  scaleFactor?: number;
  /** Neighbours a candidate needs (default 5, as the cascade's author suggests). */
  minNeighbors?: number;
  /** Smallest face side in pixels (default 24). */
  minSize?: number;
  /** Long side of the copy the cascade runs on (default {@link DETECT_MAX_SIDE}). */
  maxSide?: number;
}

/** The anime face cascade. Create with {@link AnimeFaceDetector.create}; `dispose()` when done. */
export class AnimeFaceDetector {
  /** How many times a failed wasm module was replaced by a fresh one (for tests and logs). */
  restarts = 0;

  private constructor(
    private cv: Cv,
    private cascade: CvCascade,
    private readonly opts: Required<AnimeFaceOptions>,
    private readonly cascadeXml: Uint8Array,
    private readonly cascadePath: string,
  ) {}

  /**
   * Load OpenCV and the cascade file.
   * @throws Error when the file is missing or OpenCV refuses it.
   */
  static async create(cascadePath: string, opts: AnimeFaceOptions = {}): Promise<AnimeFaceDetector> {
    const [{ cv }, xml] = await Promise.all([loadCv(), readFile(cascadePath)]);
    const bytes = new Uint8Array(xml);
    const cascade = loadCascade(cv, bytes, cascadePath);
    return new AnimeFaceDetector(
      cv,
      cascade,
      { scaleFactor: opts.scaleFactor ?? 1.05, minNeighbors: opts.minNeighbors ?? 5, minSize: opts.minSize ?? 24, maxSide: opts.maxSide ?? DETECT_MAX_SIDE },
      bytes,
      cascadePath,
    );
  }

  /**
   * Faces in image pixels, largest first (the cascade gives no score: it is set to 1). The cascade runs
   * on a copy at most `maxSide` px on its long side. When that gives nothing, a second pass runs on a
   * copy at most {@link SECOND_PASS_SIDE} px on its long side: the cascade misses large, smoothly drawn
   * faces that it finds once they are small.
   * @throws {AnimeDetectorError} when the wasm module failed; the detector is usable again at once.
   */
  async detect(img: RawImage): Promise<Detection[]> {
    try {
      const long = Math.max(img.width, img.height);
      const found = await this.detectScaled(img, Math.min(1, this.opts.maxSide / long));
      if (found.length > 0 || long <= SECOND_PASS_SIDE) return found;
      return await this.detectScaled(img, SECOND_PASS_SIDE / long);
    } catch (err) {
      if (!isWasmFailure(err)) throw err;
      await this.restart();
      throw new AnimeDetectorError(`OpenCV failed while detecting (${err instanceof Error ? err.message : String(err)}); a fresh OpenCV instance was loaded`, {
        cause: err,
      });
    }
  }

  /** Detect on a copy scaled by `k` (≤ 1) and map the boxes back to image pixels. */
  private async detectScaled(img: RawImage, k: number): Promise<Detection[]> {
    if (k >= 1) return this.detectAt(img);
    const small = await resizeTo(img, Math.max(1, Math.round(img.width * k)), Math.max(1, Math.round(img.height * k)));
    const kx = small.width / img.width;
    const ky = small.height / img.height;
    return (await this.detectAt(small)).map((d) => ({ x: d.x / kx, y: d.y / ky, width: d.width / kx, height: d.height / ky, score: d.score }));
  }

  /** Replace the (maybe corrupt) wasm module with a fresh instance and reload the cascade into it. */
  private async restart(): Promise<void> {
    const { cv } = await loadCv(true);
    this.cv = cv;
    this.cascade = loadCascade(cv, this.cascadeXml, this.cascadePath);
    this.restarts++;
  }

  private async detectAt(img: RawImage): Promise<Detection[]> {
    const { cv } = this;
    const gray = await toGray(img);
    const src = cv.matFromArray(img.height, img.width, cv.CV_8UC1, gray);
    const eq = cv.matFromArray(img.height, img.width, cv.CV_8UC1, gray);
    const found = new cv.RectVector();
    try {
      cv.equalizeHist(src, eq);
      const minSide = Math.min(this.opts.minSize, Math.floor(Math.min(img.width, img.height) / 2));
      const min = new cv.Size(minSide, minSide);
      const max = new cv.Size(0, 0);
      this.cascade.detectMultiScale(eq, found, this.opts.scaleFactor, this.opts.minNeighbors, 0, min, max);
      const out: Detection[] = [];
      for (let i = 0; i < found.size(); i++) {
        const r = found.get(i);
        out.push({ x: r.x, y: r.y, width: r.width, height: r.height, score: 1 });
      }
      return out.sort((a, b) => b.width * b.height - a.width * a.height);
    } finally {
      src.delete();
      eq.delete();
      found.delete();
    }
  }

  async dispose(): Promise<void> {
    try {
      this.cascade.delete();
    } catch {
      // a failed module cannot free anything; it is dropped whole
    }
  }
}

function loadCascade(cv: Cv, xml: Uint8Array, cascadePath: string): CvCascade {
  const name = `cascade-${process.pid}-${fileCounter++}.xml`;
  cv.FS_createDataFile('/', name, xml, true, false, false);
  const cascade = new cv.CascadeClassifier();
  const ok = cascade.load(name);
  cv.FS_unlink?.(`/${name}`);
  if (!ok) {
    cascade.delete();
    throw new Error(`OpenCV could not load the cascade file ${cascadePath}`);
  }
  return cascade;
}
