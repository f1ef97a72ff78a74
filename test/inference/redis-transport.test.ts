import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createInferenceClient } from '../../src/inference/index.ts';
import {
  createRedisInferenceClient,
  EVENTS_MAX_LEN,
  lockTimings,
  type RedisInferenceClient,
  type RedisInferenceWorker,
  resultKey,
  startRedisInferenceWorker,
} from '../../src/inference/redis.transport.ts';
import { exportedTestModels, installModel, tempModelsDir, type TestModels } from '../helpers/models.ts';
import { astronautPng } from './sample-images.ts';
import { createFaultInjectingClient, type FaultInjectingClient } from '../helpers/fault-injection.ts';
import { rejectionOf } from '../helpers/rejection.ts';
import { redisReachable } from '../helpers/redis.ts';

/** Real Redis at 127.0.0.1:6379 when it is running; the suite is skipped where it is absent. */
const redisUp = await redisReachable('redis://127.0.0.1:6379');

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

/**
 * Every key of a test queue and every byte it holds (hash fields, stream entries, strings, lists,
 * sets), read with a separate connection. The image check below looks for PNG/JPEG bytes or their
 * base64 in this dump.
 */
async function dumpQueue(name: string): Promise<{ keys: string[]; bytes: Buffer }> {
  const r = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  try {
    const keys = [...(await r.keys(`bull:${name}:*`)), ...(await r.keys(`${name}:*`))];
    const parts: Buffer[] = [];
    for (const key of keys) {
      const type = await r.type(key);
      if (type === 'string') parts.push((await r.getBuffer(key)) ?? Buffer.alloc(0));
      else if (type === 'hash') parts.push(...Object.values(await r.hgetallBuffer(key)));
      else if (type === 'list') parts.push(...(await r.lrangeBuffer(key, 0, -1)));
      else if (type === 'zset' || type === 'set') parts.push(...(type === 'set' ? await r.smembersBuffer(key) : await r.zrangeBuffer(key, '0', '-1')));
      else if (type === 'stream') for (const [, fields] of await r.xrangeBuffer(key, '-', '+')) parts.push(...fields);
    }
    return { keys, bytes: Buffer.concat(parts) };
  } finally {
    r.disconnect();
  }
}

