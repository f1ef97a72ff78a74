/**
 * Regression: closing the client shortly after aborting in-flight jobs used to terminate the worker
 * thread inside a native onnxruntime call, which aborts the WHOLE process ("terminate called after
 * throwing an instance of 'Napi::Error'", exit 134). A native abort cannot be caught inside vitest, so the
 * create → translate → abort → close loop runs in a child process; the test asserts the child exits
 * by itself with code 0 and reports that every job settled and every close was graceful. Below it, the
 * two rules that make a graceful close safe, checked in-process: a session is never released while
 * one of its runs is under way, and nothing touches a session once its release began.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blazeFaceModelPath } from '../../src/inference/blazeface.detector.ts';
import { GeneratorRunner } from '../../src/inference/generator.runner.ts';
import type { RawImage } from '../../src/media/media.ts';
import { InferenceError, toInferenceError } from '../../src/inference/inference.errors.ts';
import { SingleModelRegistry } from '../../src/inference/model.registry.ts';
import { OnnxError } from '../../src/onnx/onnx.errors.ts';
import { createModel } from '../../src/onnx/runtime.ts';
import { exportedTestModels, installModel, repoRoot, tempModelsDir } from '../helpers/models.ts';
import { astronautPath } from './sample-images.ts';

const src = (p: string): string => pathToFileURL(path.join(repoRoot, 'src', p)).href;

/**
 * The child: sweeps the moment of close() over the worker's startup (sessions being created) and over
 * two in-flight jobs (decode, detection, generator session creation and runs), at fractions of times it
 * measures first, with `PARALLEL` clients per step (each closed a little later than the one before).
 * Prints one JSON line with every close; exits on its own when done (a leaked worker or timer would
 * keep it alive, and the parent kills it).
 */
const CHILD = `
import { readFileSync } from 'node:fs';
import { loadConfig } from '${src('config.ts')}';
import { WorkerInferenceClient } from '${src('inference/inference.client.ts')}';
import { FaultInjectingClient } from '${pathToFileURL(path.join(repoRoot, 'test/helpers/fault-injection.ts')).href}';

const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', MODELS_DIR: process.env.CLOSE_TEST_MODELS, ORT_PROVIDERS: 'cpu', BATCH_MAX_SIZE: '1', QUEUE_MAX: '2' });
const image = readFileSync(process.env.CLOSE_TEST_IMAGE);
const { startup, jobs: jobFractions, parallel } = JSON.parse(process.env.CLOSE_TEST_PLAN);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const outcome = (p) => p.then(() => 'ok', (e) => (e && e.code) || String(e));
/** Every job must settle within 15 s of close(); 'UNSETTLED' otherwise. */
const settled = (ps) => Promise.race([Promise.all(ps), sleep(15000).then(() => ps.map(() => 'UNSETTLED'))]);
const report = [];

async function closeAfter(scenario, client, delay, jobs, before = () => undefined) {
  await sleep(delay);
  before();
  const t = performance.now();
  await client.close();
  const closeMs = performance.now() - t;
  report.push({ scenario, delay, outcomes: await settled(jobs), closeMs, forced: client.forcedTerminations });
}

async function started() {
  const client = new WorkerInferenceClient(config);
  await client.start();
  return client;
}

/** A fresh client with two jobs; abort them (or not) after delay, then close. */
async function abortThenClose(delay, abort) {
  const client = await started();
  const ac = new AbortController();
  const jobs = [0, 1].map(() => outcome(client.translate(image, { direction: 'a2b', signal: ac.signal })));
  await closeAfter(abort ? 'abort-then-close' : 'close-while-running', client, delay, jobs, () => abort && ac.abort());
}

async function closeWhileStarting(delay) {
  const client = new WorkerInferenceClient(config);
  await closeAfter('close-while-starting', client, delay, [outcome(client.start())]);
}

async function closeWhileRestarting(delay) {
  const client = new FaultInjectingClient(config);
  await client.start();
  const jobs = [outcome(client.translate(image, { direction: 'a2b' }))];
  client.crashWorker();
  await closeAfter('close-while-restarting', client, delay, jobs);
}

/** Run fn at base, base + step, ... for the parallel clients of one step. */
const step = (fn, base, spread) => Promise.all(Array.from({ length: parallel }, (_, k) => fn(Math.round(base + k * spread))));

// Calibrate with as many clients at once as the sweep uses: startup time (after a warm-up start that
// fills tsx's compile cache), then two jobs' time.
const times = await Promise.all(
  Array.from({ length: parallel }, async () => {
    await (await started()).close();
    let t = performance.now();
    const client = await started();
    const readyMs = performance.now() - t;
    t = performance.now();
    const done = await settled([0, 1].map(() => outcome(client.translate(image, { direction: 'a2b' }))));
    const jobsMs = performance.now() - t;
    t = performance.now();
    await client.close();
    report.push({ scenario: 'close-when-idle', delay: 0, outcomes: done, closeMs: performance.now() - t, forced: client.forcedTerminations });
    return { readyMs, jobsMs };
  }),
);
const readyMs = Math.max(...times.map((x) => x.readyMs));
const jobsMs = Math.max(...times.map((x) => x.jobsMs));

for (const f of startup) await step(closeWhileStarting, f * readyMs, 0.05 * readyMs);
for (const f of jobFractions) await step((d) => abortThenClose(d, true), f * jobsMs, 0.15 * jobsMs);
await step((d) => abortThenClose(d, false), 0.4 * jobsMs, 0.3 * jobsMs);
await step(closeWhileRestarting, 0.3 * readyMs, 0.4 * readyMs);
console.log(JSON.stringify({ readyMs, jobsMs, report }));
`;

interface Row {
  scenario: string;
  delay: number;
  outcomes: string[];
  closeMs: number;
  forced: number;
}

