/**
 * The bot's rate limits (rate-limiter-flexible): in memory without Redis, shared through a real Redis
 * with it. Issue 10 item 11 reproduced on the old per-process limiter: two shards (two instances)
 * counted separately (the member's third request on the other shard passed) and the map of counts held
 * 10 001 entries two minutes after 10 000 members had made one request each.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotError } from '../../src/bot/bot.errors.ts';
import { RateLimits, type RateLimitSettings } from '../../src/bot/rate-limiter.ts';
import { redisReachable, testRedisUrl } from '../helpers/redis.ts';

const none: RateLimitSettings = { translatePerUser: 0, translatePerGuild: 0, statsPerUser: 0, reportsPerUser: 0, votesPerUser: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function refusal(p: Promise<unknown>): Promise<BotError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BotError);
  expect((err as BotError).code).toBe('RATE_LIMITED');
  return err as BotError;
}

/** rate-limiter-flexible's in-memory store (not public API: read only to show it does not grow). */
function memoryKeys(sut: RateLimits): number {
  let n = 0;
  for (const { limiter } of (sut as unknown as { limiters: Map<string, { limiter: { _memoryStorage: { _storage: Map<string, unknown> } } }> }).limiters.values()) {
    n += limiter._memoryStorage._storage.size;
  }
  return n;
}

describe('RateLimits in memory (no REDIS_URL)', () => {
  it('allows up to the per-member limit, then refuses saying how long to wait', async () => {
    const sut = new RateLimits({ ...none, translatePerUser: 2 });
    await sut.take('translate', 'u1', 'g1');
    await sut.take('translate', 'u1', 'g1');
    const err = await refusal(sut.take('translate', 'u1', 'g1'));
    expect(err.details).toMatchObject({ action: 'translate', scope: 'user', limit: 2, windowSeconds: 60 });
    expect(err.details.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(err.details.retryAfterSeconds).toBeLessThanOrEqual(60);
    await sut.take('translate', 'u2', 'g1'); // another member is not affected
  });

  it('limits a server across members, and a request refused for the server does not use the member quota', async () => {
    const sut = new RateLimits({ ...none, translatePerUser: 1, translatePerGuild: 2 });
    await sut.take('translate', 'a', 'g');
    expect((await refusal(sut.take('translate', 'a', 'g'))).details.scope).toBe('user');
    await sut.take('translate', 'b', 'g');
    expect((await refusal(sut.take('translate', 'c', 'g'))).details).toMatchObject({ scope: 'guild', limit: 2 });
    await sut.take('translate', 'c', 'other-guild'); // c's refused request was given back
  });

  it('treats 0 as unlimited, has no server limit in DMs, and counts each action apart', async () => {
    const sut = new RateLimits({ ...none, translatePerGuild: 1, statsPerUser: 1, reportsPerUser: 1, votesPerUser: 1 });
    for (let i = 0; i < 50; i++) await sut.take('translate', 'u', null);
    await sut.take('stats', 'u', 'g');
    await sut.take('report', 'u', 'g');
    await sut.take('vote', 'u', null);
    expect((await refusal(sut.take('stats', 'u', 'g'))).details.action).toBe('stats');
    expect((await refusal(sut.take('report', 'u', 'g'))).details.action).toBe('report');
    expect((await refusal(sut.take('vote', 'u', null))).details.action).toBe('vote');
    expect(sut.limitOf('translate')).toBe(0);
    expect(sut.limitOf('translate', 'guild')).toBe(1);
  });

  it('forgets a member once the window has passed: the counts do not grow with members ever seen', async () => {
    const sut = new RateLimits({ ...none, translatePerUser: 1, windowSeconds: 1 });
    for (let i = 0; i < 10_000; i++) await sut.take('translate', `u${i}`, null);
    expect(memoryKeys(sut)).toBe(10_000);
    await refusal(sut.take('translate', 'u0', null));
    await sleep(1_300);
    expect(memoryKeys(sut)).toBe(0);
    await sut.take('translate', 'u0', null); // a new window
  });

  it('refuses settings that are not non-negative integers', () => {
    expect(() => new RateLimits({ ...none, votesPerUser: -1 })).toThrow(/vote\/user must be a non-negative integer, got -1/);
  });
});

const redisUp = await redisReachable();
const ci = process.env.CI === 'true';

describe.skipIf(!redisUp && !ci)('RateLimits on a real Redis (REDIS_URL: shared by every shard)', () => {
  const prefix = `test-ratelimit-${process.pid}-${randomBytes(4).toString('hex')}`;
  let redisA: Redis;
  let redisB: Redis;

  beforeAll(async () => {
    redisA = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
    redisB = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
    await Promise.all([redisA.ping(), redisB.ping()]); // until ready, the limits fall back to memory
  });
  afterAll(async () => {
    const keys = await redisA.keys(`${prefix}*`);
    if (keys.length) await redisA.del(...keys);
    redisA.disconnect();
    redisB.disconnect();
  });

  it('two shards (two instances, two connections) share one count per member and per server', async () => {
    const shard0 = new RateLimits({ ...none, translatePerUser: 2, translatePerGuild: 3 }, { redis: redisA, keyPrefix: `${prefix}-a` });
    const shard1 = new RateLimits({ ...none, translatePerUser: 2, translatePerGuild: 3 }, { redis: redisB, keyPrefix: `${prefix}-a` });
    await shard0.take('translate', 'u', 'g');
    await shard1.take('translate', 'u', 'g');
    const err = await refusal(shard0.take('translate', 'u', 'g')); // the member's third, on either shard
    expect(err.details).toMatchObject({ scope: 'user', limit: 2 });
    await refusal(shard1.take('translate', 'u', 'g'));
    await shard1.take('translate', 'v', 'g'); // third for the server
    expect((await refusal(shard0.take('translate', 'w', 'g'))).details.scope).toBe('guild');
  });

  it('keeps each count in one key that expires with its window, so nothing is left behind', async () => {
    const sut = new RateLimits({ ...none, statsPerUser: 1, windowSeconds: 1 }, { redis: redisA, keyPrefix: `${prefix}-b` });
    for (let i = 0; i < 50; i++) await sut.take('stats', `m${i}`, 'g');
    const keys = await redisA.keys(`${prefix}-b*`);
    expect(keys).toHaveLength(50);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}-b:stats:user:m\\d+$`));
    const ttl = await redisA.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_000);
    await sleep(1_300);
    expect(await redisA.keys(`${prefix}-b*`)).toEqual([]);
  });

  it('keeps limiting, per process, when Redis does not answer', async () => {
    const down = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    down.on('error', () => undefined);
    try {
      const sut = new RateLimits({ ...none, votesPerUser: 1 }, { redis: down, keyPrefix: `${prefix}-c` });
      await sut.take('vote', 'u', null);
      expect((await refusal(sut.take('vote', 'u', null))).details.action).toBe('vote');
    } finally {
      down.disconnect();
    }
  });
});
