/**
 * Runs generators with dynamic batching. Crops submitted for the same model within `maxWaitMs` (up
 * to `maxBatch`) go through one ONNX run; each caller gets its own image and heatmap back. Runs of
 * one model are serialised: while a batch runs, the next one fills.
 */
import { moduleLogger } from '../logger.ts';
import { contractMessage, GENERATOR_IO } from '../shared/generator-contract.ts';
import type { RawImage } from '../media/media.ts';
import { InferenceError, toInferenceError } from './inference.errors.ts';
import type { ModelInfo } from './model.registry.ts';
import { OnnxError } from '../onnx/onnx.errors.ts';
import { createModel, type OrtModel, type SessionOptions } from '../onnx/runtime.ts';
import { fromNchw, toNchwBatch } from './tensor.ts';

const log = moduleLogger('inference.generator');

/** One translated crop. */
export interface GeneratedFace {
  image: RawImage;
  /** The CAM heatmap (unnormalised), `heatmapSize`², or null when the model has none. */
  heatmap: Float32Array | null;
  heatmapSize: number;
  /** How many crops shared the ONNX run. */
  batchSize: number;
  /** Milliseconds of the ONNX run itself. */
  runMs: number;
}

export interface BatchingOptions {
  maxBatch: number;
  maxWaitMs: number;
}

interface Pending {
  crop: RawImage;
  resolve: (g: GeneratedFace) => void;
  reject: (err: unknown) => void;
}

interface Lane {
  model: Promise<OrtModel>;
  info: ModelInfo;
  pending: Pending[];
  timer: NodeJS.Timeout | null;
  running: boolean;
}

/** Owns the generator sessions (one per model file version) and their batching lanes. */
export class GeneratorRunner {
  private readonly lanes = new Map<string, Lane>();
  /** Set by {@link dispose}: no new lane (session) is created and no new crop accepted. */
  private closed = false;
  /** Batch sizes of the runs so far (for tests and the benchmark). */
  readonly batchLog: number[] = [];

  constructor(
    private readonly session: SessionOptions,
    private readonly batching: BatchingOptions,
  ) {}

  /** Translate one crop (already `info.imgSize`²) with the given model. */
  generate(info: ModelInfo, crop: RawImage): Promise<GeneratedFace> {
    if (this.closed) return Promise.reject(shuttingDown());
    const lane = this.lane(info);
    return new Promise<GeneratedFace>((resolve, reject) => {
      lane.pending.push({ crop, resolve, reject });
      this.schedule(lane);
    });
  }

  /** Run a whole batch directly (no waiting), e.g. for the benchmark. */
  async runBatch(info: ModelInfo, crops: RawImage[]): Promise<GeneratedFace[]> {
    if (this.closed) throw shuttingDown();
    const model = await this.lane(info).model;
    return this.execute(model, info, crops);
  }

