/**
 * The in-process inference client: a bounded job queue on the main thread in front of one worker
 * thread that runs the pipeline. It refuses work at once when full (QUEUE_FULL), reports queue
 * positions, times jobs out (TIMEOUT), honours AbortSignals (ABORTED) — a running job is cancelled in the
 * worker (`cancel` message) and keeps its slot until the worker confirms it stopped —, keeps up to BATCH_MAX_SIZE jobs
 * in the worker so dynamic batching can form batches, and restarts the worker when it dies (jobs in
 * it fail with WORKER_CRASHED; queued jobs go to the new worker).
 *
 * `close()` settles every job at once (ABORTED) and then shuts the worker down gracefully: the worker
 * stops taking jobs, lets the ONNX call it is in finish, releases its sessions and exits by itself.
 * Terminating a worker thread while it is inside a native onnxruntime call aborts the whole process
 * ("terminate called after throwing an instance of 'Napi::Error'"), so `worker.terminate()` is only
 * the last resort after `closeGraceMs`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { logFormatInUse, moduleLogger } from '../logger.ts';
import { precheckBytes } from '../media/upload-precheck.ts';
import { deserializeError, InferenceError, toInferenceError } from './inference.errors.ts';
import type { Direction, InferenceClient, TranslateOptions, TranslateResult } from './inference.types.ts';
import type { MetadataOverrides } from './model.registry.ts';
import type { FromWorker, ToWorker, WorkerInit } from './worker.protocol.ts';

const log = moduleLogger('inference.client');

const BOOTSTRAP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'inference.worker-bootstrap.mjs');

/** Options beyond the configuration (the CLI's `--model`). */
export interface ClientOptions {
  /** Serve exactly this ONNX file instead of MODELS_DIR. */
  modelFile?: string;
  /** Metadata for a `modelFile` that lacks it. */
  modelOverrides?: MetadataOverrides;
  /** Jobs handed to the worker at once (default BATCH_MAX_SIZE). */
  inFlight?: number;
  /**
   * How long `close()` waits for the worker to finish its current ONNX call, release its sessions and
   * exit, before it terminates the thread as a last resort (default {@link CLOSE_GRACE_MS}).
   */
  closeGraceMs?: number;
  /**
   * Let the worker obey the `crash` and `hang` control messages that a test double sends through
   * {@link WorkerInferenceClient.post} (test/helpers/fault-injection.ts). Off by default: a production
   * worker ignores them.
   */
  faultInjection?: boolean;
}

/** Default bound on a graceful worker shutdown: well above one generator run on a loaded CPU. */
export const CLOSE_GRACE_MS = 30_000;
/** After the worker said `closed` (everything released), how long its thread may take to end. */
const EXIT_AFTER_CLOSED_MS = 2_000;

interface Job {
  id: number;
  image: Buffer;
  opts: TranslateOptions;
  resolve: (r: TranslateResult) => void;
  reject: (e: Error) => void;
  enqueuedAt: number;
  startedAt?: number;
  position: number;
  timer: NodeJS.Timeout;
  onAbort?: () => void;
  /** The caller was answered (TIMEOUT/ABORTED) but the worker has not yet confirmed that it stopped. */
  cancelled?: boolean;
}

interface PendingCall {
  resolve: (v: Record<Direction, string | null>) => void;
  reject: (e: Error) => void;
}

/** Consecutive failed starts after which the client gives up restarting. */
const MAX_FAILED_STARTS = 3;

