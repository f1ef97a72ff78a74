/**
 * The inference worker thread: owns the pipeline (detectors, ONNX sessions, batching) and answers the
 * client's messages. Started by {@link ./inference.client.ts} through `inference.worker-bootstrap.mjs`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { setLogLevel } from '../logger.ts';
import { serializeError } from './inference.errors.ts';
import type { ToWorker, FromWorker, WorkerInit } from './worker.protocol.ts';
import { TranslatePipeline } from './translate.pipeline.ts';

const port = parentPort;
if (!port) throw new Error('inference.worker.ts must run in a worker thread');

const init = workerData as WorkerInit;
// The logger reads the environment; the client's configuration (maybe a test's) decides here.
setLogLevel(init.config.LOG_LEVEL);
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

let pipeline: TranslatePipeline;
try {
  pipeline = await TranslatePipeline.create(init.config as Config, { modelFile: init.modelFile, modelOverrides: init.modelOverrides });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'fatal', error: serializeError(err) });
  process.exit(1);
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'job':
      pipeline.translate(new Uint8Array(msg.image), msg.opts).then(
        (result) => {
          const png = result.png.buffer.slice(result.png.byteOffset, result.png.byteOffset + result.png.byteLength) as ArrayBuffer;
          post({ type: 'result', id: msg.id, result: { ...result, png } }, [png]);
        },
        (err: unknown) => post({ type: 'error', id: msg.id, error: serializeError(err) }),
      );
      break;
    case 'versions':
      pipeline.modelVersions().then(
        (versions) => post({ type: 'versions', id: msg.id, versions }),
        (err: unknown) => post({ type: 'error', id: msg.id, error: serializeError(err) }),
      );
      break;
    case 'crash':
      // Test hook: die the hard way, as a native crash or OOM would.
      process.exit(70);
      break;
    case 'hang':
      // Test hook: block the thread for `ms` (a stuck native call).
      {
        const until = Date.now() + msg.ms;
        while (Date.now() < until) {
          /* busy */
        }
      }
      break;
    case 'close':
      void pipeline.dispose().finally(() => {
        post({ type: 'closed' });
        port.close();
      });
      break;
  }
});
