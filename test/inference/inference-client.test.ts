import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { loadConfig } from '../../src/config.ts';
import { createInferenceClient, WorkerInferenceClient } from '../../src/inference/inference.client.ts';
import { exportedTestModels, installModel, tempModelsDir, type TestModels } from '../helpers/models.ts';
import { astronautPng } from './sample-images.ts';
import { rejectionOf } from '../helpers/rejection.ts';
import { createFaultInjectingClient, FaultInjectingClient } from '../helpers/fault-injection.ts';

let models: TestModels;

function cfg(extra: Record<string, string> = {}) {
  const dir = tempModelsDir();
  installModel(models.a2b, dir, 'a2b.onnx');
  installModel(models.b2a, dir, 'b2a.onnx');
  return loadConfig({ NODE_ENV: 'test', MODELS_DIR: dir, ORT_PROVIDERS: 'cuda,cpu', ORT_THREADS: '1', ...extra });
}

beforeAll(async () => {
  models = await exportedTestModels();
});

describe('createInferenceClient', () => {
  let sut: WorkerInferenceClient;
  beforeAll(async () => {
    sut = await createInferenceClient(cfg({ BATCH_MAX_SIZE: '4', BATCH_MAX_WAIT_MS: '40' }));
  });
  afterAll(() => sut.close());

  describe('translate', () => {
    it('translates in the worker thread (with ORT_PROVIDERS=cuda,cpu falling back to CPU) and returns a PNG', async () => {
      const r = await sut.translate(astronautPng(), { direction: 'a2b', sideBySide: true, attention: true });
      const meta = await sharp(r.png).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 512, 256]);
      expect(r).toMatchObject({ direction: 'a2b', modelVersion: 'fixture-a2b-1', facesFound: 1, cropMode: 'face' });
      expect(r.timings.queue).toBeGreaterThanOrEqual(0);
      expect(r.timings.total).toBeGreaterThanOrEqual(r.timings.generate);
    });

    it('batches concurrent requests and returns each caller its own result', async () => {
      const a = astronautPng();
      const b = await sharp(a).flop().png().toBuffer(); // mirrored: a different input
      const results = await Promise.all([a, b, a, b].map((img) => sut.translate(img, { direction: 'a2b' })));
      expect(Math.max(...results.map((r) => r.batchSize ?? 1))).toBeGreaterThan(1);
      expect(results[0].inputSha256).toBe(results[2].inputSha256);
      expect(results[0].inputSha256).not.toBe(results[1].inputSha256);
      // Same input → same output; different input → different output.
      expect(results[0].png.equals(results[2].png)).toBe(true);
      expect(results[1].png.equals(results[3].png)).toBe(true);
      expect(results[0].png.equals(results[1].png)).toBe(false);
    });

    it('refuses byte-level bad input (HTML, empty) before it takes a queue slot', async () => {
      const positions: number[] = [];
      const err = await rejectionOf(sut.translate(Buffer.from('<html>hi</html>'), { direction: 'a2b', onQueuePosition: (p) => positions.push(p) }));
      expect(err.code).toBe('UNSUPPORTED_FORMAT');
      expect(err.details.detected).toBe('HTML page');
      expect(err.name).toBe('InferenceError[UNSUPPORTED_FORMAT]');
      expect(positions).toEqual([]); // never queued
      expect((await rejectionOf(sut.translate(Buffer.alloc(0), { direction: 'a2b' }))).code).toBe('EMPTY_FILE');
    });

    it('passes typed errors found in the worker (truncated file, no face) through the thread boundary', async () => {
      const png = astronautPng();
      const truncated = await rejectionOf(sut.translate(png.subarray(0, png.length / 2), { direction: 'a2b' }));
      expect(truncated.code).toBe('CORRUPT_IMAGE');
      expect(truncated.details.format).toBe('png');
      const blank = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#808080' } }).png().toBuffer();
      const noFace = await rejectionOf(sut.translate(blank, { direction: 'a2b' }));
      expect(noFace.code).toBe('NO_FACE');
      expect(noFace.name).toBe('InferenceError[NO_FACE]');
    });

    it('rejects bad options with a TypeError naming the option, before queueing', async () => {
      await expect(sut.translate(astronautPng(), { direction: 'sideways' as 'a2b' })).rejects.toThrow(/opts.direction must be "a2b" or "b2a", got "sideways"/);
      await expect(sut.translate(astronautPng(), { direction: 'a2b', outputSize: 300 as 256 })).rejects.toThrow(TypeError);
      await expect(sut.translate(astronautPng(), { direction: 'a2b', faces: '2' as 'all' })).rejects.toThrow(/opts.faces/);
      expect(sut.queueDepth()).toBe(0);
    });

    it('rejects an already-aborted signal with ABORTED without queueing', async () => {
      const ac = new AbortController();
      ac.abort();
      const err = await rejectionOf(sut.translate(astronautPng(), { direction: 'a2b', signal: ac.signal }));
      expect(err.code).toBe('ABORTED');
      expect(sut.queueDepth()).toBe(0);
    });
  });

  describe('modelVersions', () => {
    it('reports the version served per direction', async () => {
      expect(await sut.modelVersions()).toEqual({ a2b: 'fixture-a2b-1', b2a: 'fixture-b2a-1' });
    });
  });
});