export class WorkerInferenceClient implements InferenceClient {
  private worker: Worker | null = null;
  private ready = false;
  private starting: Promise<void> | null = null;
  private closed = false;
  private failedStarts = 0;
  private nextId = 1;
  private readonly waiting: Job[] = [];
  private readonly running = new Map<number, Job>();
  private readonly calls = new Map<number, PendingCall>();
  /** How many times the worker was restarted after dying (observable for tests and metrics). */
  restarts = 0;
  /** How many times close() had to terminate the worker thread (last resort; observable for tests). */
  forcedTerminations = 0;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly config: Config,
    private readonly opts: ClientOptions = {},
  ) {}

  private get inFlight(): number {
    return Math.max(1, this.opts.inFlight ?? this.config.BATCH_MAX_SIZE);
  }

  /** Start the worker and wait until its pipeline is loaded. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new InferenceError('ABORTED', 'The translation service is shutting down.', { stage: 'start' }));
    this.starting ??= new Promise<void>((resolve, reject) => {
      const init: WorkerInit = {
        config: this.config,
        modelFile: this.opts.modelFile,
        modelOverrides: this.opts.modelOverrides,
        faultInjection: this.opts.faultInjection,
        logFormat: logFormatInUse(),
      };
      const worker = new Worker(BOOTSTRAP, { workerData: init, stderr: false, stdout: false });
      this.worker = worker;
      let settled = false;
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          settled = true;
          this.failedStarts = 0;
          // close() came first: the worker is shutting down already.
          if (this.closed) return reject(new InferenceError('ABORTED', 'The translation service is shutting down.', { stage: 'start' }));
          this.ready = true;
          resolve();
          this.pump();
        } else if (msg.type === 'fatal') {
          settled = true;
          this.failedStarts++;
          reject(deserializeError(msg.error));
        } else this.onMessage(msg);
      });
      worker.on('error', (err) => log.error({ err }, 'inference worker error'));
      worker.on('exit', (code) => {
        if (this.worker !== worker) return;
        this.worker = null;
        this.ready = false;
        this.starting = null;
        if (!settled) {
          settled = true;
          if (this.closed) reject(new InferenceError('ABORTED', 'The translation service is shutting down.', { stage: 'start' }));
          else {
            this.failedStarts++;
            reject(new InferenceError('WORKER_CRASHED', `The inference worker failed to start (exit code ${code}).`, { exitCode: code }));
          }
        }
        this.onExit(code);
      });
    });
    return this.starting;
  }

  private onExit(code: number): void {
    const lost = [...this.running.values()];
    this.running.clear();
    for (const job of lost) {
      this.settle(job);
      if (job.cancelled) continue; // its caller was answered already
      job.reject(
        new InferenceError('WORKER_CRASHED', 'The translation engine crashed while working on your image. Please try again.', {
          exitCode: code,
          jobId: job.id,
        }),
      );
    }
    for (const [id, call] of this.calls) {
      this.calls.delete(id);
      call.reject(new InferenceError('WORKER_CRASHED', 'The translation engine crashed.', { exitCode: code }));
    }
    if (this.closed) return;
    if (this.failedStarts >= MAX_FAILED_STARTS) {
      const err = new InferenceError('WORKER_CRASHED', 'The translation engine cannot start. Please try again later.', {
        failedStarts: this.failedStarts,
      });
      for (const job of this.waiting.splice(0)) {
        this.settle(job);
        job.reject(err);
      }
      log.error({ failedStarts: this.failedStarts }, 'inference worker keeps failing to start; not restarting');
      return;
    }
    this.restarts++;
    log.warn({ exitCode: code, lostJobs: lost.length, restarts: this.restarts }, 'inference worker died; restarting');
    this.start().catch((err: unknown) => {
      if (!this.closed) log.error({ err }, 'inference worker restart failed');
    });
  }

  private onMessage(msg: FromWorker): void {
    if (msg.type === 'result' || (msg.type === 'error' && this.running.has(msg.id))) {
      const job = this.running.get(msg.id);
      if (!job) return;
      this.running.delete(msg.id);
      this.settle(job);
      if (job.cancelled) {
        // The worker confirmed a cancelled job: only now is its slot free.
        this.pump();
        return;
      }
      if (msg.type === 'result') {
        const finished = performance.now();
        const timings = { ...msg.result.timings, queue: round(job.startedAt! - job.enqueuedAt), total: round(finished - job.enqueuedAt) };
        job.resolve({ ...msg.result, png: Buffer.from(msg.result.png), timings });
      } else job.reject(deserializeError(msg.error));
      this.pump();
      return;
    }
    if (msg.type === 'versions' || msg.type === 'error') {
      const call = this.calls.get(msg.id);
      if (!call) return;
      this.calls.delete(msg.id);
      if (msg.type === 'versions') call.resolve(msg.versions);
      else call.reject(deserializeError(msg.error));
    }
  }

  /** Send a message to the worker thread (dropped when none runs). Protected for test doubles. */
  protected post(msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker?.postMessage(msg, transfer);
  }

  /** Hand queued jobs to the worker while it has room, then tell every caller its position. */
  private pump(): void {
    while (this.ready && this.running.size < this.inFlight && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      job.startedAt = performance.now();
      this.running.set(job.id, job);
      const image = new Uint8Array(job.image).buffer; // a copy we can transfer
      const { signal: _s, onQueuePosition: _q, ...opts } = job.opts;
      this.post({ type: 'job', id: job.id, image, opts }, [image]);
    }
    for (const job of this.running.values()) if (!job.cancelled) this.tell(job, 0);
    this.waiting.forEach((job, i) => this.tell(job, i + 1));
  }

  private tell(job: Job, position: number): void {
    if (job.position === position) return;
    job.position = position;
    try {
      job.opts.onQueuePosition?.(position);
    } catch (err) {
      log.warn({ err }, 'onQueuePosition callback threw');
    }
  }

  private settle(job: Job): void {
    clearTimeout(job.timer);
    if (job.onAbort) job.opts.signal?.removeEventListener('abort', job.onAbort);
  }

  /**
   * Reject a job now. A queued job is removed; a running one is cancelled in the worker and keeps its
   * slot (counted by {@link queueDepth} and the in-flight limit) until the worker confirms it stopped.
   */
  private drop(job: Job, err: InferenceError): void {
    const i = this.waiting.indexOf(job);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      this.settle(job);
      job.reject(err);
      this.pump();
      return;
    }
    if (!this.running.has(job.id) || job.cancelled) return; // already finished or cancelled
    job.cancelled = true;
    this.settle(job);
    job.reject(err);
    this.post({ type: 'cancel', id: job.id });
    this.pump(); // positions only: the slot stays taken
  }

  translate(image: Buffer, opts: TranslateOptions): Promise<TranslateResult> {
    return new Promise<TranslateResult>((resolve, reject) => {
      if (this.closed) {
        reject(new InferenceError('ABORTED', 'The translation service is shutting down.', {}));
        return;
      }
      const bytes: unknown = image;
      if (!(bytes instanceof Uint8Array)) {
        reject(new InferenceError('UNSUPPORTED_FORMAT', 'Expected the image as bytes (a Buffer).', { received: typeof image }));
        return;
      }
      const bad = checkOptions(opts);
      if (bad) {
        reject(new TypeError(`translate: ${bad}`));
        return;
      }
      if (opts.signal?.aborted) {
        reject(new InferenceError('ABORTED', 'The translation was cancelled.', { stage: 'before-queue' }));
        return;
      }
      try {
        // Refusals that need only the bytes happen here, before the job takes a queue slot.
        precheckBytes(image, { maxBytes: this.config.MAX_IMAGE_BYTES });
      } catch (err) {
        reject(toInferenceError(err) as Error);
        return;
      }
      const depth = this.queueDepth();
      if (depth >= this.config.QUEUE_MAX) {
        reject(
          new InferenceError('QUEUE_FULL', 'The translator is busy right now. Please try again in a minute.', {
            queueDepth: depth,
            limit: this.config.QUEUE_MAX,
          }),
        );
        return;
      }
      const id = this.nextId++;
      const timeoutMs = this.config.JOB_TIMEOUT_MS;
      const job: Job = {
        id,
        image,
        opts,
        resolve,
        reject,
        enqueuedAt: performance.now(),
        position: -1,
        timer: setTimeout(() => {
          this.drop(
            job,
            new InferenceError('TIMEOUT', `The translation took too long (over ${Math.round(timeoutMs / 1000)} s) and was stopped. Please try again.`, {
              timeoutMs,
              stage: job.startedAt === undefined ? 'queued' : 'running',
            }),
          );
        }, timeoutMs),
      };
      if (opts.signal) {
        job.onAbort = () =>
          this.drop(job, new InferenceError('ABORTED', 'The translation was cancelled.', { stage: job.startedAt === undefined ? 'queued' : 'running' }));
        opts.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.waiting.push(job);
      if (!this.worker && !this.starting) this.start().catch(() => undefined);
      this.pump();
    });
  }

  /** Jobs queued or in the worker, including cancelled ones the worker has not yet confirmed. */
  queueDepth(): number {
    return this.waiting.length + this.running.size;
  }

  async modelVersions(): Promise<Record<Direction, string | null>> {
    await this.start();
    if (this.closed) throw new InferenceError('ABORTED', 'The translation service is shutting down.', { stage: 'close' });
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.post({ type: 'versions', id });
    });
  }

  /**
   * Stop: every queued or running job and pending call rejects at once with ABORTED; then the worker
   * is asked to shut down (finish its current ONNX call, release its sessions, exit), waiting at most
   * `closeGraceMs` before it is terminated. Idempotent; resolves when the worker thread has ended.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    const err = new InferenceError('ABORTED', 'The translation service is shutting down.', { stage: 'close' });
    for (const job of [...this.waiting.splice(0), ...this.running.values()]) {
      this.settle(job);
      if (!job.cancelled) job.reject(err);
    }
    this.running.clear();
    for (const [id, call] of this.calls) {
      this.calls.delete(id);
      call.reject(err);
    }
    const worker = this.worker;
    if (!worker) return;
    // Sent even while the worker is still starting: it then closes once its sessions are created.
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    const grace = Math.max(0, this.opts.closeGraceMs ?? CLOSE_GRACE_MS);
    const exited = await new Promise<boolean>((resolve) => {
      let timer = setTimeout(() => resolve(false), grace);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
      worker.on('message', (m: FromWorker) => {
        if (m.type !== 'closed') return;
        // Everything is released; the thread should end by itself in a moment.
        clearTimeout(timer);
        timer = setTimeout(() => resolve(false), EXIT_AFTER_CLOSED_MS);
      });
    });
    if (!exited) {
      this.forcedTerminations++;
      log.warn({ graceMs: grace }, 'inference worker did not shut down in time; terminating it');
      await worker.terminate();
    }
    if (this.worker === worker) this.worker = null;
  }
}

/**
 * Start the in-process inference client: a worker thread with the pipeline, behind a bounded queue.
 * Resolves once the worker is ready.
 * @throws ConfigError for bad ORT_PROVIDERS; InferenceError WORKER_CRASHED when the worker cannot start.
 */
