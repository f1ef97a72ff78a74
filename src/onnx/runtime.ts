/**
 * The one module that owns onnxruntime-node: the table from device names to execution providers,
 * session creation with the CUDA → CPU fallback, and tensor runs.
 *
 * onnxruntime-node does its native work (session creation, `run`, `release`) synchronously on the
 * calling JS thread. Two rules follow, and this module enforces the first: a session is never
 * released while one of its runs is scheduled or running ({@link OrtModel.dispose} waits for them, and
 * later runs are refused with `OnnxError[MODEL_DISPOSED]` without touching the native session); and a worker thread must
 * not be terminated while it is inside such a call (the binding's error path then throws a C++
 * `Napi::Error` nobody catches, which aborts the whole process) — the client's `close()` therefore
 * asks the worker to shut down itself.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ConfigError } from '../errors.ts';
import { moduleLogger } from '../logger.ts';
import { OnnxError } from './onnx.errors.ts';

const log = moduleLogger('inference.ort');

/** Device names accepted in ORT_PROVIDERS and what onnxruntime-node calls them. `null` = known but not supported here. */
const DEVICE_TABLE: Record<string, string | null> = {
  cuda: 'cuda',
  cpu: 'cpu',
  tensorrt: null,
  dml: null,
  coreml: null,
  webgpu: null,
};

/** The device names this build can use. */
export const SUPPORTED_DEVICES = Object.keys(DEVICE_TABLE).filter((k) => DEVICE_TABLE[k] !== null);

/**
 * Map configured device names to ORT execution providers, in order.
 * @throws {ConfigError} for an unknown or unsupported name, listing the valid ones.
 */
export function resolveProviders(devices: readonly string[]): string[] {
  if (devices.length === 0) throw new ConfigError('CONFIG_INVALID', `ORT_PROVIDERS is empty; use some of: ${SUPPORTED_DEVICES.join(', ')}`);
  return devices.map((d) => {
    const name = d.toLowerCase();
    if (!(name in DEVICE_TABLE)) {
      throw new ConfigError('CONFIG_INVALID', `Unknown execution provider "${d}" in ORT_PROVIDERS; valid: ${SUPPORTED_DEVICES.join(', ')}`, {
        provider: d,
        valid: SUPPORTED_DEVICES,
      });
    }
    const ep = DEVICE_TABLE[name];
    if (ep === null) {
      throw new ConfigError('CONFIG_INVALID', `Execution provider "${d}" is not supported by this build; valid: ${SUPPORTED_DEVICES.join(', ')}`, {
        provider: d,
        valid: SUPPORTED_DEVICES,
      });
    }
    return ep;
  });
}

export interface SessionOptions {
  /** Device names from ORT_PROVIDERS, e.g. ['cuda', 'cpu']. */
  devices: readonly string[];
  /** Intra-op threads; 0 lets ONNX Runtime decide. */
  threads: number;
  /**
   * Whether this session may print the one "onnxruntime runs on <provider>" info line (default true).
   * A check on a fixed provider (the exporter's self-check on cpu) passes false: it says nothing about
   * the provider that serves, so it logs at debug and leaves the info line to the serving session.
   */
  announce?: boolean;
}

/** Providers that failed to load in this process, with the reason (logged once each). */
const failedProviders = new Map<string, string>();

// ONNX Runtime's own console logging: errors it prints itself (a missing CUDA library) are reported
// once through our logger instead.
ort.env.logLevel = 'fatal';

/**
 * Whether onnxruntime-node has the provider's library on disk. Its CUDA provider is not in the npm
 * package (the package's install script downloads it, and `npm ci` here skips that), so on a machine
 * set up without it `cuda` in the default ORT_PROVIDERS is expected to be absent: that is not worth a
 * warning. A provider that is installed but fails to load still warns.
 */
