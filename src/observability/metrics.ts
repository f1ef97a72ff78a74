/**
 * Prometheus metrics (prom-client) of one process: the bot or a `webtoon worker`. Each
 * {@link ServiceMetrics} owns its own registry (so several bots in one test process never collide)
 * with the process metrics of prom-client (memory, CPU, event-loop lag) plus ours:
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `webtoon_inference_queue_depth` | gauge | (none): jobs waiting or running |
 * | `webtoon_inference_stage_seconds` | histogram | `stage` (queue, decode, detect, crop, generate, render, total), `direction` |
 * | `webtoon_inference_batch_size` | histogram | `direction`: images per generator run |
 * | `webtoon_translations_total` | counter | `direction`, `status` (ok / error) |
 * | `webtoon_errors_total` | counter | `code` (NO_FACE, QUEUE_FULL, ...) |
 * | `webtoon_model_info` | gauge = 1 | `direction`, `version` of the model served now |
 * | `webtoon_discord_gateway_status` | gauge | (bot only) discord.js `Status`: 0 = ready |
 * | `webtoon_discord_gateway_ping_seconds` | gauge | (bot only) last heartbeat round trip |
 *
 * {@link instrumentInference} wraps any {@link InferenceClient} so every translation is observed.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isAppError } from '../errors.ts';
import type { Direction, InferenceClient, TranslateOptions, TranslateResult } from '../inference/inference.types.ts';

/** Stage latency buckets in seconds: 1 ms … 60 s (a CPU generator run is ~0.1–1 s, a queued job can wait far longer). */
const STAGE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BATCH_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 32];

/** What the bot's gateway gauges read (a discord.js Client satisfies it). */
export interface GatewaySource {
  ws: { status: number; ping: number };
}

export interface ServiceMetricsOptions {
  /** `bot` or `worker`: the `service` label on every metric. */
  service: 'bot' | 'worker';
  /** Where queue depth and served model versions are read at scrape time. */
  inference?: Pick<InferenceClient, 'queueDepth' | 'modelVersions'>;
  /** Longest a scrape waits for the model versions (ms; default 2000). */
  versionsTimeoutMs?: number;
}

/** The metrics of one process, in their own registry. */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly stage: Histogram<'stage' | 'direction'>;
  private readonly batch: Histogram<'direction'>;
  private readonly translations: Counter<'direction' | 'status'>;
  private readonly errors: Counter<'code'>;
  private inference: ServiceMetricsOptions['inference'];
  private gateway: GatewaySource | undefined;

  constructor(opts: ServiceMetricsOptions) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ service: opts.service });
    collectDefaultMetrics({ register: this.registry });
    this.inference = opts.inference;
    const timeoutMs = opts.versionsTimeoutMs ?? 2000;
    // Arrow functions below read `self`, not `this`: prom-client calls collect() with the metric as `this`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'webtoon_inference_queue_depth',
      help: 'Translation jobs waiting or running now.',
      registers,
      collect() {
        if (self.inference) this.set(self.inference.queueDepth());
      },
    });
    this.stage = new Histogram({
      name: 'webtoon_inference_stage_seconds',
      help: 'Time per pipeline stage of successful translations (queue, decode, detect, crop, generate, render, total).',
      labelNames: ['stage', 'direction'],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.batch = new Histogram({
      name: 'webtoon_inference_batch_size',
      help: 'Images that shared the generator run of a translation (dynamic batching).',
      labelNames: ['direction'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.translations = new Counter({
      name: 'webtoon_translations_total',
      help: 'Translations finished, by direction and status (ok or error).',
      labelNames: ['direction', 'status'],
      registers,
    });
    this.errors = new Counter({
      name: 'webtoon_errors_total',
      help: 'Failed translations by error code (NO_FACE, QUEUE_FULL, TIMEOUT, ...).',
      labelNames: ['code'],
      registers,
    });
    new Gauge({
      name: 'webtoon_model_info',
      help: 'The model version served per direction (value 1; no series when none is served).',
      labelNames: ['direction', 'version'],
      registers,
      async collect() {
        this.reset();
        if (!self.inference) return;
        const versions = await withTimeout(self.inference.modelVersions(), timeoutMs).catch(() => null);
        for (const [direction, version] of Object.entries(versions ?? {})) {
          if (version) this.set({ direction, version }, 1);
        }
      },
    });
    if (opts.service === 'bot') {
      new Gauge({
        name: 'webtoon_discord_gateway_status',
        help: 'discord.js gateway status: 0 ready, 1 connecting, 2 reconnecting, 3 idle, 4 nearly, 5 disconnected, 6 waiting for guilds, 7 identifying, 8 resuming; -1 before login.',
        registers,
        collect() {
          this.set(self.gateway ? self.gateway.ws.status : -1);
        },
      });
      new Gauge({
        name: 'webtoon_discord_gateway_ping_seconds',
        help: 'Last gateway heartbeat round trip (seconds; -1 before the first heartbeat).',
        registers,
        collect() {
          const ping = self.gateway?.ws.ping ?? -1;
          this.set(ping >= 0 ? ping / 1000 : -1);
        },
      });
    }
  }

  /** Read queue depth and model versions from this client from now on. */
  setInference(inference: ServiceMetricsOptions['inference']): void {
    this.inference = inference;
  }

  /** Read the gateway gauges from this client (the bot's discord.js Client). */
  setGateway(gateway: GatewaySource | undefined): void {
    this.gateway = gateway;
  }

  /** Record a successful translation: stage timings (ms in the result), batch size, count. */
  observeResult(result: Pick<TranslateResult, 'direction' | 'timings' | 'batchSize'>): void {
    const direction = result.direction;
    for (const [stage, ms] of Object.entries(result.timings)) {
      if (Number.isFinite(ms) && ms >= 0) this.stage.observe({ stage, direction }, ms / 1000);
    }
    if (result.batchSize !== undefined) this.batch.observe({ direction }, result.batchSize);
    this.translations.inc({ direction, status: 'ok' });
  }

  /** Record a failed translation by its error code (`INTERNAL` for an error without one). */
  observeError(err: unknown, direction: Direction | string): void {
    const code = isAppError(err) ? err.code : typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'INTERNAL';
    this.errors.inc({ code });
    this.translations.inc({ direction: String(direction), status: 'error' });
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Wrap a client so every translation is recorded in `metrics`; everything else passes through. */
export function instrumentInference<T extends InferenceClient>(client: T, metrics: ServiceMetrics): InferenceClient {
  metrics.setInference(client);
  return {
    async translate(image: Buffer, opts: TranslateOptions): Promise<TranslateResult> {
      try {
        const result = await client.translate(image, opts);
        metrics.observeResult(result);
        return result;
      } catch (err) {
        metrics.observeError(err, opts?.direction ?? 'unknown');
        throw err;
      }
    },
    queueDepth: () => client.queueDepth(),
    modelVersions: () => client.modelVersions(),
    close: () => client.close(),
  };
}

/** Resolve with `p`, or reject after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
