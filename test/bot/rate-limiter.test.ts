import { describe, expect, it } from 'vitest';
import { BotError } from '../../src/bot/bot.errors.ts';
import { RateLimiter } from '../../src/bot/rate-limiter.ts';

describe('RateLimiter', () => {
  describe('take', () => {
    it('allows up to the per-member limit per minute, then says when to retry', () => {
      let now = 1_000_000;
      const sut = new RateLimiter({ userPerMinute: 2, guildPerMinute: 0 }, () => now);
      sut.take('u1', 'g1');
      now += 10_000;
      sut.take('u1', 'g1');
      now += 5_000;
      const err = (() => {
        try {
          sut.take('u1', 'g1');
        } catch (e) {
          return e;
        }
      })() as BotError;
      expect(err).toBeInstanceOf(BotError);
      expect(err.code).toBe('RATE_LIMITED');
      expect(err.details).toEqual({ scope: 'user', limit: 2, retryAfterSeconds: 45 });
      now += 45_000; // the first request leaves the window
      expect(() => sut.take('u1', 'g1')).not.toThrow();
    });

    it('limits a guild across members, and does not count refused requests', () => {
      const now = 0;
      const sut = new RateLimiter({ userPerMinute: 1, guildPerMinute: 2 }, () => now);
      sut.take('a', 'g');
      expect(() => sut.take('a', 'g')).toThrow(expect.objectContaining({ details: expect.objectContaining({ scope: 'user' }) }));
      sut.take('b', 'g');
      expect(() => sut.take('c', 'g')).toThrow(expect.objectContaining({ details: expect.objectContaining({ scope: 'guild', limit: 2 }) }));
      expect(() => sut.take('c', 'other-guild')).not.toThrow(); // c's refused request was not counted
    });

    it('treats 0 as unlimited and ignores the guild limit in direct messages', () => {
      const sut = new RateLimiter({ userPerMinute: 0, guildPerMinute: 1 });
      for (let i = 0; i < 50; i++) sut.take('u', null);
      sut.take('u', 'g');
      expect(() => sut.take('v', 'g')).toThrow(BotError);
    });
  });
});
