import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/webtoon.mjs');
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'webtoon-worker-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(env: Record<string, string>, onStderr?: (text: string, kill: () => void) => void) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, 'worker'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmp, MODELS_DIR: path.join(tmp, 'models'), DATA_DIR: tmp, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      onStderr?.(stderr, () => child.kill('SIGTERM'));
    });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

async function redisAvailable(): Promise<boolean> {
  const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}
const haveRedis = await redisAvailable();
if (!haveRedis && process.env.CI !== 'true') console.warn(`worker.test: Redis not reachable at ${redisUrl}; the consuming test is skipped`);

describe('webtoon worker', () => {
  it('refuses to start without REDIS_URL, saying what to set', async () => {
    const r = await run({});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ConfigError[CONFIG_MISSING]');
    expect(r.stderr).toContain('REDIS_URL');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it.skipIf(!haveRedis && process.env.CI !== 'true')('consumes the queue and stops cleanly on SIGTERM', async () => {
    let signalled = false;
    const r = await run({ REDIS_URL: redisUrl, ORT_PROVIDERS: 'cpu' }, (text, kill) => {
      if (!signalled && text.includes('inference worker consuming the queue')) {
        signalled = true;
        kill();
      }
    });
    expect(signalled).toBe(true);
    expect(r.stderr).toContain('stopping: finishing the current job');
    expect(r.code).toBe(0);
  });
});
