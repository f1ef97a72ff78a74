/**
 * `npm run bench:soak -- --minutes 5`: mixed traffic through the real Redis client against two real
 * `webtoon worker` processes — good selfies, a hostile corpus (a 5000×5000 PNG for /reverse, truncated,
 * HTML, empty, 1×1), oversized files, jobs that run out of time — while one worker is SIGKILLed every
 * minute and started again. Prints one JSON object: jobs sent, results, typed refusals (by code),
 * untyped errors, lost jobs, duplicate results, p50/p95/p99 latency of results, peak RSS per process,
 * Redis memory before and after, and the keys still holding image bytes at the end.
 *
 * Needs Redis (REDIS_URL or TEST_REDIS_URL, default redis://127.0.0.1:6379). Uses the tiny fixture
 * generator (light, ngf 8, 64²) exported by our exporter, so the figures are about the plumbing, not
 * the network.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { loadConfig } from '../src/config.ts';
import { InferenceError } from '../src/inference/inference.errors.ts';
import { createRedisInferenceClient, type RedisInferenceClient } from '../src/inference/redis.transport.ts';
import { exportGenerator } from '../src/training/export/exporter.ts';
import { readTorchCheckpoint } from '../src/training/torch-import/torch-checkpoint.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(root, '../shared');
const argv = process.argv.slice(2);
const arg = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const minutes = arg('minutes', 5);
const concurrency = arg('concurrency', 4);
const killEveryMs = arg('kill-every-s', 60) * 1000;
const redisUrl = process.env.REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const JOB_TIMEOUT_MS = 20_000;
const MAX_IMAGE_BYTES = 4 * 1024 * 1024;
const queue = `webtoon-soak-${randomUUID()}`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'webtoon-soak-'));

function log(msg: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// --- models -------------------------------------------------------------------------------------
const modelsDir = path.join(tmp, 'models');
const state = await readTorchCheckpoint(path.join(shared, 'fixtures/ugatit-torch/light-ngf8-nb2-64/params.pt'));
for (const direction of ['a2b', 'b2a'] as const) {
  await exportGenerator({
    state,
    config: { variant: 'pytorch', light: true, ngf: 8, n_blocks: 2, img_size: 64, step: 0 },
    direction,
    outPath: path.join(modelsDir, `${direction}.onnx`),
    version: `soak-${direction}`,
    verify: false,
  });
}

// --- inputs -------------------------------------------------------------------------------------
const astronaut = readFileSync(path.join(shared, 'data/photos/astronaut.png'));
const selfies = [astronaut, await sharp(astronaut).flop().png().toBuffer(), await sharp(astronaut).resize(800).jpeg().toBuffer()];
const huge = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: '#808080' } }).png().toBuffer();
type Kind = { name: string; image: Buffer; direction: 'a2b' | 'b2a'; client: 'normal' | 'short' };
const kinds: { weight: number; kind: Kind }[] = [
  { weight: 50, kind: { name: 'selfie', image: selfies[0], direction: 'a2b', client: 'normal' } },
  { weight: 10, kind: { name: 'selfie-flop', image: selfies[1], direction: 'a2b', client: 'normal' } },
  { weight: 10, kind: { name: 'selfie-jpeg-b2a', image: selfies[2], direction: 'b2a', client: 'normal' } },
  { weight: 4, kind: { name: 'hostile-5000px-b2a', image: huge, direction: 'b2a', client: 'normal' } },
  { weight: 4, kind: { name: 'hostile-truncated', image: astronaut.subarray(0, astronaut.length / 2), direction: 'a2b', client: 'normal' } },
  { weight: 3, kind: { name: 'hostile-html', image: Buffer.from('<!doctype html><html>nope</html>'), direction: 'a2b', client: 'normal' } },
  { weight: 3, kind: { name: 'hostile-empty', image: Buffer.alloc(0), direction: 'a2b', client: 'normal' } },
  { weight: 3, kind: { name: 'hostile-1px', image: await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer(), direction: 'a2b', client: 'normal' } },
  { weight: 5, kind: { name: 'oversized', image: Buffer.concat([astronaut.subarray(0, 64), Buffer.alloc(MAX_IMAGE_BYTES + 1)]), direction: 'a2b', client: 'normal' } },
  { weight: 8, kind: { name: 'times-out', image: selfies[0], direction: 'a2b', client: 'short' } },
];
const totalWeight = kinds.reduce((a, k) => a + k.weight, 0);
function pick(): Kind {
  let r = Math.random() * totalWeight;
  for (const k of kinds) if ((r -= k.weight) < 0) return k.kind;
  return kinds[0].kind;
}

// --- workers ------------------------------------------------------------------------------------
const workerEnv = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? tmp,
  DATA_DIR: tmp,
  MODELS_DIR: modelsDir,
  REDIS_URL: redisUrl,
  REDIS_QUEUE: queue,
  ORT_PROVIDERS: 'cpu',
  ORT_THREADS: '1',
  BATCH_MAX_SIZE: '4',
  JOB_TIMEOUT_MS: String(JOB_TIMEOUT_MS),
  MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES),
  LOG_LEVEL: 'warn',
};
const peakRss: Record<string, number> = { producer: 0, 'worker-0': 0, 'worker-1': 0 };
const workers: (ChildProcess | null)[] = [null, null];
let kills = 0;
let stopping = false;
function startWorker(slot: number): Promise<void> {
  const child = spawn(process.execPath, [path.join(root, 'bin/webtoon.mjs'), 'worker'], { env: { ...workerEnv, LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  workers[slot] = child;
  return new Promise((resolve) => {
    let text = '';
    child.stderr!.on('data', (b: Buffer) => {
      text += b.toString();
      if (text.includes('consuming the queue')) resolve();
      if (text.length > 100_000) text = text.slice(-10_000);
    });
    child.on('exit', () => {
      resolve();
      if (workers[slot] === child) workers[slot] = null;
    });
  });
}
function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const redis = new Redis(redisUrl);
const usedMemory = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
const redisBefore = await usedMemory();

log(`starting two workers on queue ${queue}`);
await Promise.all([startWorker(0), startWorker(1)]);
const base = { NODE_ENV: 'production', LOG_LEVEL: 'silent', INFERENCE_TRANSPORT: 'redis', REDIS_URL: redisUrl, REDIS_QUEUE: queue, MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES), QUEUE_MAX: '64' } as const;
const clients: Record<'normal' | 'short', RedisInferenceClient> = {
  normal: await createRedisInferenceClient(loadConfig({ ...base, JOB_TIMEOUT_MS: String(JOB_TIMEOUT_MS) })),
  short: await createRedisInferenceClient(loadConfig({ ...base, JOB_TIMEOUT_MS: '150' })),
};
// Completed events per job id: a job completed twice is a duplicate result.
const events = new QueueEvents(queue, { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }) });
await events.waitUntilReady();
const completions = new Map<string, number>();
events.on('completed', ({ jobId }) => completions.set(jobId, (completions.get(jobId) ?? 0) + 1));

// --- traffic ------------------------------------------------------------------------------------
const stats = { sent: 0, results: 0, typed: {} as Record<string, number>, untyped: 0, untypedSamples: [] as string[], latencies: [] as number[], byKind: {} as Record<string, Record<string, number>> };
const pending = new Set<Promise<void>>();
const endAt = Date.now() + minutes * 60_000;
const sampler = setInterval(() => {
  peakRss.producer = Math.max(peakRss.producer, process.memoryUsage().rss);
  workers.forEach((w, i) => (peakRss[`worker-${i}`] = Math.max(peakRss[`worker-${i}`], rssOf(w?.pid))));
}, 500);
const killer = setInterval(() => {
  const slot = kills % 2;
  const victim = workers[slot];
  if (!victim || stopping) return;
  kills++;
  log(`SIGKILL worker ${slot} (pid ${victim.pid})`);
  victim.kill('SIGKILL');
  setTimeout(() => void startWorker(slot), 1000);
}, killEveryMs);

async function one(): Promise<void> {
  const kind = pick();
  stats.sent++;
  const t = performance.now();
  const k = (stats.byKind[kind.name] ??= {});
  try {
    await clients[kind.client].translate(kind.image, { direction: kind.direction });
    stats.results++;
    stats.latencies.push(performance.now() - t);
    k.ok = (k.ok ?? 0) + 1;
  } catch (err) {
    if (err instanceof InferenceError) {
      stats.typed[err.code] = (stats.typed[err.code] ?? 0) + 1;
      k[err.code] = (k[err.code] ?? 0) + 1;
    } else {
      stats.untyped++;
      k.untyped = (k.untyped ?? 0) + 1;
      if (stats.untypedSamples.length < 5) stats.untypedSamples.push(String((err as Error)?.message ?? err).slice(0, 200));
    }
  }
}
async function loop(): Promise<void> {
  while (Date.now() < endAt) {
    const p = one();
    pending.add(p);
    await p;
    pending.delete(p);
  }
}
log(`traffic for ${minutes} min, ${concurrency} concurrent callers, a worker killed every ${killEveryMs / 1000} s`);
const progress = setInterval(() => log(`sent ${stats.sent}, results ${stats.results}, typed ${JSON.stringify(stats.typed)}, untyped ${stats.untyped}`), 30_000);
await Promise.all(Array.from({ length: concurrency }, () => loop()));
clearInterval(killer);
clearInterval(progress);
stopping = true;
// Lost: a request still unanswered long after its timeout.
const lost = await Promise.race([Promise.all([...pending]).then(() => 0), new Promise<number>((r) => setTimeout(() => r(pending.size), JOB_TIMEOUT_MS + 5000))]);
// Results not read within their TTL expire: wait past it, then look for image bytes in every key.
await new Promise((r) => setTimeout(r, 12_000));
clearInterval(sampler);
const keys = [...(await redis.keys(`bull:${queue}:*`)), ...(await redis.keys(`${queue}:*`))];
const imageKeys: string[] = [];
for (const key of keys) {
  const type = await redis.type(key);
  const parts: Buffer[] = [];
  if (type === 'string') parts.push((await redis.getBuffer(key)) ?? Buffer.alloc(0));
  else if (type === 'hash') parts.push(...Object.values(await redis.hgetallBuffer(key)));
  else if (type === 'list') parts.push(...(await redis.lrangeBuffer(key, 0, -1)));
  else if (type === 'stream') for (const [, f] of await redis.xrangeBuffer(key, '-', '+')) parts.push(...f);
  const b = Buffer.concat(parts);
  const text = b.toString('latin1');
  if (b.includes(Buffer.from([0x89, 0x50, 0x4e, 0x47])) || b.includes(Buffer.from([0xff, 0xd8, 0xff])) || text.includes('iVBORw0KGgo') || text.includes('/9j/')) imageKeys.push(key);
}
const redisAfter = await usedMemory();
const sorted = [...stats.latencies].sort((a, b) => a - b);
const pct = (p: number): number | null => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]) : null);
const duplicates = [...completions.values()].filter((n) => n > 1).length;

await events.close();
await clients.normal.close();
await clients.short.close();
for (const w of workers) w?.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 3000));
for (const w of workers) w?.kill('SIGKILL');
const leftovers = [...(await redis.keys(`bull:${queue}:*`)), ...(await redis.keys(`${queue}:*`))];
if (leftovers.length) await redis.del(...leftovers);
redis.disconnect();
rmSync(tmp, { recursive: true, force: true });

console.log(
  JSON.stringify(
    {
      minutes,
      concurrency,
      workersKilled: kills,
      jobsSent: stats.sent,
      results: stats.results,
      typedRefusals: stats.typed,
      untypedErrors: stats.untyped,
      untypedSamples: stats.untypedSamples,
      lostJobs: lost,
      duplicateResults: duplicates,
      latencyMs: { p50: pct(50), p95: pct(95), p99: pct(99) },
      peakRssMB: Object.fromEntries(Object.entries(peakRss).map(([k, v]) => [k, Math.round(v / 1048576)])),
      redisUsedMemoryMB: { before: Math.round(redisBefore / 10485.76) / 100, after: Math.round(redisAfter / 10485.76) / 100 },
      keysHoldingImageBytes: imageKeys.length,
      byKind: stats.byKind,
    },
    null,
    2,
  ),
);
process.exit(0);
