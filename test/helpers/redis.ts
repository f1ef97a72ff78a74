/** The test Redis (TEST_REDIS_URL, default 127.0.0.1:6379) and whether it answers. */
import net from 'node:net';

export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when something accepts connections at {@link testRedisUrl} within half a second. */
export function redisReachable(url = testRedisUrl): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const u = new URL(url);
    const s = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
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
}
