/**
 * The Redis transport (INFERENCE_TRANSPORT=redis): the bot enqueues jobs on a BullMQ queue and any
 * number of inference workers (each an in-process {@link WorkerInferenceClient}, so jobs are batched
 * there) consume them. Typed refusals (bad input, no face, TIMEOUT, ...) fail the job once; a worker
 * crash fails the attempt and BullMQ retries it (2 attempts), so jobs survive a crashed worker.
 *
 * Where an image can be in Redis, and for how long:
 * - the input, base64 in the job hash, only while the job waits or runs: jobs are removed the moment
 *   they complete or fail, and a waiting job whose caller gave up (timeout, abort) is removed then;
 * - the result PNG in its own key `<queue>:result:<jobId>`, written by the worker just before the job
 *   completes and deleted by the producer when it reads it (GETDEL); unread (caller gone) it expires
 *   after {@link RESULT_TTL_MS}. Nothing image-like goes through the events stream (capped at
 *   {@link EVENTS_MAX_LEN} entries): a job's return value is its metadata only.
 *
 * A killed worker is noticed fast: the job lock and the stalled check run every JOB_TIMEOUT_MS / 6
 * (at most 30 s, BullMQ's default), so a stalled job moves to another worker well within the caller's
 * timeout. Every job carries its deadline (enqueue time + JOB_TIMEOUT_MS): a worker skips a job whose
 * deadline has passed and stops one that reaches it, with TIMEOUT, which is never retried.
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { moduleLogger } from '../logger.ts';
import { precheckBytes } from '../media/upload-precheck.ts';
import { checkOptions, createInferenceClient, type WorkerInferenceClient } from './inference.client.ts';
import { deserializeError, InferenceError, serializeError, toInferenceError } from './inference.errors.ts';
import type { Direction, InferenceClient, TranslateOptions, TranslateResult } from './inference.types.ts';
import type { JobOptions } from './translate.pipeline.ts';

const log = moduleLogger('inference.redis');

/** Default BullMQ queue name (REDIS_QUEUE). */
export const DEFAULT_QUEUE = 'webtoon-inference';
/** How long an unread result may stay in Redis (its caller gave up or died). */
export const RESULT_TTL_MS = 10_000;
/** Approximate cap of the BullMQ events stream (BullMQ's default is 10 000). */
export const EVENTS_MAX_LEN = 200;

interface JobData {
  image: string; // base64
  opts: JobOptions;
  /** Epoch ms after which nobody waits for the result. */
  deadline: number;
}

/**
 * What a job returns through the events stream: everything but the images. The result PNG (and, when
 * asked, the audit pixels: input crop then output, each width×height×3) wait in short-lived keys.
 */
type JobMeta = Omit<TranslateResult, 'png' | 'auditImages'> & { audit?: { width: number; height: number } };

export interface RedisTransportOptions {
  /** Queue name (default REDIS_QUEUE; tests use their own). */
  queueName?: string;
  /** How often a waiting job's position is looked up (ms). */
  positionPollMs?: number;
  /** The worker's local client (default: {@link createInferenceClient}); tests pass a fault-injecting double. */
  createLocalClient?: (config: Config) => Promise<WorkerInferenceClient>;
  /** Told about every job a consumer finishes (the worker's metrics). */
  observer?: TranslationObserver;
}

/** Receives each consumed job's outcome (implemented by the operator metrics). */
export interface TranslationObserver {
  observeResult(result: TranslateResult): void;
  observeError(err: unknown, direction: Direction): void;
}

function connect(config: Config): Redis {
  if (!config.REDIS_URL) {
    throw new ConfigError('CONFIG_MISSING', 'INFERENCE_TRANSPORT=redis needs REDIS_URL, e.g. redis://127.0.0.1:6379', { missing: ['REDIS_URL'] });
  }
  return new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: false });
}

function versionsKey(queue: string): string {
  return `${queue}:model-versions`;
}

/** The key holding a job's audit pixels beside its result key (same lifetime, deleted when read). */
export function auditKey(resultKeyName: string): string {
  return `${resultKeyName}:audit`;
}

