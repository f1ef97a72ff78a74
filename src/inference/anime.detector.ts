/**
 * Webtoon/anime face detection with OpenCV (compiled to wasm, `@techstark/opencv-js`) and the LBP
 * cascade `lbpcascade_animeface.xml` the seed project used to crop its webtoon training faces.
 * The OpenCV module object is thenable: never `await` it; wait for `onRuntimeInitialized` instead.
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

/** Load OpenCV.js once per thread. */
function loadCv(): Promise<{ cv: Cv }> {
  cvPromise ??= new Promise<{ cv: Cv }>((resolve, reject) => {
    try {
      const require = createRequire(import.meta.url);
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

export interface AnimeFaceOptions {
  /** Scale step between pyramid levels (default 1.05; 1.1 missed our drawn test face). */
  scaleFactor?: number;
  /** Neighbours a candidate needs (default 5, as the cascade's author suggests). */
  minNeighbors?: number;
  /** Smallest face side in pixels (default 24). */
  minSize?: number;
}

/** The anime face cascade. Create with {@link AnimeFaceDetector.create}; `dispose()` when done. */
export class AnimeFaceDetector {
  private constructor(
    private readonly cv: Cv,
    private readonly cascade: CvCascade,
    private readonly opts: Required<AnimeFaceOptions>,
  ) {}

  /**
   * Load OpenCV and the cascade file.
   * @throws Error when the file is missing or OpenCV refuses it.
   */
  static async create(cascadePath: string, opts: AnimeFaceOptions = {}): Promise<AnimeFaceDetector> {
    const [{ cv }, xml] = await Promise.all([loadCv(), readFile(cascadePath)]);
    const name = `cascade-${process.pid}-${fileCounter++}.xml`;
    cv.FS_createDataFile('/', name, new Uint8Array(xml), true, false, false);
    const cascade = new cv.CascadeClassifier();
    const ok = cascade.load(name);
    cv.FS_unlink?.(`/${name}`);
    if (!ok) {
      cascade.delete();
      throw new Error(`OpenCV could not load the cascade file ${cascadePath}`);
    }
    return new AnimeFaceDetector(cv, cascade, { scaleFactor: opts.scaleFactor ?? 1.05, minNeighbors: opts.minNeighbors ?? 5, minSize: opts.minSize ?? 24 });
  }

  /**
   * Faces in image pixels, largest first (the cascade gives no score: it is set to 1). When the full
   * image gives nothing, a second pass runs on a copy at most {@link SECOND_PASS_SIDE} px on its long
   * side: the cascade misses large, smoothly drawn faces that it finds once they are small.
   */
  async detect(img: RawImage): Promise<Detection[]> {
    const found = await this.detectAt(img);
    const long = Math.max(img.width, img.height);
    if (found.length > 0 || long <= SECOND_PASS_SIDE) return found;
    const k = SECOND_PASS_SIDE / long;
    const small = await resizeTo(img, Math.max(1, Math.round(img.width * k)), Math.max(1, Math.round(img.height * k)));
    return (await this.detectAt(small)).map((d) => ({ x: d.x / k, y: d.y / k, width: d.width / k, height: d.height / k, score: d.score }));
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
    this.cascade.delete();
  }
}