/** Where `bytes` holds any piece of an image: PNG/JPEG signatures, raw or base64, or a run of `input` (base64). */
function imageTraces(bytes: Buffer, input: Buffer): string[] {
  const found: string[] = [];
  const text = bytes.toString('latin1');
  if (bytes.includes(Buffer.from([0x89, 0x50, 0x4e, 0x47]))) found.push('PNG bytes');
  if (bytes.includes(Buffer.from([0xff, 0xd8, 0xff]))) found.push('JPEG bytes');
  if (text.includes('iVBORw0KGgo')) found.push('PNG base64');
  if (text.includes('/9j/')) found.push('JPEG base64');
  if (text.includes(input.subarray(1000, 1300).toString('base64').slice(8, 200))) found.push('input base64');
  return found;
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

    it('leaves no image in Redis once a job is done: results deleted when read, job hashes removed, events carry no image', async () => {
      // Before: the events stream kept every result PNG and job hashes kept the input for 300 s / 3600 s.
      const input = astronautPng();
      const r = await sut.translate(input, { direction: 'a2b' });
      expect(r.png.subarray(1, 4).toString()).toBe('PNG');
      const failed = await rejectionOf(sut.translate(Buffer.concat([Buffer.from('%PDF-1.5 '), input]), { direction: 'a2b' }));
      expect(failed.code).toBe('UNSUPPORTED_FORMAT');
      await new Promise((res) => setTimeout(res, 300));
      const { keys, bytes } = await dumpQueue(queueName);
      expect(imageTraces(bytes, input)).toEqual([]);
      expect(keys.filter((k) => k.includes(':result:'))).toEqual([]);
      const r2 = new Redis('redis://127.0.0.1:6379');
      try {
        expect(await r2.xlen(`bull:${queueName}:events`)).toBeLessThanOrEqual(EVENTS_MAX_LEN + 100); // approximate trim
      } finally {
        r2.disconnect();
      }
    });

    it('carries the audit pixels (input crop, output) in a short-lived key beside the result, deleted when read', async () => {
      const r = await sut.translate(astronautPng(), { direction: 'a2b', auditImages: true });
      const side = models.imgSize;
      expect(r.auditImages).toMatchObject({ width: side, height: side });
      expect(r.auditImages!.input.length).toBe(side * side * 3);
      expect(r.auditImages!.output.length).toBe(side * side * 3);
      expect(Buffer.from(r.auditImages!.input).equals(Buffer.from(r.auditImages!.output))).toBe(false);
      const plain = await sut.translate(astronautPng(), { direction: 'a2b' });
      expect(plain.auditImages).toBeUndefined();
      const { keys } = await dumpQueue(queueName);
      expect(keys.filter((k) => k.includes(':result:'))).toEqual([]); // result and audit keys alike
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

    it('reports a waiting position with a few bytes per poll, however large the waiting jobs are', async () => {
      // Before: each poll downloaded every waiting job (getWaiting), images included: 10 waiting
      // 470 KB jobs made Redis send ~500 MB in 4 s.
      const queueName = `webtoon-test-${randomUUID()}`;
      const sut = await createRedisInferenceClient(cfg({ JOB_TIMEOUT_MS: '6000' }), { queueName, positionPollMs: 50 });
      try {
        const big = await sharp({ create: { width: 420, height: 420, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
        expect(big.length).toBeGreaterThan(400_000);
        const positions: number[][] = Array.from({ length: 10 }, () => []);
        const jobs = positions.map((list) => rejectionOf(sut.translate(big, { direction: 'a2b', onQueuePosition: (p) => list.push(p) })));
        await new Promise((r) => setTimeout(r, 1500)); // all enqueued and polling
        expect(positions.map((p) => p[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        const stream = (sut as unknown as { redis: { stream: { bytesRead: number } } }).redis.stream;
        const before = stream.bytesRead;
        await new Promise((r) => setTimeout(r, 1000)); // ~200 polls
        const read = stream.bytesRead - before;
        expect(read).toBeLessThan(100_000);
        expect((await Promise.all(jobs)).map((e) => e.code)).toEqual(Array(10).fill('TIMEOUT'));
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

  describe('a job that runs out of time', () => {
    it('fails with TIMEOUT once, is never retried, and leaves no job or result behind', async () => {
      // Before: TIMEOUT counted as a crash and the job ran a second time after the member was told.
      const queueName = `webtoon-test-${randomUUID()}`;
      const c = cfg({ JOB_TIMEOUT_MS: '1500', BATCH_MAX_SIZE: '1' });
      let local: FaultInjectingClient | undefined;
      const worker = await startRedisInferenceWorker(c, { queueName, createLocalClient: async (config) => (local = await createFaultInjectingClient(config)) });
      const sut = await createRedisInferenceClient(c, { queueName });
      try {
        await sut.translate(astronautPng(), { direction: 'a2b' }); // warm
        local!.hangWorker(3000);
        const err = await rejectionOf(sut.translate(astronautPng(), { direction: 'a2b' }));
        expect(err.code).toBe('TIMEOUT');
        await new Promise((r) => setTimeout(r, 3500)); // past the hang: a retry would be running now
        const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
        const q = new Queue(queueName, { connection });
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
        await q.close();
        connection.disconnect();
        expect(counts).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
        expect((await dumpQueue(queueName)).keys.filter((k) => k.includes(':result:'))).toEqual([]);
      } finally {
        await sut.close();
        await worker.close();
        await dropQueue(queueName);
      }
    });

    it('derives lock and stalled-check intervals well below the job timeout', () => {
      expect(lockTimings(60_000)).toEqual({ lockDuration: 10_000, stalledInterval: 10_000 });
      expect(lockTimings(600_000)).toEqual({ lockDuration: 30_000, stalledInterval: 30_000 });
      expect(lockTimings(2_000)).toEqual({ lockDuration: 1_000, stalledInterval: 1_000 });
      expect(resultKey('q', 'abc')).toBe('q:result:abc');
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
