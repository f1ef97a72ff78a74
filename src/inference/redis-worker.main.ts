/**
 * A stand-alone inference worker for INFERENCE_TRANSPORT=redis: consumes the BullMQ queue on
 * REDIS_URL until SIGINT/SIGTERM. Run one per GPU/CPU host:
 *   REDIS_URL=redis://host:6379 MODELS_DIR=./models npx tsx src/inference/redis-worker.main.ts
 */
import { config } from '../config.ts';
import { moduleLogger } from '../logger.ts';
import { startRedisInferenceWorker } from './redis.transport.ts';

const log = moduleLogger('inference.redis-worker');
const worker = await startRedisInferenceWorker(config());
log.info({ versions: await worker.local.modelVersions() }, 'inference worker consuming the queue');
const stop = (): void => {
  void worker.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
