/**
 * The translation pipeline, one job from bytes to PNG: intake (decode with limits) → face detection →
 * square crops like the training data → generator (batched) → optional attention overlay and
 * before/after → PNG. The worker thread runs it; tests call it directly.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config.ts';
import { moduleLogger } from '../logger.ts';
import { AnimeFaceDetector } from './anime.detector.ts';
import { BlazeFaceDetector } from './blazeface.detector.ts';
import { alignedGeometry, type CropGeometry, geometryOfRect, warpCrop } from './face-align.ts';
import { centerSquare, type Detection, squareCrop } from './face-box.ts';
import { GeneratorRunner } from './generator.runner.ts';
import { cropResize, decodeImage, encodePng, grid, hconcat, type IntakeLimits, type RawImage, type Rect, resizeGray, resizeSquare, resizeTo } from '../media/media.ts';
import { InferenceError, toInferenceError } from './inference.errors.ts';
import type { Direction, FaceBox, OutputMode, TranslateOptions, TranslateResult } from './inference.types.ts';
import { type MetadataOverrides, ModelRegistry, SingleModelRegistry } from './model.registry.ts';
import { cappedSize, PHOTO_MAX_BYTES, PHOTO_MAX_SIDE, pasteFaces } from './paste-back.ts';
import { blendHeatmap, minMaxToUint8 } from './tensor.ts';

const log = moduleLogger('inference.pipeline');

/** Most faces translated for `faces: 'all'`. */
export const MAX_FACES = 16;

/** The options a job carries across the thread boundary (no signal, no callback). */
export type JobOptions = Omit<TranslateOptions, 'signal' | 'onQueuePosition'>;

export interface PipelineOptions {
  /** Serve exactly this ONNX file instead of MODELS_DIR (the CLI's `--model`). */
  modelFile?: string;
  /** Metadata for a `modelFile` that lacks it. */
  modelOverrides?: MetadataOverrides;
}

/** Everything one worker holds: detectors, registry, generator sessions. `dispose()` when done. */
export class TranslatePipeline {
  private anime: Promise<AnimeFaceDetector | null> | undefined;

  private constructor(
    private readonly config: Config,
    private readonly blaze: BlazeFaceDetector,
    readonly registry: ModelRegistry | SingleModelRegistry,
    readonly generator: GeneratorRunner,
  ) {}

  static async create(config: Config, opts: PipelineOptions = {}): Promise<TranslatePipeline> {
    const session = { devices: config.ORT_PROVIDERS, threads: config.ORT_THREADS };
    const blaze = await BlazeFaceDetector.create(session);
    const registry = opts.modelFile
      ? new SingleModelRegistry(opts.modelFile, opts.modelOverrides)
      : new ModelRegistry(config.MODELS_DIR, { pins: { a2b: config.MODEL_PIN_A2B, b2a: config.MODEL_PIN_B2A } });
    const generator = new GeneratorRunner(session, { maxBatch: config.BATCH_MAX_SIZE, maxWaitMs: config.BATCH_MAX_WAIT_MS });
    return new TranslatePipeline(config, blaze, registry, generator);
  }

  private limits(): IntakeLimits {
    return { maxBytes: this.config.MAX_IMAGE_BYTES, maxPixels: this.config.MAX_IMAGE_PIXELS, minSide: this.config.MIN_FACE_PX };
  }

  private animeDetector(): Promise<AnimeFaceDetector | null> {
    const p = this.config.ANIME_CASCADE_PATH;
    this.anime ??= p
      ? AnimeFaceDetector.create(p).catch((err: unknown) => {
          log.error({ path: p, reason: (err as Error).message }, 'anime face cascade unavailable; webtoon images use BlazeFace only');
          return null;
        })
      : Promise.resolve(null);
    return this.anime;
  }

  /** Faces in the image for a direction: BlazeFace for photos; the anime cascade first for webtoon images, then BlazeFace. */
  async detectFaces(img: RawImage, direction: Direction): Promise<{ faces: Detection[]; detector: string }> {
    if (direction === 'b2a') {
      const anime = await this.animeDetector();
      if (anime) {
        // A failure of the cascade (its wasm module is replaced by then) falls back to BlazeFace for this image.
        const faces = await anime.detect(img).catch((err: unknown) => {
          log.warn({ err }, 'anime face detection failed; using BlazeFace for this image');
          return [];
        });
        if (faces.length > 0) return { faces, detector: 'animeface-cascade' };
      }
    }
    return { faces: await this.blaze.detect(img), detector: 'blazeface' };
  }

