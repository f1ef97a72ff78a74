/**
 * /healthz and /metrics, scraped for real: the health server alone, a `webtoon worker` child process
 * consuming a real Redis queue, and the bot's real entry against the Discord stand-in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createRedisInferenceClient } from '../../src/inference/redis.transport.ts';
import { startHealthServer } from '../../src/observability/health.server.ts';
import { ServiceMetrics } from '../../src/observability/metrics.ts';
import { ASTRONAUT, startHarness, type Harness } from '../bot/bot-harness.ts';
import { dbTargets, useTestDatabase } from '../helpers/databases.ts';
import { exportedTestModels, installModel, repoRoot, tempModelsDir } from '../helpers/models.ts';
import { rejectionOf } from '../helpers/rejection.ts';
import { redisReachable, testRedisUrl } from '../helpers/redis.ts';
import { astronautPng, noFaceImage } from '../inference/sample-images.ts';

const redisUrl = testRedisUrl;
const redisUp = await redisReachable(redisUrl);
const ci = process.env.CI === 'true';
if (!redisUp && !ci) console.warn(`operator-endpoints.test: Redis not reachable at ${redisUrl}; the worker scrape is skipped`);

/** One sample's value from a Prometheus text exposition, matched by name and every given label. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** The error `p` rejects with (fails when it resolves). */
async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return err as Error;
  }
  throw new Error('expected a rejection');
}

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

