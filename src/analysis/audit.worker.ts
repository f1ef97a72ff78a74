/**
 * The audit worker thread: face analysis (tfjs-wasm, single-threaded and CPU-heavy, ≈0.3–1 s per face)
 * runs here so it never blocks the bot's event loop. Messages: `{ id, direction, images }` in,
 * `{ id, audit }` or `{ id, error }` out.
 */
import { parentPort } from 'node:worker_threads';
import { auditFacePair, type AuditDirection, type FaceAudit } from './audit.ts';
import { FaceAnalyzer } from './face-analysis.ts';

export interface AuditJob {
  id: number;
  direction: AuditDirection;
  width: number;
  height: number;
  input: Uint8Array;
  output: Uint8Array;
}

export type AuditReply = { id: number; audit: FaceAudit; durationMs: number } | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error('audit.worker.ts must run in a worker thread');
const analyzer = FaceAnalyzer.create();

port.on('message', (job: AuditJob) => {
  void (async () => {
    const started = performance.now();
    try {
      const a = await analyzer;
      const img = (data: Uint8Array) => ({ data, width: job.width, height: job.height, channels: 3 as const });
      const audit = await auditFacePair(a, img(job.input), img(job.output), job.direction);
      port.postMessage({ id: job.id, audit, durationMs: Math.round(performance.now() - started) } satisfies AuditReply);
    } catch (err) {
      port.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) } satisfies AuditReply);
    }
  })();
});