describe('WorkerInferenceClient queueing', () => {
  it('refuses work at once with QUEUE_FULL when the queue is full, reports positions, and drains', async () => {
    const sut = await createFaultInjectingClient(cfg({ QUEUE_MAX: '3', BATCH_MAX_SIZE: '1', BATCH_MAX_WAIT_MS: '0' }));
    try {
      sut.hangWorker(400); // the worker is busy: jobs stay queued for a while
      const positions: number[][] = [[], [], []];
      const jobs = [0, 1, 2].map((i) => sut.translate(astronautPng(), { direction: 'a2b', onQueuePosition: (p) => positions[i].push(p) }));
      expect(sut.queueDepth()).toBe(3);
      const t = performance.now();
      const full = await rejectionOf(sut.translate(astronautPng(), { direction: 'a2b' }));
      expect(performance.now() - t).toBeLessThan(50); // refused at once, not buffered
      expect(full.code).toBe('QUEUE_FULL');
      expect(full.details).toEqual({ queueDepth: 3, limit: 3 });
      expect(full.message).toMatch(/busy/);
      await Promise.all(jobs);
      // Job 0 ran first; job 2 waited at position 2, then 1, then ran.
      expect(positions[0]).toEqual([0]);
      expect(positions[1]).toEqual([1, 0]);
      expect(positions[2]).toEqual([2, 1, 0]);
      expect(sut.queueDepth()).toBe(0);
    } finally {
      await sut.close();
    }
  });

  it('fails a job that takes longer than JOB_TIMEOUT_MS with TIMEOUT, and keeps serving', async () => {
    const sut = await createFaultInjectingClient(cfg({ JOB_TIMEOUT_MS: '300' }));
    try {
      sut.hangWorker(800);
      const err = await rejectionOf(sut.translate(astronautPng(), { direction: 'a2b' }));
      expect(err.code).toBe('TIMEOUT');
      expect(err.details.timeoutMs).toBe(300);
      expect(sut.queueDepth()).toBe(0);
      await new Promise((r) => setTimeout(r, 600));
      expect((await sut.translate(astronautPng(), { direction: 'a2b' })).facesFound).toBe(1);
    } finally {
      await sut.close();
    }
  });

  it('fails a job with ABORTED when its signal fires while queued', async () => {
    const sut = await createFaultInjectingClient(cfg({ BATCH_MAX_SIZE: '1' }));
    try {
      sut.hangWorker(300);
      const ac = new AbortController();
      const first = sut.translate(astronautPng(), { direction: 'a2b' });
      const second = sut.translate(astronautPng(), { direction: 'a2b', signal: ac.signal });
      expect(sut.queueDepth()).toBe(2);
      ac.abort();
      const err = await rejectionOf(second);
      expect(err.code).toBe('ABORTED');
      expect(err.details.stage).toBe('queued');
      expect(sut.queueDepth()).toBe(1);
      expect((await first).facesFound).toBe(1);
    } finally {
      await sut.close();
    }
  });

  it('keeps the main thread responsive while the worker is blocked', async () => {
    const sut = await createFaultInjectingClient(cfg());
    try {
      sut.hangWorker(500);
      const job = sut.translate(astronautPng(), { direction: 'a2b' });
      const t = performance.now();
      await new Promise((r) => setTimeout(r, 20));
      expect(performance.now() - t).toBeLessThan(150);
      await job;
    } finally {
      await sut.close();
    }
  });
});