  /**
   * Translate one image. `run.signal` cancels it between stages (ABORTED, with the stage just done).
   * @throws {InferenceError} intake codes, ABORTED, NO_FACE, FACE_TOO_SMALL, MODEL_UNAVAILABLE, INVALID_MODEL.
   */
  async translate(bytes: Uint8Array, opts: JobOptions, run: { signal?: AbortSignal } = {}): Promise<TranslateResult> {
    // Media refusals and runs on a disposed model leave as the InferenceError with the same code (or ABORTED).
    return this.translateNow(bytes, opts, run).catch((err: unknown) => {
      throw toInferenceError(err);
    });
  }

  private async translateNow(bytes: Uint8Array, opts: JobOptions, run: { signal?: AbortSignal }): Promise<TranslateResult> {
    const timings: Record<string, number> = {};
    const started = performance.now();
    let mark = started;
    // Cancellation is checked after every stage, so a cancelled job stops at the next boundary.
    const lap = (stage: string): void => {
      const now = performance.now();
      timings[stage] = round(now - mark);
      mark = now;
      if (run.signal?.aborted) throw new InferenceError('ABORTED', 'The translation was cancelled.', { stage });
    };
    if (run.signal?.aborted) throw new InferenceError('ABORTED', 'The translation was cancelled.', { stage: 'start' });
    const direction = opts.direction;
    if (direction !== 'a2b' && direction !== 'b2a') throw new TypeError(`translate: opts.direction must be "a2b" or "b2a", got ${JSON.stringify(direction)}`);
    const outputSize = opts.outputSize ?? (this.config.OUTPUT_SIZE as 256 | 512);
    // Model first: no point decoding when nothing can translate it.
    const model = await this.registry.resolve(direction);
    lap('model');

    const inputSha256 = createHash('sha256').update(bytes).digest('hex');
    const { image } = await decodeImage(bytes, this.limits());
    lap('decode');

    const { faces, detector } = await this.detectFaces(image, direction);
    lap('detect');
    const minFace = this.config.MIN_FACE_PX;
    const usable = faces.filter((f) => Math.max(f.width, f.height) >= minFace).sort((a, b) => b.width * b.height - a.width * a.height);
    const output: OutputMode = opts.output ?? (opts.sideBySide ? 'side_by_side' : 'face');
    let crops: { rect: Rect; geometry: CropGeometry; score: number }[];
    let cropMode: 'face' | 'center';
    if (usable.length > 0) {
      const chosen = opts.faces === 'all' ? usable.slice(0, MAX_FACES) : usable.slice(0, 1);
      crops = chosen.map((f) => {
        const rect = squareCrop(f, image.width, image.height, this.config.FACE_MARGIN);
        return { rect, geometry: opts.aligned ? alignedGeometry(f, rect) : geometryOfRect(rect), score: f.score };
      });
      cropMode = 'face';
    } else if (opts.crop === 'center') {
      const rect = centerSquare(image.width, image.height);
      crops = [{ rect, geometry: geometryOfRect(rect), score: 0 }];
      cropMode = 'center';
    } else if (faces.length > 0) {
      const largest = Math.round(Math.max(...faces.map((f) => Math.max(f.width, f.height))));
      throw new InferenceError(
        'FACE_TOO_SMALL',
        `The face in the picture is too small (${largest} px); it needs to be at least ${minFace} px. Try a closer photo, or ask for the centre crop.`,
        { facesFound: faces.length, largestFacePx: largest, minFacePx: minFace, detector },
      );
    } else {
      throw new InferenceError(
        'NO_FACE',
        direction === 'a2b'
          ? 'No face was found in the photo. Try a clear, front-facing photo, or ask for the centre crop.'
          : 'No webtoon face was found in the image. Try a tighter crop of the face, or ask for the centre crop.',
        { direction, detector, width: image.width, height: image.height },
      );
    }

    // A box crop is cut and resized by sharp as before; a turned (aligned) crop is warped at its own resolution first.
    const cut = (c: (typeof crops)[number], size: number): Promise<RawImage> =>
      c.geometry.angle === 0 ? cropResize(image, c.rect, size) : resizeSquare(warpCrop(image, c.geometry), size);
    const modelCrops = await Promise.all(crops.map((c) => cut(c, model.imgSize)));
    const inputCrops = output === 'side_by_side' ? await Promise.all(crops.map((c) => cut(c, outputSize))) : [];
    lap('crop');

    const generated = await Promise.all(modelCrops.map((c) => this.generator.generate(model, c)));
    lap('generate');

    /** The translated face at `size`, with the attention overlay when asked. */
    const faceTile = async (g: (typeof generated)[number], size: number): Promise<RawImage> => {
      let out = await resizeSquare(g.image, size);
      if (opts.attention && g.heatmap) {
        const map = await resizeGray(minMaxToUint8(g.heatmap), g.heatmapSize, g.heatmap.length / g.heatmapSize, size);
        out = blendHeatmap(out, map, 0.5);
      }
      return out;
    };
    let png: Buffer;
    let composed: RawImage;
    if (output === 'photo') {
      const pasted = await Promise.all(generated.map(async (g, i) => ({ geometry: crops[i].geometry, face: await faceTile(g, crops[i].rect.width) })));
      // smaller faces first, so the largest (the member's own, usually) is on top where crops overlap
      composed = pasteFaces(image, pasted.reverse());
      ({ image: composed, png } = await encodeCapped(composed));
    } else {
      const tiles: RawImage[] = [];
      for (let i = 0; i < generated.length; i++) {
        const out = await faceTile(generated[i], outputSize);
        tiles.push(output === 'side_by_side' ? await hconcat([inputCrops[i], out]) : out);
      }
      composed = tiles.length === 1 ? tiles[0] : await grid(tiles, Math.ceil(Math.sqrt(tiles.length)));
      png = await encodePng(composed);
    }
    lap('render');
    timings.total = round(performance.now() - started);

    const auditImages = opts.auditImages
      ? // copies: a view into a larger (batched) buffer would carry all of it across the thread boundary
        { width: model.imgSize, height: model.imgSize, input: new Uint8Array(modelCrops[0].data), output: new Uint8Array(generated[0].image.data) }
      : undefined;
    const boxes: FaceBox[] = crops.map((c) => ({
      x: c.rect.left,
      y: c.rect.top,
      width: c.rect.width,
      height: c.rect.height,
      score: round(c.score, 4),
      ...(c.geometry.angle !== 0 ? { angle: round((c.geometry.angle * 180) / Math.PI, 2) } : {}),
    }));
    return {
      png,
      output,
      width: composed.width,
      height: composed.height,
      direction,
      modelVersion: model.version,
      facesFound: usable.length,
      cropMode,
      boxes,
      inputSha256,
      timings,
      batchSize: Math.max(...generated.map((g) => g.batchSize)),
      ...(auditImages ? { auditImages } : {}),
    };
  }

