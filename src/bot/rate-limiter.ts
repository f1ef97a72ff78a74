/**
 * Per-member (and, for translations, per-server) request limits, on rate-limiter-flexible: counts live
 * in Redis when the bot has a Redis connection (REDIS_URL), so every shard and every bot process shares
 * them, and in this process's memory otherwise. Each count is a key that expires with its window (Redis
 * TTL, or a timer in memory), so nothing grows with the number of members ever seen. If Redis fails,
 * the same limits apply per process (the library's insurance limiter) instead of letting everything
 * through or refusing everyone.
 *
 * A request is refused before it is counted against the server: when the server's window is full, the
 * member's point is given back, so a busy server does not use up its members' own quota.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { BotError } from './bot.errors.ts';

/** What a limit applies to: translations (commands, message menu, variation buttons), /webtoon-stats, reports, votes. */
export type LimitedAction = 'translate' | 'stats' | 'report' | 'vote';

/** Requests per window; 0 = unlimited. */
export interface RateLimitSettings {
  translatePerUser: number;
  translatePerGuild: number;
  statsPerUser: number;
  reportsPerUser: number;
  votesPerUser: number;
  /** Window length in seconds (default 60). */
  windowSeconds?: number;
}

export interface RateLimitStore {
  /** The shared store; in memory when absent. */
  redis?: Redis;
  /** Prefix of every Redis key (default `webtoon-ratelimit`); tests use their own. */
  keyPrefix?: string;
}

/** Default prefix of the limiter's Redis keys. */
export const RATE_LIMIT_KEY_PREFIX = 'webtoon-ratelimit';

type Scope = 'user' | 'guild';

/** The limits of every action, sharing one store. */
export class RateLimits {
  private readonly limiters = new Map<`${LimitedAction}:${Scope}`, { limiter: RateLimiterAbstract; limit: number }>();
  /** Window length in seconds. */
  readonly windowSeconds: number;

  constructor(settings: RateLimitSettings, store: RateLimitStore = {}) {
    this.windowSeconds = settings.windowSeconds ?? 60;
    const limits: [LimitedAction, Scope, number][] = [
      ['translate', 'user', settings.translatePerUser],
      ['translate', 'guild', settings.translatePerGuild],
      ['stats', 'user', settings.statsPerUser],
      ['report', 'user', settings.reportsPerUser],
      ['vote', 'user', settings.votesPerUser],
    ];
    const prefix = store.keyPrefix ?? RATE_LIMIT_KEY_PREFIX;
    for (const [action, scope, limit] of limits) {
      if (!Number.isInteger(limit) || limit < 0) throw new TypeError(`rate limit ${action}/${scope} must be a non-negative integer, got ${limit}`);
      if (limit === 0) continue;
      const opts = { points: limit, duration: this.windowSeconds, keyPrefix: `${prefix}:${action}:${scope}` };
      const limiter = store.redis
        ? new RateLimiterRedis({ ...opts, storeClient: store.redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(opts) })
        : new RateLimiterMemory(opts);
      this.limiters.set(`${action}:${scope}`, { limiter, limit });
    }
  }

  /** The limit of `action` per member and window (0 = unlimited). */
  limitOf(action: LimitedAction, scope: Scope = 'user'): number {
    return this.limiters.get(`${action}:${scope}`)?.limit ?? 0;
  }

  /**
   * Count one `action` by `userId` in `guildId` (null in DMs; only translations have a server limit),
   * or refuse it.
   * @throws {BotError} RATE_LIMITED with `action`, `scope` ('user' | 'guild'), `limit` and `retryAfterSeconds`.
   */
  async take(action: LimitedAction, userId: string, guildId: string | null): Promise<void> {
    const user = this.limiters.get(`${action}:user`);
    const guild = guildId ? this.limiters.get(`${action}:guild`) : undefined;
    if (user) await this.consume(user, action, 'user', userId);
    if (guild && guildId) {
      try {
        await this.consume(guild, action, 'guild', guildId);
      } catch (err) {
        if (user) await user.limiter.reward(userId, 1).catch(() => undefined); // not counted against the member
        throw err;
      }
    }
  }

  private async consume(entry: { limiter: RateLimiterAbstract; limit: number }, action: LimitedAction, scope: Scope, key: string): Promise<void> {
    try {
      await entry.limiter.consume(key, 1);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection; // a store failure the insurance limiter could not absorb
      const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new BotError('RATE_LIMITED', `${scope} rate limit of ${entry.limit} ${action} per ${this.windowSeconds} s reached`, {
        action,
        scope,
        limit: entry.limit,
        windowSeconds: this.windowSeconds,
        retryAfterSeconds,
      });
    }
  }
}