describe('the health server', () => {
  it('answers 200 when every check passes, 503 naming the failing check otherwise, 404/405 elsewhere', async () => {
    let dbOk = true;
    const metrics = new ServiceMetrics({ service: 'worker' });
    const sut = await startHealthServer({
      service: 'worker',
      metrics,
      port: 0,
      host: '127.0.0.1',
      checkTimeoutMs: 200,
      checks: {
        db: async () => {
          if (!dbOk) throw new Error('connection refused');
          return { ok: true, detail: 'pglite' };
        },
        slow: () => new Promise((r) => setTimeout(() => r({ ok: true, detail: 'late' }), dbOk ? 0 : 1000)),
      },
    });
    try {
      expect(sut.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const ok = await get(`${sut.url}/healthz`);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toEqual({ status: 'ok', service: 'worker', checks: { db: { ok: true, detail: 'pglite' }, slow: { ok: true, detail: 'late' } } });
      dbOk = false;
      const bad = await get(`${sut.url}/healthz`);
      expect(bad.status).toBe(503);
      const body = JSON.parse(bad.body) as { status: string; checks: Record<string, { ok: boolean; detail: string }> };
      expect(body.status).toBe('unhealthy');
      expect(body.checks.db).toEqual({ ok: false, detail: 'connection refused' });
      expect(body.checks.slow).toEqual({ ok: false, detail: 'timed out after 200 ms' });
      expect((await get(`${sut.url}/nope`)).status).toBe(404);
      expect((await fetch(`${sut.url}/metrics`, { method: 'POST' })).status).toBe(405);
      const m = await get(`${sut.url}/metrics`);
      expect(m.status).toBe(200);
      expect(m.type).toContain('text/plain');
      expect(sample(m.body, 'process_resident_memory_bytes', { service: 'worker' })).toBeGreaterThan(10e6);
    } finally {
      await sut.close();
    }
  });

  it('refuses a port in use with one line naming the address and METRICS_PORT', async () => {
    const taken = await startHealthServer({ service: 'bot', metrics: new ServiceMetrics({ service: 'bot' }), port: 0, host: '127.0.0.1', checks: {} });
    try {
      const err = await errorOf(startHealthServer({ service: 'bot', metrics: new ServiceMetrics({ service: 'bot' }), port: taken.port, host: '127.0.0.1', checks: {} }));
      expect(err.name).toBe('ConfigError[CONFIG_INVALID]');
      expect(err.message).toBe(`cannot listen on 127.0.0.1:${taken.port} for /healthz and /metrics (EADDRINUSE); set METRICS_PORT to a free port`);
    } finally {
      await taken.close();
    }
  });

  it('is configured by METRICS_PORT / METRICS_HOST: off by default, 127.0.0.1 by default, bad ports refused', () => {
    const c = loadConfig({ NODE_ENV: 'test' });
    expect(c.METRICS_PORT).toBeUndefined();
    expect(c.METRICS_HOST).toBe('127.0.0.1');
    expect(loadConfig({ METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464);
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
    expect(() => loadConfig({ METRICS_PORT: 'abc' })).toThrow(/METRICS_PORT/);
  });
});

describe.skipIf(!redisUp && !ci)('webtoon worker (child process) serves /healthz and /metrics', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'webtoon-worker-metrics-'));
  const queue = `test-metrics-${randomUUID()}`;
  let child: ChildProcess;
  let url = '';
  let stderr = '';
  let exited: Promise<number | null>;
  let versions: { a2b: string; b2a: string };

  beforeAll(async () => {
    const models = await exportedTestModels();
    versions = models.versions;
    const dir = tempModelsDir('webtoon-worker-metrics-models-');
    installModel(models.a2b, dir, 'a2b.onnx');
    installModel(models.b2a, dir, 'b2a.onnx');
    child = spawn(process.execPath, [path.join(repoRoot, 'bin/webtoon.mjs'), 'worker'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: tmp,
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        REDIS_URL: redisUrl,
        REDIS_QUEUE: queue,
        MODELS_DIR: dir,
        DATA_DIR: tmp,
        ORT_PROVIDERS: 'cpu',
        ORT_THREADS: '1',
        METRICS_PORT: '0',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not report its endpoint:\n${stderr}`)), 90_000);
      child.stderr!.on('data', (b: Buffer) => {
        stderr += b.toString();
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stderr);
        if (m && stderr.includes('inference worker consuming the queue')) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => reject(new Error(`worker exited (${code}):\n${stderr}`)));
    });
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('is healthy once consuming, and its metrics show the jobs it ran (latency by stage, batch size, errors by code, models, memory)', async () => {
    const health = await get(`${url}/healthz`);
    expect(health.status).toBe(200);
    const h = JSON.parse(health.body) as { status: string; service: string; checks: Record<string, { ok: boolean; detail: string }> };
    expect(h.status).toBe('ok');
    expect(h.service).toBe('worker');
    expect(h.checks.queue).toEqual({ ok: true, detail: `consumer running on queue ${queue}, redis PONG` });
    expect(h.checks.models.detail).toBe(`a2b ${versions.a2b}, b2a ${versions.b2a}`);

    const producer = await createRedisInferenceClient(loadConfig({ NODE_ENV: 'test', REDIS_URL: redisUrl, REDIS_QUEUE: queue }));
    try {
      const r = await producer.translate(astronautPng(), { direction: 'a2b' });
      expect(r.modelVersion).toBe(versions.a2b);
      const refused = await rejectionOf(producer.translate(await noFaceImage(), { direction: 'a2b' }));
      expect(refused.name).toBe('InferenceError[NO_FACE]');
    } finally {
      await producer.close();
    }

    const m = await get(`${url}/metrics`);
    expect(m.status).toBe(200);
    const w = { service: 'worker' };
    for (const stage of ['decode', 'detect', 'generate', 'render', 'total']) {
      expect(sample(m.body, 'webtoon_inference_stage_seconds_count', { ...w, stage, direction: 'a2b' }), stage).toBe(1);
    }
    expect(sample(m.body, 'webtoon_inference_stage_seconds_sum', { ...w, stage: 'generate', direction: 'a2b' })).toBeGreaterThan(0);
    expect(sample(m.body, 'webtoon_inference_batch_size_count', { ...w, direction: 'a2b' })).toBe(1);
    expect(sample(m.body, 'webtoon_inference_batch_size_sum', { ...w, direction: 'a2b' })).toBe(1);
    expect(sample(m.body, 'webtoon_translations_total', { ...w, direction: 'a2b', status: 'ok' })).toBe(1);
    expect(sample(m.body, 'webtoon_translations_total', { ...w, direction: 'a2b', status: 'error' })).toBe(1);
    expect(sample(m.body, 'webtoon_errors_total', { ...w, code: 'NO_FACE' })).toBe(1);
    expect(sample(m.body, 'webtoon_inference_queue_depth', w)).toBe(0);
    expect(sample(m.body, 'webtoon_model_info', { ...w, direction: 'a2b', version: versions.a2b })).toBe(1);
    expect(sample(m.body, 'webtoon_model_info', { ...w, direction: 'b2a', version: versions.b2a })).toBe(1);
    expect(sample(m.body, 'process_resident_memory_bytes', w)).toBeGreaterThan(10e6);
    expect(sample(m.body, 'nodejs_heap_size_used_bytes', w)).toBeGreaterThan(1e6);
    expect(m.body).not.toContain('webtoon_discord_gateway');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // the endpoint closed with the worker
    expect(await errorOf(fetch(`${url}/healthz`))).toBeInstanceOf(TypeError);
  }, 120_000);
});

describe('the bot serves /healthz and /metrics (real entry, Discord stand-in)', () => {
  const db = useTestDatabase(dbTargets.find((t) => t.kind === 'pglite')!);
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ database: db(), env: { METRICS_PORT: '0' } });
  }, 120_000);
  afterAll(async () => {
    await h?.dispose();
  });

  it('is healthy when the gateway is ready and reports gateway, ping, translations and models', async () => {
    const endpoint = h.running.health!;
    expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await get(`${endpoint.url}/healthz`);
    expect(health.status).toBe(200);
    const body = JSON.parse(health.body) as { status: string; service: string; checks: Record<string, { ok: boolean; detail: string }> };
    expect(body.service).toBe('bot');
    expect(body.checks.gateway.ok).toBe(true);
    expect(body.checks.gateway.detail).toMatch(/^Ready, ping -?\d+ ms$/);
    expect(body.checks.database).toEqual({ ok: true, detail: 'pglite' });
    expect(body.checks.models.ok).toBe(true);

    const user = h.standIn.makeUser('metrics');
    const bytes = await sharp(ASTRONAUT).png().toBuffer();
    const meta = await sharp(bytes).metadata();
    const att = h.standIn.addAttachment(bytes, 'selfie.png', 'image/png', { width: meta.width!, height: meta.height! });
    const rec = h.standIn.sendSlashCommand(user, 'webtoonify', { image: att });
    await h.standIn.waitFor(() => {
      const m = h.standIn.original(rec.id);
      return m && m.files.length > 0 ? m : undefined;
    }, 'the translated face', 60_000);

    const m = await get(`${endpoint.url}/metrics`);
    const b = { service: 'bot' };
    expect(sample(m.body, 'webtoon_discord_gateway_status', b)).toBe(0);
    expect(sample(m.body, 'webtoon_discord_gateway_ping_seconds', b)).toBeDefined();
    expect(sample(m.body, 'webtoon_translations_total', { ...b, direction: 'a2b', status: 'ok' })).toBe(1);
    expect(sample(m.body, 'webtoon_inference_stage_seconds_count', { ...b, stage: 'generate', direction: 'a2b' })).toBe(1);
    expect(sample(m.body, 'webtoon_inference_stage_seconds_count', { ...b, stage: 'queue', direction: 'a2b' })).toBe(1);
    expect(sample(m.body, 'webtoon_inference_batch_size_count', { ...b, direction: 'a2b' })).toBe(1);
    expect(sample(m.body, 'webtoon_inference_queue_depth', b)).toBe(0);
    const versions = await h.running.bot.ctx.inference.modelVersions();
    expect(sample(m.body, 'webtoon_model_info', { ...b, direction: 'a2b', version: versions.a2b! })).toBe(1);
    expect(sample(m.body, 'process_resident_memory_bytes', b)).toBeGreaterThan(10e6);

    await h.stopBot();
    expect(await errorOf(fetch(`${endpoint.url}/healthz`))).toBeInstanceOf(TypeError);
  }, 120_000);
});