  /** Version served per direction now. */
  modelVersions(): Promise<Record<Direction, string | null>> {
    return this.registry.versions();
  }

  async dispose(): Promise<void> {
    await this.generator.dispose();
    await this.blaze.dispose();
    const anime = await this.anime;
    await anime?.dispose();
  }
}

/**
 * Encode a `photo` result, capped for upload: the longer side at most {@link PHOTO_MAX_SIDE}, and the
 * PNG at most {@link PHOTO_MAX_BYTES} (scaled down again while it is larger).
 */
async function encodeCapped(img: RawImage): Promise<{ image: RawImage; png: Buffer }> {
  let out = img;
  const first = cappedSize(img.width, img.height, PHOTO_MAX_SIDE);
  if (first.width !== img.width || first.height !== img.height) out = await resizeTo(img, first.width, first.height);
  let png = await encodePng(out);
  for (let i = 0; i < 4 && png.length > PHOTO_MAX_BYTES; i++) {
    const s = Math.sqrt(PHOTO_MAX_BYTES / png.length) * 0.9;
    out = await resizeTo(img, Math.max(1, Math.round(out.width * s)), Math.max(1, Math.round(out.height * s)));
    png = await encodePng(out);
  }
  return { image: out, png };
}

function round(n: number, digits = 2): number {
  const k = 10 ** digits;
  return Math.round(n * k) / k;
}