/** The short-lived key holding a finished job's PNG until its producer reads it. */
export function resultKey(queue: string, jobId: string): string {
  return `${queue}:result:${jobId}`;
}

/** Lock duration and stalled-check interval for a job timeout: a sixth of it, 1–30 s. */
export function lockTimings(jobTimeoutMs: number): { lockDuration: number; stalledInterval: number } {
  const ms = Math.min(30_000, Math.max(1_000, Math.floor(jobTimeoutMs / 6)));
  return { lockDuration: ms, stalledInterval: ms };
}

function timeoutError(timeoutMs: number, stage: string): InferenceError {
  return new InferenceError('TIMEOUT', `The translation took too long (over ${Math.round(timeoutMs / 1000)} s) and was stopped. Please try again.`, { timeoutMs, stage });
}

interface Waiter {
  resolve: (meta: JobMeta) => void;
  reject: (err: Error) => void;
}

/** The bot's side: enqueue and wait. */
export class RedisInferenceClient implements InferenceClient {
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly redis: Redis;
  private readonly name: string;
  private depth = 0;
  /** Jobs this producer waits for, by id (one events listener for all of them). */
  private readonly waiters = new Map<string, Waiter>();

  constructor(
    private readonly config: Config,
    private readonly opts: RedisTransportOptions = {},
  ) {
    this.name = opts.queueName ?? config.REDIS_QUEUE ?? DEFAULT_QUEUE;
    this.redis = connect(config);
    // The cap is stored in the queue's meta hash, where the workers' scripts read it too.
    this.queue = new Queue(this.name, { connection: this.redis, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
    this.events = new QueueEvents(this.name, { connection: connect(config) });
    this.events.on('completed', ({ jobId, returnvalue }) => {
      const w = this.waiters.get(jobId);
      if (!w) return;
      this.waiters.delete(jobId);
      try {
        w.resolve((typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as JobMeta);
      } catch (err) {
        w.reject(err as Error);
      }
    });
    this.events.on('failed', ({ jobId, failedReason }) => {
      const w = this.waiters.get(jobId);
      if (!w) return;
      this.waiters.delete(jobId);
      w.reject(decodeFailure(failedReason));
    });
  }

  /** Wait until the event stream is listening (so no completion is missed). */
  async ready(): Promise<void> {
    await this.events.waitUntilReady();
    await this.queue.waitUntilReady();
  }

  /** Waiting + running jobs in the whole queue (all producers), as of the last translate call. */
  queueDepth(): number {
    return this.depth;
  }

  private async countDepth(): Promise<number> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    this.depth = Object.values(c).reduce((a, b) => a + b, 0);
    return this.depth;
  }

  /**
   * 0 when no longer waiting (running), else 1 + the jobs ahead of it. Costs two small commands (LPOS,
   * LLEN on the wait list), whatever the queue holds: BullMQ pushes new jobs on the left and workers
   * take from the right, so the position counts from the right.
   */
  private async position(jobId: string): Promise<number> {
    const waitKey = this.queue.keys.wait;
    const res = await this.redis.multi().lpos(waitKey, jobId).llen(waitKey).exec();
    const index = res?.[0]?.[1] as number | null | undefined;
    const length = Number(res?.[1]?.[1] ?? 0);
    return index === null || index === undefined ? 0 : length - index;
  }

  async translate(image: Buffer, opts: TranslateOptions): Promise<TranslateResult> {
    const bad = checkOptions(opts);
    if (bad) throw new TypeError(`translate: ${bad}`);
    if (opts.signal?.aborted) throw new InferenceError('ABORTED', 'The translation was cancelled.', { stage: 'before-queue' });
    try {
      precheckBytes(image, { maxBytes: this.config.MAX_IMAGE_BYTES }); // byte-level refusals never reach the queue
    } catch (err) {
      throw toInferenceError(err);
    }
    const depth = await this.countDepth();
    if (depth >= this.config.QUEUE_MAX) {
      throw new InferenceError('QUEUE_FULL', 'The translator is busy right now. Please try again in a minute.', { queueDepth: depth, limit: this.config.QUEUE_MAX });
    }
    const { signal, onQueuePosition, ...jobOpts } = opts;
    const enqueued = performance.now();
    const timeoutMs = this.config.JOB_TIMEOUT_MS;
    const jobId = randomUUID();
    // Listen before adding, so a fast completion is never missed.
    const finished = new Promise<JobMeta>((resolve, reject) => this.waiters.set(jobId, { resolve, reject }));
    finished.catch(() => undefined); // handled below; never an unhandled rejection when we stop first
    const data: JobData = { image: image.toString('base64'), opts: jobOpts, deadline: Date.now() + timeoutMs };
    try {
      await this.queue.add('translate', data, { jobId, attempts: 2, removeOnComplete: true, removeOnFail: true });
    } catch (err) {
      this.waiters.delete(jobId);
      throw err;
    }
    this.depth++;
    let last = -1;
    const poll = async (): Promise<void> => {
      if (!onQueuePosition) return;
      const p = await this.position(jobId).catch(() => null);
      if (p !== null && p !== last && (last === -1 || p < last)) {
        last = p;
        onQueuePosition(p);
      }
    };
    await poll();
    const timer = setInterval(() => void poll(), this.opts.positionPollMs ?? 1000);
    let stop: (err: InferenceError) => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => {
      stop = reject;
    });
    const timeout = setTimeout(() => stop(timeoutError(timeoutMs, 'queued-or-running')), timeoutMs);
    const onAbort = (): void => stop(new InferenceError('ABORTED', 'The translation was cancelled.', { stage: 'queued-or-running' }));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const { audit, ...meta } = await Promise.race([finished, stopped]);
      const key = resultKey(this.name, jobId);
      const [pngRes, auditRes] = (await this.redis.multi().getdelBuffer(key).getdelBuffer(auditKey(key)).exec()) ?? [];
      const png = pngRes?.[1] as Buffer | null | undefined;
      const auditBytes = auditRes?.[1] as Buffer | null | undefined;
      if (!png) {
        throw new InferenceError('WORKER_CRASHED', 'The translation engine lost the result. Please try again.', { jobId, stage: 'result' });
      }
      const half = audit ? audit.width * audit.height * 3 : 0;
      const auditImages = audit && auditBytes && auditBytes.length === 2 * half
        ? { ...audit, input: auditBytes.subarray(0, half), output: auditBytes.subarray(half) }
        : undefined;
      return { ...meta, png, ...(auditImages ? { auditImages } : {}), timings: { ...meta.timings, total: Math.round((performance.now() - enqueued) * 100) / 100 } };
    } catch (err) {
      if (err instanceof InferenceError && (err.code === 'TIMEOUT' || err.code === 'ABORTED')) {
        // Remove it if still waiting (a running job cannot be removed: its worker stops at the deadline
        // and writes no result); drop a result that may have been written meanwhile.
        await this.queue.remove(jobId).catch(() => undefined);
        await this.redis.del(resultKey(this.name, jobId), auditKey(resultKey(this.name, jobId))).catch(() => undefined);
      }
      throw err;
    } finally {
      this.waiters.delete(jobId);
      clearInterval(timer);
      clearTimeout(timeout);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Versions the workers last reported (null for a direction no worker serves). */
  async modelVersions(): Promise<Record<Direction, string | null>> {
    const h = await this.redis.hgetall(versionsKey(this.name));
    return { a2b: h.a2b || null, b2a: h.b2a || null };
  }

  async close(): Promise<void> {
    const err = new InferenceError('ABORTED', 'The translation service is shutting down.', { stage: 'close' });
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
    await this.events.close();
    await this.queue.close();
    this.redis.disconnect();
  }
}

/** A failed job's reason is the serialised error posted by the worker. */
function decodeFailure(reason: unknown): Error {
  const message = reason instanceof Error ? reason.message : String(reason);
  try {
    const parsed = JSON.parse(message) as Parameters<typeof deserializeError>[0];
    if (parsed && typeof parsed === 'object' && 'message' in parsed) return deserializeError(parsed);
  } catch {
    // not ours
  }
  return reason instanceof Error ? reason : new Error(message);
}

/** A running consumer; `close()` stops it. */
export interface RedisInferenceWorker {
  close(): Promise<void>;
  /** The in-process client doing the work (for tests and metrics). */
  local: WorkerInferenceClient;
  /** Health: the consumer is running and Redis answers (throws when Redis does not). */
  check(): Promise<{ ok: boolean; detail: string }>;
}

/**
 * Consume the queue: each job goes through a local worker-thread client (so concurrent jobs batch),
 * up to BATCH_MAX_SIZE at a time. Reports the served model versions to Redis.
 */
export async function startRedisInferenceWorker(config: Config, opts: RedisTransportOptions = {}): Promise<RedisInferenceWorker> {
  const name = opts.queueName ?? config.REDIS_QUEUE ?? DEFAULT_QUEUE;
  const local = await (opts.createLocalClient ?? createInferenceClient)({ ...config, INFERENCE_TRANSPORT: 'inprocess' });
  const redis = connect(config);
  const publishVersions = async (): Promise<void> => {
    const v = await local.modelVersions();
    await redis.hset(versionsKey(name), { a2b: v.a2b ?? '', b2a: v.b2a ?? '' });
  };
  await publishVersions().catch((err: unknown) => log.warn({ err }, 'could not publish model versions'));
  const timeoutMs = config.JOB_TIMEOUT_MS;
  // BullMQ does not close a connection it was handed: keep it and close it ourselves.
  const consumerConnection = connect(config);
  const worker = new Worker(
    name,
    async (job: Job<JobData>): Promise<JobMeta> => {
      log.debug({ jobId: job.id, attempt: job.attemptsMade + 1 }, 'job picked up');
      const deadline = typeof job.data.deadline === 'number' ? job.data.deadline : Date.now() + timeoutMs;
      const left = deadline - Date.now();
      try {
        if (left <= 0) throw timeoutError(timeoutMs, 'queued');
        const signal = AbortSignal.timeout(left);
        const r = await local.translate(Buffer.from(job.data.image, 'base64'), { ...job.data.opts, signal }).catch((err: unknown) => {
          throw signal.aborted ? timeoutError(timeoutMs, 'running') : err;
        });
        if (Date.now() >= deadline) throw timeoutError(timeoutMs, 'running'); // nobody waits for it any more
        await redis.set(resultKey(name, String(job.id)), r.png, 'PX', RESULT_TTL_MS);
        opts.observer?.observeResult(r);
        void publishVersions().catch(() => undefined);
        const { png: _png, auditImages, ...meta } = r;
        if (!auditImages) return meta;
        await redis.set(auditKey(resultKey(name, String(job.id))), Buffer.concat([auditImages.input, auditImages.output]), 'PX', RESULT_TTL_MS);
        return { ...meta, audit: { width: auditImages.width, height: auditImages.height } };
      } catch (err) {
        opts.observer?.observeError(err, job.data.opts.direction);
        const posted = JSON.stringify(serializeError(err));
        // A crash is worth another attempt; a refusal of the input, or a job out of time, is not.
        if (err instanceof InferenceError && err.code !== 'WORKER_CRASHED') {
          const final = new UnrecoverableError(posted);
          final.cause = err;
          throw final;
        }
        throw new Error(posted, { cause: err });
      }
    },
    {
      connection: consumerConnection,
      concurrency: Math.max(1, config.BATCH_MAX_SIZE),
      ...lockTimings(timeoutMs),
      maxStalledCount: 1,
    },
  );
  worker.on('failed', (job, err) => log.debug({ jobId: job?.id, reason: err.message.slice(0, 200) }, 'job failed'));
  await worker.waitUntilReady();
  return {
    local,
    async check() {
      const pong = await redis.ping();
      const running = worker.isRunning();
      return { ok: running && pong === 'PONG', detail: `consumer ${running ? 'running' : 'stopped'} on queue ${name}, redis ${pong}` };
    },
    async close() {
      await worker.close();
      await local.close();
      consumerConnection.disconnect();
      redis.disconnect();
    },
  };
}

/** Start a producer client and wait until it listens. */
export async function createRedisInferenceClient(config: Config, opts: RedisTransportOptions = {}): Promise<RedisInferenceClient> {
  const client = new RedisInferenceClient(config, opts);
  await client.ready();
  return client;
}
