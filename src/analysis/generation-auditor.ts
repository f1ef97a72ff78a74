/**
 * Runs the automatic audit of each generation after the reply has gone out, and stores it.
 * - `submit()` returns at once; the member's reply never waits for it.
 * - The analysis runs in its own worker thread ({@link WorkerAuditRunner}), started on first use, so the
 *   bot's event loop stays free; the CLI and tests may use {@link InProcessAuditRunner}.
 * - At most `maxPending` audits wait; further ones are skipped and logged (a burst never grows memory).
 * - A failed audit is logged and dropped; it never affects the generation.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { moduleLogger } from '../logger.ts';
// Types only: tfjs and the face models load in the worker thread (or on the first in-process audit), never
// when the bot imports this module.
import type { AuditDirection, FaceAudit } from './audit.ts';
import type { AuditJob, AuditReply } from './audit.worker.ts';
import type { FaceAnalyzer } from './face-analysis.ts';

/** The pixels to compare: the input crop and the generator's output, same size, RGB. */
export interface AuditPixels {
  width: number;
  height: number;
  input: Uint8Array;
  output: Uint8Array;
}

/** Something that audits a pair of images. */
export interface AuditRunner {
  run(direction: AuditDirection, pixels: AuditPixels): Promise<{ audit: FaceAudit; durationMs: number }>;
  close(): Promise<void>;
}

/** Where audits are stored (the database's AuditStore fits). */
export interface AuditSink {
  record(generationId: number, audit: FaceAudit, durationMs: number): Promise<unknown>;
}

const BOOTSTRAP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'audit.worker-bootstrap.mjs');

/** Face analysis in a dedicated worker thread, started on the first audit. */
export class WorkerAuditRunner implements AuditRunner {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: { audit: FaceAudit; durationMs: number }) => void; reject: (e: Error) => void }>();

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(BOOTSTRAP, { stdout: false, stderr: false });
    w.unref();
    w.on('message', (msg: AuditReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if ('error' in msg) p.reject(new Error(msg.error));
      else p.resolve({ audit: msg.audit, durationMs: msg.durationMs });
    });
    const failAll = (err: Error): void => {
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', failAll);
    w.on('exit', (code) => failAll(new Error(`the audit worker exited (code ${code})`)));
    this.worker = w;
    return w;
  }

  run(direction: AuditDirection, pixels: AuditPixels): Promise<{ audit: FaceAudit; durationMs: number }> {
    const w = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      const job: AuditJob = { id, direction, ...pixels };
      w.postMessage(job);
    }).finally(() => {
      if (this.pending.size === 0) this.worker?.unref();
    }) as Promise<{ audit: FaceAudit; durationMs: number }>;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}

/** Face analysis on this thread (the CLI, which has nothing else to do meanwhile). */
export class InProcessAuditRunner implements AuditRunner {
  private analyzer: Promise<FaceAnalyzer> | undefined;

  async run(direction: AuditDirection, pixels: AuditPixels): Promise<{ audit: FaceAudit; durationMs: number }> {
    this.analyzer ??= import('./face-analysis.ts').then((m) => m.FaceAnalyzer.create());
    const a = await this.analyzer;
    const { auditFacePair } = await import('./audit.ts');
    const started = performance.now();
    const img = (data: Uint8Array) => ({ data, width: pixels.width, height: pixels.height, channels: 3 as const });
    const audit = await auditFacePair(a, img(pixels.input), img(pixels.output), direction);
    return { audit, durationMs: Math.round(performance.now() - started) };
  }

  async close(): Promise<void> {
    const a = await this.analyzer;
    await a?.dispose();
  }
}

export interface GenerationAuditorOptions {
  /** Audits waiting or running at most (AUDIT_MAX_PENDING); beyond it new ones are skipped. */
  maxPending?: number;
  logger?: Logger;
}

/** Queues audits of finished generations and stores their results. */
export class GenerationAuditor {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxPending: number;
  private readonly log: Logger;
  private closed = false;
  /** Counts since start: audits stored, skipped for a full queue, failed. */
  readonly counts = { stored: 0, skipped: 0, failed: 0 };

  constructor(
    private readonly runner: AuditRunner,
    private readonly sink: AuditSink,
    opts: GenerationAuditorOptions = {},
  ) {
    this.maxPending = opts.maxPending ?? 32;
    this.log = opts.logger ?? moduleLogger('analysis.auditor');
  }

  /**
   * Audit a generation in the background and store the result. Returns at once; never throws.
   * @returns false when the audit was skipped (queue full, closed, or no pixels).
   */
  submit(generationId: number, direction: AuditDirection, pixels: AuditPixels | undefined): boolean {
    if (this.closed || !pixels) return false;
    if (this.inFlight.size >= this.maxPending) {
      this.counts.skipped++;
      this.log.warn({ generationId, pending: this.inFlight.size }, 'audit skipped: too many audits pending');
      return false;
    }
    const task = this.runner
      .run(direction, pixels)
      .then(({ audit, durationMs }) => this.sink.record(generationId, audit, durationMs))
      .then(
        () => {
          this.counts.stored++;
        },
        (err: unknown) => {
          this.counts.failed++;
          this.log.warn({ generationId, err }, 'audit failed (the generation is unaffected)');
        },
      )
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
    return true;
  }

  /** Audits waiting or running now. */
  pending(): number {
    return this.inFlight.size;
  }

  /** Resolves once every audit submitted so far is stored (or has failed). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Refuse new audits, finish the pending ones, stop the runner. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    await this.runner.close();
  }
}
