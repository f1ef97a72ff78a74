/**
 * `webtoon worker`: a stand-alone inference worker for INFERENCE_TRANSPORT=redis. It consumes the BullMQ
 * queue on REDIS_URL with the same pipeline the in-process worker runs (registry, batching, ORT providers)
 * until SIGINT/SIGTERM, then finishes its current job and exits. Run one per GPU host.
 */
import type { Command } from 'commander';
import { ConfigError } from '../../errors.ts';

export default function register(program: Command): void {
  program
    .command('worker')
    .description('consume translation jobs from the Redis queue (INFERENCE_TRANSPORT=redis; needs REDIS_URL)')
    .action(async () => {
      const { config } = await import('../../config.ts');
      const { moduleLogger } = await import('../../logger.ts');
      const cfg = config();
      if (!cfg.REDIS_URL) {
        throw new ConfigError('CONFIG_MISSING', 'webtoon worker needs REDIS_URL (e.g. redis://127.0.0.1:6379): it consumes the queue the bot fills when INFERENCE_TRANSPORT=redis', {
          missing: ['REDIS_URL'],
        });
      }
      const { startRedisInferenceWorker } = await import('../../inference/redis.transport.ts');
      const log = moduleLogger('cli.worker');
      // Listen for the stop signal before starting, so a signal during start-up is not lost.
      const stopSignal = new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      const worker = await startRedisInferenceWorker(cfg);
      log.info({ versions: await worker.local.modelVersions(), providers: cfg.ORT_PROVIDERS }, 'inference worker consuming the queue');
      const signal = await stopSignal;
      log.info({ signal }, 'stopping: finishing the current job');
      await worker.close();
    });
}