  private lane(info: ModelInfo): Lane {
    const key = `${info.path}|${info.mtimeMs}|${info.bytes}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      // A replaced file gets a new lane; drop the old lanes of the same path once idle.
      for (const [k, l] of this.lanes) {
        if (l.info.path === info.path && k !== key && !l.running && l.pending.length === 0) {
          this.lanes.delete(k);
          void l.model.then((m) => m.dispose()).catch(() => undefined);
        }
      }
      const model = createModel(info.path, this.session).then(
        (m) => {
          checkSession(m, info);
          return m;
        },
        (err: unknown) => {
          throw new InferenceError('INVALID_MODEL', `The model ${info.file} cannot be loaded by ONNX Runtime: ${(err as Error).message.split('\n')[0]}`, {
            path: info.path,
          });
        },
      );
      model.catch(() => this.lanes.delete(key));
      lane = { model, info, pending: [], timer: null, running: false };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private maxBatch(lane: Lane): number {
    return Math.max(1, Math.min(this.batching.maxBatch, lane.info.maxBatch));
  }

  private schedule(lane: Lane): void {
    if (lane.running || lane.pending.length === 0) return;
    if (lane.pending.length >= this.maxBatch(lane) || this.batching.maxWaitMs === 0) {
      void this.flush(lane);
      return;
    }
    lane.timer ??= setTimeout(() => void this.flush(lane), this.batching.maxWaitMs);
  }

  private async flush(lane: Lane): Promise<void> {
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = null;
    if (lane.running || lane.pending.length === 0) return;
    lane.running = true;
    const batch = lane.pending.splice(0, this.maxBatch(lane));
    try {
      const model = await lane.model;
      const results = await this.execute(
        model,
        lane.info,
        batch.map((p) => p.crop),
      );
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      lane.running = false;
      // What arrived during the run: run at once if full (or waited long enough), else wait for more.
      this.schedule(lane);
    }
  }

  private async execute(model: OrtModel, info: ModelInfo, crops: RawImage[]): Promise<GeneratedFace[]> {
    const feed = toNchwBatch(crops);
    const t = performance.now();
    let out;
    try {
      out = await model.run({ [GENERATOR_IO.input]: feed });
    } catch (err) {
      if (err instanceof OnnxError) throw toInferenceError(err); // ABORTED: the session was disposed meanwhile
      throw new InferenceError('INVALID_MODEL', `The model ${info.file} failed to run: ${(err as Error).message.split('\n')[0]}`, { path: info.path });
    }
    const runMs = performance.now() - t;
    this.batchLog.push(crops.length);
    log.debug({ model: info.file, batch: crops.length, ms: Math.round(runMs) }, 'generator batch');
    const image = out[GENERATOR_IO.output];
    if (!image || image.dims.length !== 4 || image.dims[0] !== crops.length || image.dims[1] !== 3) {
      throw new InferenceError('INVALID_MODEL', `The model ${info.file} returned an output of shape [${image?.dims.join(', ')}], expected [${crops.length}, 3, H, W].`, {
        path: info.path,
        dims: image?.dims,
      });
    }
    const [, , oh, ow] = image.dims;
    const hm = out[GENERATOR_IO.heatmap];
    const hmSize = hm && hm.dims.length === 4 ? hm.dims[2] * hm.dims[3] : 0;
    return crops.map((_, n) => ({
      image: fromNchw(image.data, n, oh, ow),
      heatmap: hm && hmSize > 0 ? hm.data.slice(n * hmSize, (n + 1) * hmSize) : null,
      heatmapSize: hm && hmSize > 0 ? hm.dims[2] : 0,
      batchSize: crops.length,
      runMs,
    }));
  }

  /**
   * Refuse new crops (ABORTED), fail the ones still waiting for a batch (ABORTED), and release every
   * session — each after its running batch, if any, has finished (see {@link OrtModel.dispose}); a
   * session still being created is released once created.
   */
  async dispose(): Promise<void> {
    this.closed = true;
    const lanes = [...this.lanes.values()];
    this.lanes.clear();
    for (const l of lanes) {
      if (l.timer) clearTimeout(l.timer);
      l.timer = null;
      for (const p of l.pending.splice(0)) p.reject(shuttingDown());
    }
    await Promise.all(lanes.map((l) => l.model.then((m) => m.dispose()).catch(() => undefined)));
  }
}

function shuttingDown(): InferenceError {
  return new InferenceError('ABORTED', 'The inference worker is shutting down.', { stage: 'generate' });
}

/** The session's declared signature must match the contract too (the registry read the same from the file). */
function checkSession(m: OrtModel, info: ModelInfo): void {
  const input = m.signature(GENERATOR_IO.input);
  const output = m.signature(GENERATOR_IO.output);
  const problems: string[] = [];
  if (!input || input.type !== 'float32' || input.shape.length !== 4) problems.push('input "input" must be float32 [N, 3, H, W]');
  if (!output || output.type !== 'float32' || output.shape.length !== 4) problems.push('output "output" must be float32 [N, 3, H, W]');
  if (problems.length > 0) {
    throw new InferenceError('INVALID_MODEL', contractMessage(info.file, problems), { path: info.path, problems });
  }
}
