/**
 * Sliding-window rate limits per member and per guild (translations per minute). A request is counted
 * only when both windows have room, so a refused request does not use up the member's quota.
 */
import { BotError } from './bot.errors.ts';

export interface RateLimits {
  /** Translations per member per minute; 0 = unlimited. */
  userPerMinute: number;
  /** Translations per guild per minute; 0 = unlimited. */
  guildPerMinute: number;
  /** Window length (default 60 000 ms). */
  windowMs?: number;
}

export class RateLimiter {
  private readonly hits = new Map<string, number[]>();
  private readonly windowMs: number;

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.windowMs = limits.windowMs ?? 60_000;
  }

  /**
   * Count one request by `userId` in `guildId` (null in DMs), or refuse it.
   * @throws {BotError} RATE_LIMITED with `scope` ('user' | 'guild'), `limit` and `retryAfterSeconds`.
   */
  take(userId: string, guildId: string | null): void {
    const t = this.now();
    const checks: { key: string; limit: number; scope: 'user' | 'guild' }[] = [{ key: `u:${userId}`, limit: this.limits.userPerMinute, scope: 'user' }];
    if (guildId) checks.push({ key: `g:${guildId}`, limit: this.limits.guildPerMinute, scope: 'guild' });
    for (const c of checks) {
      if (c.limit <= 0) continue;
      const list = this.window(c.key, t);
      if (list.length >= c.limit) {
        const retryAfterSeconds = Math.max(1, Math.ceil((list[0] + this.windowMs - t) / 1000));
        throw new BotError('RATE_LIMITED', `${c.scope} rate limit of ${c.limit}/min reached`, { scope: c.scope, limit: c.limit, retryAfterSeconds });
      }
    }
    for (const c of checks) if (c.limit > 0) this.window(c.key, t).push(t);
  }

  private window(key: string, t: number): number[] {
    let list = this.hits.get(key);
    if (!list) {
      list = [];
      this.hits.set(key, list);
    }
    while (list.length && list[0] <= t - this.windowMs) list.shift();
    return list;
  }
}
