/**
 * The Redis transport (INFERENCE_TRANSPORT=redis): the bot enqueues jobs on a BullMQ queue and any
 * number of inference workers (each an in-process {@link WorkerInferenceClient}, so jobs are batched
 * there) consume them. Typed refusals (bad input, no face, ...) fail the job once; a worker crash
 * fails the attempt and BullMQ retries it (2 attempts), so jobs survive a crashed worker.
 */
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { moduleLogger } from '../logger.ts';
import { precheckBytes } from './image-format.ts';
import { checkOptions, createInferenceClient, type WorkerInferenceClient } from './inference.client.ts';
import { deserializeError, InferenceError, serializeError } from './inference.errors.ts';
import type { Direction, InferenceClient, TranslateOptions, TranslateResult } from './inference.types.ts';
import type { JobOptions } from './translate.pipeline.ts';

const log = moduleLogger('inference.redis');

/** Default BullMQ queue name. */
export const DEFAULT_QUEUE = 'webtoon-inference';

interface JobData {
  image: string; // base64
  opts: JobOptions;
}

type JobResult = Omit<TranslateResult, 'png'> & { png: string };

export interface RedisTransportOptions {
  /** Queue name (tests use their own). */
  queueName?: string;
  /** How often a waiting job's position is looked up (ms). */
  positionPollMs?: number;
  /** The worker's local client (default: {@link createInferenceClient}); tests pass a fault-injecting double. */
  createLocalClient?: (config: Config) => Promise<WorkerInferenceClient>;
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

/** The bot's side: enqueue and wait. */
export class RedisInferenceClient implements InferenceClient {
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly redis: Redis;
  private readonly name: string;
  private depth = 0;

  constructor(
    private readonly config: Config,
    private readonly opts: RedisTransportOptions = {},
  ) {
    this.name = opts.queueName ?? DEFAULT_QUEUE;
    this.redis = connect(config);
    this.queue = new Queue(this.name, { connection: this.redis });
    this.events = new QueueEvents(this.name, { connection: connect(config) });
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

  /** 0 when running, else 1 + the jobs ahead of it; null when finished or gone. */
  private async position(job: Job): Promise<number | null> {
    const state = await job.getState();
    if (state === 'active') return 0;
    if (state !== 'waiting' && state !== 'prioritized') return null;
    const waiting = await this.queue.getWaiting(0, 999);
    const i = waiting.findIndex((j) => j.id === job.id);
    // getWaiting lists the oldest (next to run) first.
    return i < 0 ? null : i + 1;
  }

  async translate(image: Buffer, opts: TranslateOptions): Promise<TranslateResult> {
    const bad = checkOptions(opts);
    if (bad) throw new TypeError(`translate: ${bad}`);
    if (opts.signal?.aborted) throw new InferenceError('ABORTED', 'The translation was cancelled.', { stage: 'before-queue' });
    precheckBytes(image, { maxBytes: this.config.MAX_IMAGE_BYTES }); // byte-level refusals never reach the queue
    const depth = await this.countDepth();
    if (depth >= this.config.QUEUE_MAX) {
      throw new InferenceError('QUEUE_FULL', 'The translator is busy right now. Please try again in a minute.', { queueDepth: depth, limit: this.config.QUEUE_MAX });
    }
    const { signal, onQueuePosition, ...jobOpts } = opts;
    const enqueued = performance.now();
    const job = await this.queue.add('translate', { image: image.toString('base64'), opts: jobOpts } satisfies JobData, {
      attempts: 2,
      removeOnComplete: { age: 300 },
      removeOnFail: { age: 3600 },
    });
    this.depth++;
    let last = -1;
    const poll = async (): Promise<void> => {
      if (!onQueuePosition) return;
      let p = await this.position(job).catch(() => null);
      if (p === null && last === -1) p = 0; // already picked up (or finished) before the first look
      if (p !== null && p !== last) {
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
    const timeoutMs = this.config.JOB_TIMEOUT_MS;
    const timeout = setTimeout(
      () => stop(new InferenceError('TIMEOUT', `The translation took too long (over ${Math.round(timeoutMs / 1000)} s) and was stopped. Please try again.`, { timeoutMs })),
      timeoutMs,
    );
    const onAbort = (): void => stop(new InferenceError('ABORTED', 'The translation was cancelled.', { stage: 'queued-or-running' }));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = (await Promise.race([job.waitUntilFinished(this.events), stopped])) as JobResult;
      return {
        ...result,
        png: Buffer.from(result.png, 'base64'),
        timings: { ...result.timings, total: Math.round((performance.now() - enqueued) * 100) / 100 },
      };
    } catch (err) {
      if (err instanceof InferenceError) {
        await job.remove().catch(() => undefined); // drop it if still waiting (a running job cannot be removed)
        throw err;
      }
      throw decodeFailure(err);
    } finally {
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
    await this.events.close();
    await this.queue.close();
    this.redis.disconnect();
  }
}

/** A failed job's reason is the serialised error posted by the worker. */
function decodeFailure(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  try {
    const parsed = JSON.parse(message) as Parameters<typeof deserializeError>[0];
    if (parsed && typeof parsed === 'object' && 'message' in parsed) return deserializeError(parsed);
  } catch {
    // not ours
  }
  return err instanceof Error ? err : new Error(message);
}

/** A running consumer; `close()` stops it. */
export interface RedisInferenceWorker {
  close(): Promise<void>;
  /** The in-process client doing the work (for tests and metrics). */
  local: WorkerInferenceClient;
}

/**
 * Consume the queue: each job goes through a local worker-thread client (so concurrent jobs batch),
 * up to BATCH_MAX_SIZE at a time. Reports the served model versions to Redis.
 */
export async function startRedisInferenceWorker(config: Config, opts: RedisTransportOptions = {}): Promise<RedisInferenceWorker> {
  const name = opts.queueName ?? DEFAULT_QUEUE;
  const local = await (opts.createLocalClient ?? createInferenceClient)({ ...config, INFERENCE_TRANSPORT: 'inprocess' });
  const redis = connect(config);
  const publishVersions = async (): Promise<void> => {
    const v = await local.modelVersions();
    await redis.hset(versionsKey(name), { a2b: v.a2b ?? '', b2a: v.b2a ?? '' });
  };
  await publishVersions().catch((err: unknown) => log.warn({ err }, 'could not publish model versions'));
  // BullMQ does not close a connection it was handed: keep it and close it ourselves.
  const consumerConnection = connect(config);
  const worker = new Worker(
    name,
    async (job: Job<JobData>): Promise<JobResult> => {
      try {
        const r = await local.translate(Buffer.from(job.data.image, 'base64'), job.data.opts);
        void publishVersions().catch(() => undefined);
        return { ...r, png: r.png.toString('base64') };
      } catch (err) {
        const posted = JSON.stringify(serializeError(err));
        // A crash is worth another attempt; a refusal of the input is not.
        if (err instanceof InferenceError && err.code !== 'WORKER_CRASHED' && err.code !== 'TIMEOUT') {
          const final = new UnrecoverableError(posted);
          final.cause = err;
          throw final;
        }
        throw new Error(posted, { cause: err });
      }
    },
    { connection: consumerConnection, concurrency: Math.max(1, config.BATCH_MAX_SIZE) },
  );
  worker.on('failed', (job, err) => log.debug({ jobId: job?.id, reason: err.message.slice(0, 200) }, 'job failed'));
  await worker.waitUntilReady();
  return {
    local,
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
