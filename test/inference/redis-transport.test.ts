import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createInferenceClient } from '../../src/inference/index.ts';
import { createRedisInferenceClient, type RedisInferenceClient, type RedisInferenceWorker, startRedisInferenceWorker } from '../../src/inference/redis.transport.ts';
import { exportedTestModels, installModel, tempModelsDir, type TestModels } from '../helpers/models.ts';
import { astronautPng } from './sample-images.ts';
import { createFaultInjectingClient, type FaultInjectingClient } from '../helpers/fault-injection.ts';
import { rejectionOf } from '../helpers/rejection.ts';

/** Real Redis at 127.0.0.1:6379 when it is running; the suite is skipped where it is absent. */
const redisUp = await new Promise<boolean>((resolve) => {
  const s = net.connect({ host: '127.0.0.1', port: 6379 });
  s.setTimeout(500);
  s.once('connect', () => {
    s.end();
    resolve(true);
  });
  s.once('error', () => resolve(false));
  s.once('timeout', () => {
    s.destroy();
    resolve(false);
  });
});

let models: TestModels;

/** Jobs waiting in a queue, read by a separate connection. */
async function waitingCount(name: string): Promise<number> {
  const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const q = new Queue(name, { connection });
  const n = await q.getWaitingCount();
  await q.close();
  connection.disconnect();
  return n;
}

/** Remove a test queue and everything BullMQ stored for it. */
async function dropQueue(name: string): Promise<void> {
  const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const q = new Queue(name, { connection });
  await q.obliterate({ force: true });
  await q.close();
  await connection.del(`${name}:model-versions`);
  const left = await connection.keys(`bull:${name}:*`); // obliterate keeps the id counter and event stream
  if (left.length > 0) await connection.del(...left);
  connection.disconnect();
}

function cfg(extra: Record<string, string> = {}) {
  const dir = tempModelsDir();
  installModel(models.a2b, dir, 'a2b.onnx');
  installModel(models.b2a, dir, 'b2a.onnx');
  return loadConfig({
    NODE_ENV: 'test',
    MODELS_DIR: dir,
    ORT_PROVIDERS: 'cpu',
    ORT_THREADS: '1',
    INFERENCE_TRANSPORT: 'redis',
    REDIS_URL: 'redis://127.0.0.1:6379',
    ...extra,
  });
}

describe.skipIf(!redisUp)('RedisInferenceClient (real Redis, BullMQ)', () => {
  beforeAll(async () => {
    models = await exportedTestModels();
  });

  describe('with a worker consuming the queue', () => {
    const queueName = `webtoon-test-${randomUUID()}`;
    let worker: RedisInferenceWorker;
    let local: FaultInjectingClient;
    let sut: RedisInferenceClient;
    beforeAll(async () => {
      const c = cfg({ BATCH_MAX_SIZE: '4', BATCH_MAX_WAIT_MS: '30' });
      worker = await startRedisInferenceWorker(c, {
        queueName,
        createLocalClient: async (config) => (local = await createFaultInjectingClient(config)),
      });
      sut = await createRedisInferenceClient(c, { queueName, positionPollMs: 100 });
    });
    afterAll(async () => {
      await sut?.close();
      await worker?.close();
      await dropQueue(queueName);
    });

    it('translates through the queue and returns the PNG and metadata', async () => {
      const positions: number[] = [];
      const r = await sut.translate(astronautPng(), { direction: 'a2b', sideBySide: true, onQueuePosition: (p) => positions.push(p) });
      const meta = await sharp(r.png).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 512, 256]);
      expect(r).toMatchObject({ direction: 'a2b', modelVersion: 'fixture-a2b-1', facesFound: 1, cropMode: 'face' });
      expect(positions.length).toBeGreaterThan(0);
    });

    it('batches concurrent jobs on the worker and gives each caller its own result', async () => {
      const a = astronautPng();
      const b = await sharp(a).flop().png().toBuffer();
      const rs = await Promise.all([a, b, a, b].map((img) => sut.translate(img, { direction: 'a2b' })));
      expect(rs[0].png.equals(rs[2].png)).toBe(true);
      expect(rs[0].png.equals(rs[1].png)).toBe(false);
      expect(Math.max(...rs.map((r) => r.batchSize ?? 1))).toBeGreaterThan(1);
    });

    it('fails a bad input once with its typed error (not retried)', async () => {
      const err = await rejectionOf(sut.translate(Buffer.from('%PDF-1.5 not a picture'), { direction: 'a2b' }));
      expect(err.code).toBe('UNSUPPORTED_FORMAT');
      expect(err.details.detected).toBe('PDF document');
    });

    it('retries a job whose worker thread crashed, and the retry succeeds', async () => {
      local.hangWorker(300);
      const job = sut.translate(astronautPng(), { direction: 'a2b' });
      await new Promise((r) => setTimeout(r, 150)); // picked up by the consumer, stuck behind the hang
      local.crashWorker();
      const r = await job;
      expect(r.facesFound).toBe(1);
      expect(worker.local.restarts).toBe(1);
    });

    it('reports the versions the workers serve', async () => {
      expect(await sut.modelVersions()).toEqual({ a2b: 'fixture-a2b-1', b2a: 'fixture-b2a-1' });
    });
  });

  describe('with no worker', () => {
    it('refuses at once with QUEUE_FULL when the queue is full, reports waiting positions, and times out', async () => {
      const queueName = `webtoon-test-${randomUUID()}`;
      const sut = await createRedisInferenceClient(cfg({ QUEUE_MAX: '2', JOB_TIMEOUT_MS: '1500' }), { queueName, positionPollMs: 100 });
      try {
        const positions: number[][] = [[], []];
        const waiting = [0, 1].map((i) => rejectionOf(sut.translate(astronautPng(), { direction: 'a2b', onQueuePosition: (p) => positions[i].push(p) })));
        await new Promise((r) => setTimeout(r, 300));
        const full = await rejectionOf(sut.translate(astronautPng(), { direction: 'a2b' }));
        expect(full.code).toBe('QUEUE_FULL');
        expect(full.details).toEqual({ queueDepth: 2, limit: 2 });
        const [e0, e1] = await Promise.all(waiting);
        expect([e0.code, e1.code]).toEqual(['TIMEOUT', 'TIMEOUT']);
        expect(positions[0][0]).toBe(1);
        expect(positions[1][0]).toBe(2);
      } finally {
        await sut.close();
        await dropQueue(queueName);
      }
    });

    it('ABORTED removes a waiting job from the queue', async () => {
      const queueName = `webtoon-test-${randomUUID()}`;
      const sut = await createRedisInferenceClient(cfg(), { queueName });
      try {
        const ac = new AbortController();
        const p = rejectionOf(sut.translate(astronautPng(), { direction: 'a2b', signal: ac.signal }));
        await new Promise((r) => setTimeout(r, 200));
        expect(await waitingCount(queueName)).toBe(1);
        ac.abort();
        expect((await p).code).toBe('ABORTED');
        expect(await waitingCount(queueName)).toBe(0);
      } finally {
        await sut.close();
        await dropQueue(queueName);
      }
    });
  });

  describe('createInferenceClient', () => {
    it('returns the Redis client when INFERENCE_TRANSPORT=redis, and refuses a missing REDIS_URL', async () => {
      const sut = await createInferenceClient(cfg());
      try {
        expect(sut.constructor.name).toBe('RedisInferenceClient');
      } finally {
        await sut.close();
      }
      await expect(createInferenceClient({ ...cfg(), REDIS_URL: undefined })).rejects.toThrow(/needs REDIS_URL/);
    });
  });
});