export function providerInstalled(ep: string, bindingDir = ortBindingDir()): boolean {
  if (ep !== 'cuda' || !bindingDir) return true;
  return existsSync(path.join(bindingDir, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'));
}

/** onnxruntime-node's native folder for this platform (bin/napi-v*\/<platform>/<arch>), or null. */
function ortBindingDir(): string | null {
  try {
    const bin = path.resolve(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '../bin');
    for (const napi of ['napi-v6', 'napi-v3']) {
      const dir = path.join(bin, napi, process.platform, process.arch);
      if (existsSync(dir)) return dir;
    }
  } catch {
    // not resolvable: assume everything is installed and let session creation say otherwise
  }
  return null;
}

/** Providers already announced with the one "running on" info line (once per process or thread). */
const announced = new Set<string>();

/** Why each provider was skipped so far (for diagnostics and tests). */
export function providerFailures(): ReadonlyMap<string, string> {
  return failedProviders;
}

/**
 * A loaded ONNX model. The owner calls {@link OrtModel.dispose}.
 */
export class OrtModel {
  /** Runs scheduled or running on the session now. */
  private readonly runs = new Set<Promise<unknown>>();
  private released: Promise<void> | null = null;

  constructor(
    private readonly session: ort.InferenceSession,
    /** The execution provider the session runs on. */
    readonly provider: string,
  ) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Declared shape and type of an input or output (symbolic dims as strings), or undefined. */
  signature(name: string): { type: string; shape: (number | string)[] } | undefined {
    const all = [...this.session.inputMetadata, ...this.session.outputMetadata];
    const m = all.find((x) => x.name === name);
    if (!m || !m.isTensor) return undefined;
    return { type: m.type, shape: [...m.shape] };
  }

  /** True once {@link dispose} was called: runs are refused from then on. */
  get disposed(): boolean {
    return this.released !== null;
  }

  /**
   * Run with float32 inputs; returns each output's data and dims.
   * @throws {OnnxError} MODEL_DISPOSED when the model was disposed (the native session is not touched).
   */
  async run(
    feeds: Record<string, { data: Float32Array; dims: readonly number[] }>,
  ): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
    if (this.released) throw new OnnxError('MODEL_DISPOSED', 'The model was disposed: the inference worker is shutting down.', { stage: 'run' });
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor('float32', v.data, v.dims);
    // Registered before the first await, so a dispose() called from now on waits for this run.
    const running = this.session.run(ortFeeds);
    this.runs.add(running);
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await running;
    } finally {
      this.runs.delete(running);
    }
    const res: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (const [k, t] of Object.entries(out)) {
      res[k] = { data: t.data as Float32Array, dims: [...t.dims] };
      t.dispose?.();
    }
    return res;
  }

  /**
   * Release the native session once the runs already scheduled have finished (never concurrently with
   * one). Idempotent: every call returns the same promise.
   */
  dispose(): Promise<void> {
    this.released ??= (async () => {
      while (this.runs.size > 0) await Promise.allSettled([...this.runs]);
      await this.session.release();
    })();
    return this.released;
  }
}

/**
 * Create a session on the first provider that loads, in the configured order. A provider that cannot
 * load (CUDA without its libraries) is logged once with the reason and skipped from then on.
 * @throws the last provider's error when none loads.
 */
export function createModel(model: string | Uint8Array, opts: SessionOptions): Promise<OrtModel> {
  // Serialised so that a provider that cannot load is tried (and logged) once, not once per concurrent caller.
  const next = creating.then(() => createModelNow(model, opts));
  creating = next.catch(() => undefined);
  return next;
}

let creating: Promise<unknown> = Promise.resolve();

async function createModelNow(model: string | Uint8Array, opts: SessionOptions): Promise<OrtModel> {
  const providers = resolveProviders(opts.devices);
  let lastError: unknown;
  for (const ep of providers) {
    if (failedProviders.has(ep)) continue;
    if (ep !== providers[providers.length - 1] && !providerInstalled(ep)) {
      failedProviders.set(ep, 'not installed');
      log.debug({ provider: ep }, `execution provider ${ep} is not installed; trying the next one`);
      continue;
    }
    try {
      const so: ort.InferenceSession.SessionOptions = {
        executionProviders: [ep],
        logSeverityLevel: 3,
        graphOptimizationLevel: 'all',
        ...(opts.threads > 0 ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
      };
      const session =
        typeof model === 'string' ? await ort.InferenceSession.create(model, so) : await ort.InferenceSession.create(model, so);
      const skipped = [...failedProviders.entries()].filter(([p]) => providers.includes(p)).map(([p, why]) => `${p}: ${why === 'not installed' ? 'not installed' : 'failed to load'}`);
      const line = `onnxruntime runs on ${ep}${skipped.length ? ` (${skipped.join(', ')})` : ''}`;
      if (opts.announce === false) {
        log.debug({ provider: ep, skipped }, line);
      } else if (!announced.has(ep)) {
        announced.add(ep);
        log.info({ provider: ep, skipped }, line);
      }
      return new OrtModel(session, ep);
    } catch (err) {
      lastError = err;
      const reason = err instanceof Error ? err.message : String(err);
      // A model that is itself broken fails on every provider: only remember provider-load failures.
      if (ep !== 'cpu' && /Failed to load|provider|shared library|not available/i.test(reason)) {
        failedProviders.set(ep, reason);
        log.warn({ provider: ep, reason }, `execution provider ${ep} cannot load; falling back to the next one`);
        continue;
      }
      throw err;
    }
  }
  throw lastError ?? new Error('no execution provider could be loaded');
}
