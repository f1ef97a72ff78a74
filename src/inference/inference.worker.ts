/**
 * The inference worker thread: owns the pipeline (detectors, ONNX sessions, batching) and answers the
 * client's messages. Started by {@link ./inference.client.ts} through `inference.worker-bootstrap.mjs`.
 *
 * Shutdown is cooperative: on `close` the worker stops taking jobs, releases its sessions once no ONNX
 * call is running (see src/onnx/runtime.ts), waits for the jobs it holds to settle, says `closed` and lets
 * the thread end by itself. The client terminates the thread only as a last resort, because
 * terminating it inside a native onnxruntime call aborts the whole process.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { setLogLevel } from '../logger.ts';
import { InferenceError, serializeError } from './inference.errors.ts';
import type { ToWorker, FromWorker, WorkerInit } from './worker.protocol.ts';
import { TranslatePipeline } from './translate.pipeline.ts';

if (!parentPort) throw new Error('inference.worker.ts must run in a worker thread');
const port: MessagePort = parentPort;

const init = workerData as WorkerInit;
// The logger reads the environment; the client's configuration (maybe a test's) decides here.
setLogLevel(init.config.LOG_LEVEL);
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

/** Jobs (and version calls) started here and not yet settled. */
const inFlight = new Set<Promise<unknown>>();
/** Cancellation of each job started here and not yet answered. */
const cancels = new Map<number, AbortController>();
let closing: Promise<void> | null = null;

const shuttingDown = (): InferenceError => new InferenceError('ABORTED', 'The translation service is shutting down.', { stage: 'close' });

function track(id: number, work: () => Promise<void>): void {
  const p = work().catch((err: unknown) => post({ type: 'error', id, error: serializeError(err) }));
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
}

const ready: Promise<TranslatePipeline | null> = TranslatePipeline.create(init.config as Config, {
  modelFile: init.modelFile,
  modelOverrides: init.modelOverrides,
}).then(
  (pipeline) => {
    post({ type: 'ready' });
    return pipeline;
  },
  (err: unknown) => {
    post({ type: 'fatal', error: serializeError(err) });
    return null;
  },
);

// Listen while the pipeline is being created, so that a `close` sent during startup waits for the sessions
// being created instead of the client having to terminate the thread in the middle of a native load.
port.on('message', (msg: ToWorker) => {
  if (closing && (msg.type === 'job' || msg.type === 'versions')) {
    post({ type: 'error', id: msg.id, error: serializeError(shuttingDown()) });
    return;
  }
  switch (msg.type) {
    case 'job': {
      const cancel = new AbortController();
      cancels.set(msg.id, cancel);
      track(msg.id, async () => {
        try {
          const pipeline = await ready;
          if (!pipeline) throw shuttingDown();
          const result = await pipeline.translate(new Uint8Array(msg.image), msg.opts, { signal: cancel.signal });
          const png = result.png.buffer.slice(result.png.byteOffset, result.png.byteOffset + result.png.byteLength) as ArrayBuffer;
          post({ type: 'result', id: msg.id, result: { ...result, png } }, [png]);
        } finally {
          cancels.delete(msg.id);
        }
      });
      break;
    }
    case 'cancel':
      cancels.get(msg.id)?.abort();
      break;
    case 'versions':
      track(msg.id, async () => {
        const pipeline = await ready;
        if (!pipeline) throw shuttingDown();
        post({ type: 'versions', id: msg.id, versions: await pipeline.modelVersions() });
      });
      break;
    case 'crash':
      // Fault injection: die the hard way, as a native crash or OOM would.
      if (init.faultInjection) process.exit(70);
      break;
    case 'hang':
      // Fault injection: block the thread for `ms` (a stuck native call).
      if (init.faultInjection) {
        const until = Date.now() + msg.ms;
        while (Date.now() < until) {
          /* busy */
        }
      }
      break;
    case 'close':
      closing ??= shutDown();
      break;
  }
});

/**
 * Release everything, then let the thread end: the sessions first (each after its running batch, and
 * later ONNX calls are refused with ABORTED, so the jobs still here fail fast), then wait for those jobs.
 */
async function shutDown(): Promise<void> {
  const pipeline = await ready;
  try {
    await pipeline?.dispose();
  } catch {
    // Nothing useful to do with a release failure while shutting down.
  }
  while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  post({ type: 'closed' });
  port.close(); // with the port closed and nothing pending, the thread exits on its own
}

// A failed start leaves nothing worth keeping: exit (from JS, so no native call is interrupted).
if ((await ready) === null && !closing) process.exit(1);