describe('WorkerInferenceClient worker restarts', () => {
  it('fails in-flight jobs with WORKER_CRASHED when the worker dies, restarts it, and serves the next job', async () => {
    const sut = await createFaultInjectingClient(cfg({ BATCH_MAX_SIZE: '2' }));
    try {
      sut.hangWorker(200);
      const inFlight = [sut.translate(astronautPng(), { direction: 'a2b' }), sut.translate(astronautPng(), { direction: 'a2b' })];
      sut.crashWorker();
      for (const p of inFlight) {
        const err = await rejectionOf(p);
        expect(err.code).toBe('WORKER_CRASHED');
        expect(err.message).toMatch(/crashed/);
        expect(err.details.exitCode).toBe(70);
      }
      expect(sut.restarts).toBe(1);
      const r = await sut.translate(astronautPng(), { direction: 'a2b' });
      expect(r.facesFound).toBe(1);
    } finally {
      await sut.close();
    }
  });

  it('keeps queued (not yet running) jobs across a restart and runs them on the new worker', async () => {
    const sut = await createFaultInjectingClient(cfg({ BATCH_MAX_SIZE: '1' }));
    try {
      sut.hangWorker(200);
      const running = sut.translate(astronautPng(), { direction: 'a2b' });
      const queued = sut.translate(astronautPng(), { direction: 'a2b' });
      sut.crashWorker();
      expect((await rejectionOf(running)).code).toBe('WORKER_CRASHED');
      expect((await queued).facesFound).toBe(1);
    } finally {
      await sut.close();
    }
  });
});

describe('WorkerInferenceClient close', () => {
  it('rejects queued work with ABORTED and refuses new work', async () => {
    const sut = await createFaultInjectingClient(cfg({ BATCH_MAX_SIZE: '1' }));
    sut.hangWorker(200);
    const a = rejectionOf(sut.translate(astronautPng(), { direction: 'a2b' }));
    const b = rejectionOf(sut.translate(astronautPng(), { direction: 'a2b' }));
    await sut.close();
    expect((await a).code).toBe('ABORTED');
    expect((await b).code).toBe('ABORTED');
    expect((await rejectionOf(sut.translate(astronautPng(), { direction: 'a2b' }))).code).toBe('ABORTED');
  });

  it('settles running jobs and pending calls with ABORTED before it resolves, and lets the worker exit by itself', async () => {
    const sut = await createFaultInjectingClient(cfg({ BATCH_MAX_SIZE: '2' }));
    const order: string[] = [];
    const jobs = [0, 1, 2].map((i) =>
      rejectionOf(sut.translate(astronautPng(), { direction: 'a2b' })).then((e) => {
        order.push(`job${i}`);
        return e.code;
      }),
    );
    expect(sut.queueDepth()).toBe(3); // two jobs were handed to the worker at once, one waits
    const versions = rejectionOf(sut.modelVersions()).then((e) => {
      order.push('versions');
      return e.code;
    });
    await sut.close().then(() => order.push('closed'));
    expect(await Promise.all(jobs)).toEqual(['ABORTED', 'ABORTED', 'ABORTED']);
    expect(await versions).toBe('ABORTED');
    expect(order.at(-1)).toBe('closed');
    expect(order).toHaveLength(5);
    expect(sut.queueDepth()).toBe(0);
    expect(sut.forcedTerminations).toBe(0); // the worker shut down gracefully
    expect(sut.restarts).toBe(0); // and its exit was not taken for a crash
  });

  it('terminates a worker that does not shut down within closeGraceMs, as a last resort', async () => {
    const sut = new FaultInjectingClient(cfg(), { closeGraceMs: 300 });
    await sut.start();
    sut.hangWorker(5_000); // the worker cannot even read the close message
    const t = performance.now();
    await sut.close();
    const ms = performance.now() - t;
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(4_000);
    expect(sut.forcedTerminations).toBe(1);
  });

  it('fails a start still under way with ABORTED when closed', async () => {
    const sut = new WorkerInferenceClient(cfg());
    const start = rejectionOf(sut.start());
    await sut.close();
    const err = await start;
    expect(err.code).toBe('ABORTED');
    expect(err.details.stage).toBe('start');
    expect(sut.forcedTerminations).toBe(0);
    expect((await rejectionOf(sut.start())).code).toBe('ABORTED');
  });
});

describe('createInferenceClient startup', () => {
  it('rejects a bad ORT_PROVIDERS with a ConfigError listing the valid names', async () => {
    const bad = { ...cfg(), ORT_PROVIDERS: ['gpu'] };
    await expect(createInferenceClient(bad)).rejects.toThrow(ConfigError);
    await expect(createInferenceClient(bad)).rejects.toThrow(/valid: cuda, cpu/);
  });
});