/**
 * When to close, as fractions of the measured startup time and of the time two jobs take. The old
 * crash needed the close to land while the worker was inside an ONNX call: the BlazeFace sessions being
 * created at the end of startup, or a job's detection / generator session / generator run.
 */
const PLAN = { startup: [0, 0.75, 0.9], jobs: [0, 0.35, 0.7], parallel: 2 };

describe('WorkerInferenceClient close after abort (child process)', () => {
  let dir: string;
  let modelsDir: string;
  beforeAll(async () => {
    const models = await exportedTestModels();
    modelsDir = tempModelsDir();
    installModel(models.a2b, modelsDir, 'a2b.onnx');
    installModel(models.b2a, modelsDir, 'b2a.onnx');
    dir = mkdtempSync(path.join(os.tmpdir(), 'webtoon-close-test-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(modelsDir, { recursive: true, force: true });
  });

  it('never kills the process: every job settles, every close is graceful, and the child exits 0 by itself', async () => {
    const script = path.join(dir, 'close-loop.mts');
    writeFileSync(script, CHILD);
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: repoRoot,
      env: { ...process.env, CLOSE_TEST_MODELS: modelsDir, CLOSE_TEST_IMAGE: astronautPath, CLOSE_TEST_PLAN: JSON.stringify(PLAN) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(killer);

    // A native abort shows as SIGABRT / 134 with the C++ message on stderr; a leak as the SIGKILL above.
    expect({ code, signal, stderr: stderr.includes('terminate called') ? stderr.slice(-2000) : '' }).toEqual({ code: 0, signal: null, stderr: '' });
    const { report: rows } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { report: Row[] };
    const count = (scenario: string): number => rows.filter((r) => r.scenario === scenario).length;
    expect({
      idle: count('close-when-idle'),
      starting: count('close-while-starting'),
      aborted: count('abort-then-close'),
      running: count('close-while-running'),
      restarting: count('close-while-restarting'),
    }).toEqual({
      idle: PLAN.parallel,
      starting: PLAN.startup.length * PLAN.parallel,
      aborted: PLAN.jobs.length * PLAN.parallel,
      running: PLAN.parallel,
      restarting: PLAN.parallel,
    });
    for (const row of rows) {
      expect(row.forced, `${row.scenario} @${row.delay} ms terminated the worker`).toBe(0);
      expect(row.closeMs).toBeLessThan(10_000);
      const allowed =
        row.scenario === 'close-when-idle'
          ? ['ok']
          : row.scenario === 'close-while-restarting'
            ? ['WORKER_CRASHED'] // lost in the crash; close() then stops the new worker while it starts
            : ['ok', 'ABORTED']; // finished before the abort / close(), or aborted by it
      for (const o of row.outcomes) expect(allowed, `${row.scenario} @${row.delay} ms: ${o}`).toContain(o);
    }
    // Aborted at once, both jobs are ABORTED; a close() before the worker is ready fails the start with ABORTED.
    expect(rows.find((r) => r.scenario === 'abort-then-close' && r.delay === 0)!.outcomes).toEqual(['ABORTED', 'ABORTED']);
    expect(rows.find((r) => r.scenario === 'close-while-starting' && r.delay === 0)!.outcomes).toEqual(['ABORTED']);
  });
});

async function aborted(p: Promise<unknown>): Promise<InferenceError> {
  const err = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InferenceError);
  expect((err as InferenceError).code).toBe('ABORTED');
  return err as InferenceError;
}

describe('OrtModel.dispose', () => {
  const feed = (): Record<string, { data: Float32Array; dims: number[] }> => ({ 'input:0': { data: new Float32Array(256 * 256 * 3).fill(0.5), dims: [1, 256, 256, 3] } });

  it('releases the session only after a run already under way has finished, then refuses runs with MODEL_DISPOSED (ABORTED for the pipeline)', async () => {
    const sut = await createModel(blazeFaceModelPath('back'), { devices: ['cpu'], threads: 1 });
    const running = sut.run(feed());
    const released = sut.dispose();
    expect(sut.disposed).toBe(true);
    const out = await running; // not "Session already disposed": the release waited
    expect(Object.values(out).every((t) => t.data.length > 0)).toBe(true);
    await released;
    expect(sut.dispose()).toBe(released); // idempotent
    const refused = await sut.run(feed()).then(() => new Error('expected a rejection'), (e: unknown) => e);
    expect(refused).toBeInstanceOf(OnnxError);
    expect((refused as OnnxError).code).toBe('MODEL_DISPOSED');
    const err = toInferenceError(refused) as InferenceError;
    expect([err.name, err.message, err.details.stage]).toEqual(['InferenceError[ABORTED]', 'The inference worker is shutting down.', 'run']);
  });
});

describe('GeneratorRunner.dispose', () => {
  const crop: RawImage = { data: Buffer.alloc(64 * 64 * 3, 128), width: 64, height: 64, channels: 3 };

  it('lets the running batch finish, fails crops still waiting with ABORTED, and refuses new ones', async () => {
    const models = await exportedTestModels();
    const info = await new SingleModelRegistry(models.a2b).resolve('a2b');
    const sut = new GeneratorRunner({ devices: ['cpu'], threads: 1 }, { maxBatch: 1, maxWaitMs: 0 });
    const first = sut.generate(info, crop); // runs as soon as the session exists
    const second = sut.generate(info, crop); // waits for the first batch
    const disposed = sut.dispose();
    await aborted(second);
    expect((await first).image.width).toBe(64);
    await disposed;
    expect(sut.batchLog).toEqual([1]);
    await aborted(sut.generate(info, crop));
    await aborted(sut.runBatch(info, [crop]));
  });
});
