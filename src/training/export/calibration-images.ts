/**
 * Calibration and evaluation crops for int8 quantisation: every image of a folder, decoded with the serving
 * pipeline's intake, its faces found by the same detectors (a2b: BlazeFace; b2a: the anime cascade, then
 * BlazeFace) and cropped exactly as `webtoon translate` crops them (square, FACE_MARGIN, resized to the
 * model's size). An image without a face contributes its centre square, so a folder of drawings still works.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config.ts';
import { AnimeFaceDetector } from '../../inference/anime.detector.ts';
import { BlazeFaceDetector } from '../../inference/blazeface.detector.ts';
import { centerSquare, type Detection, squareCrop } from '../../inference/face-box.ts';
import { cropResize, decodeImage, MediaError } from '../../media/media.ts';
import { toNchwBatch } from '../../inference/tensor.ts';
import { ExportError } from '../training.errors.ts';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif']);

/** One model-sized crop, NCHW float32 in [-1, 1] (`[1, 3, size, size]`). */
export interface CalibrationCrop {
  /** `file#face` (or `file#center`). */
  source: string;
  data: Float32Array;
}

/** Options of {@link loadCalibrationCrops}. */
export interface CalibrationCropOptions {
  direction: 'a2b' | 'b2a';
  size: number;
  /** At most this many faces per image (largest first); default 8. */
  maxFacesPerImage?: number;
  /** Intra-op threads for the detectors; 0 = ONNX Runtime's choice. */
  threads?: number;
}

/** Image files of a folder (not recursive), sorted by name so the split is reproducible. */
export function listImages(dir: string): string[] {
  const abs = path.resolve(dir);
  if (!statSafe(abs)?.isDirectory()) {
    throw new ExportError('CALIBRATION_NOT_FOUND', `calibration folder ${abs} does not exist or is not a folder`, { dir: abs });
  }
  return readdirSync(abs)
    .filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase()))
    .sort()
    .map((f) => path.join(abs, f));
}

/**
 * Face crops of every image in `dir`, in file order. Files that are not decodable images are skipped
 * with a warning in the result; an empty result is the caller's to refuse.
 * @throws ExportError CALIBRATION_NOT_FOUND when `dir` is not a folder.
 */
export async function loadCalibrationCrops(dir: string, opts: CalibrationCropOptions): Promise<{ crops: CalibrationCrop[]; skipped: string[] }> {
  const files = listImages(dir);
  const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' });
  const session = { devices: ['cpu'], threads: opts.threads ?? 0 };
  const blaze = await BlazeFaceDetector.create(session);
  const anime = opts.direction === 'b2a' ? await AnimeFaceDetector.create(config.ANIME_CASCADE_PATH).catch(() => null) : null;
  const limits = { maxBytes: config.MAX_IMAGE_BYTES, maxPixels: config.MAX_IMAGE_PIXELS, minSide: 1 };
  const crops: CalibrationCrop[] = [];
  const skipped: string[] = [];
  try {
    for (const file of files) {
      let image;
      try {
        image = (await decodeImage(readFileSync(file), limits)).image;
      } catch (err) {
        if (err instanceof MediaError) {
          skipped.push(`${path.basename(file)}: ${err.code}`);
          continue;
        }
        throw err;
      }
      let faces: Detection[] = anime ? await anime.detect(image) : [];
      if (faces.length === 0) faces = await blaze.detect(image);
      faces = [...faces].sort((a, b) => b.width * b.height - a.width * a.height).slice(0, opts.maxFacesPerImage ?? 8);
      const rects = faces.length > 0
        ? faces.map((f, i) => ({ rect: squareCrop(f, image.width, image.height, config.FACE_MARGIN), tag: `face${i}` }))
        : [{ rect: centerSquare(image.width, image.height), tag: 'center' }];
      for (const { rect, tag } of rects) {
        const crop = await cropResize(image, rect, opts.size);
        crops.push({ source: `${path.basename(file)}#${tag}`, data: toNchwBatch([crop]).data });
      }
    }
  } finally {
    await blaze.dispose();
    await anime?.dispose();
  }
  return { crops, skipped };
}

/**
 * Split crops into calibration and held-out evaluation sets: every `k`-th crop (k = round(1 / evalFraction))
 * is held out, so both sets span all images; at least one crop in each.
 */
export function splitCrops<T>(crops: readonly T[], evalFraction: number): { calibration: T[]; evaluation: T[] } {
  const k = Math.max(2, Math.round(1 / evalFraction));
  const evaluation = crops.filter((_, i) => i % k === k - 1);
  const calibration = crops.filter((_, i) => i % k !== k - 1);
  if (evaluation.length === 0 && crops.length >= 2) return { calibration: crops.slice(0, -1), evaluation: crops.slice(-1) };
  return { calibration, evaluation };
}

function statSafe(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}