export async function createInferenceClient(config: Config, opts: ClientOptions = {}): Promise<InferenceClient & WorkerInferenceClient> {
  const client = new WorkerInferenceClient(config, opts);
  try {
    await client.start();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

/** What is wrong with the options, or null. Programming errors, so a TypeError rather than an InferenceError. */
export function checkOptions(opts: TranslateOptions | undefined): string | null {
  if (!opts || typeof opts !== 'object') return `options must be an object, got ${String(opts)}`;
  if (opts.direction !== 'a2b' && opts.direction !== 'b2a') return `opts.direction must be "a2b" or "b2a", got ${JSON.stringify(opts.direction)}`;
  if (opts.faces !== undefined && opts.faces !== 'one' && opts.faces !== 'all') return `opts.faces must be "one" or "all", got ${JSON.stringify(opts.faces)}`;
  if (opts.crop !== undefined && opts.crop !== 'auto' && opts.crop !== 'center') return `opts.crop must be "auto" or "center", got ${JSON.stringify(opts.crop)}`;
  if (opts.output !== undefined && opts.output !== 'face' && opts.output !== 'photo' && opts.output !== 'side_by_side') {
    return `opts.output must be "face", "photo" or "side_by_side", got ${JSON.stringify(opts.output)}`;
  }
  if (opts.aligned !== undefined && typeof opts.aligned !== 'boolean') return `opts.aligned must be a boolean, got ${JSON.stringify(opts.aligned)}`;
  if (opts.outputSize !== undefined && opts.outputSize !== 256 && opts.outputSize !== 512) return `opts.outputSize must be 256 or 512, got ${JSON.stringify(opts.outputSize)}`;
  return null;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
