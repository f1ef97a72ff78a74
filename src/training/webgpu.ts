/**
 * The `webgpu` training backend: @tensorflow/tfjs-backend-webgpu on Dawn's Node binding (the `webgpu`
 * npm package: prebuilt `dawn.node`, Vulkan / OpenGL loaded at run time, so it installs from the
 * registry alone and runs on NVIDIA, AMD and Intel GPUs).
 *
 * Why this file does more than `import '@tensorflow/tfjs-backend-webgpu'`:
 * - Adapter choice. tfjs' own factory takes whatever `navigator.gpu.requestAdapter()` returns. Here a
 *   hardware adapter is required for `auto`; a software one (Mesa llvmpipe over EGL/GLES, SwiftShader,
 *   lavapipe) is only used when `webgpu` was asked for explicitly and no hardware adapter exists — it
 *   is correct but slow, meant for tests on CPU machines.
 * - Limits. tfjs requests a few adapter limits but not `maxStorageBuffersPerShaderStage`; on a
 *   compatibility-mode adapter the default (8) makes AddN of 8+ inputs an invalid pipeline whose
 *   command buffer is dropped, i.e. silent zeros. We request the adapter's own limit and split AddN
 *   into chunks that fit it.
 * - Errors. Validation errors surface as `uncapturederror` events, not exceptions. They are recorded
 *   and {@link throwIfWebgpuError} raises them after every read-back (the train step calls it).
 * - `navigator`. The backend looks for `navigator.gpu` when it is imported; Node ≥ 21 has a read-only
 *   `navigator`, so it is (re)defined with `Object.defineProperty` first.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';

/** What was found and started. */
export interface WebgpuAdapterInfo {
  /** Readable adapter name, e.g. `NVIDIA H200 (vulkan)` or `llvmpipe … (OpenGL ES 3.2 Mesa …)`. */
  name: string;
  /** True for a CPU-emulated adapter (llvmpipe, lavapipe, SwiftShader, fallback adapters). */
  software: boolean;
  /** The Dawn toggles/backend the adapter came from (`default`, `backend=opengles`, …). */
  via: string;
  /** Largest storage buffer one shader may bind, in bytes (the biggest tensor an op can read). */
  maxStorageBufferBindingSize: number;
  /** Largest buffer, in bytes. */
  maxBufferSize: number;
  maxStorageBuffersPerShaderStage: number;
}

/** A WebGPU device could not be started (no adapter, only a software one for `auto`, …). */
export class WebgpuError extends AppError<'NO_ADAPTER' | 'SOFTWARE_ONLY' | 'DEVICE_ERROR' | 'TENSOR_TOO_LARGE'> {}

const SOFTWARE_NAME = /llvmpipe|lavapipe|softpipe|swiftshader|software|microsoft basic render/i;

/** True when an adapter's description names a CPU implementation. */
export function isSoftwareAdapter(info: { device?: string; description?: string; vendor?: string; isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter) return true;
  return SOFTWARE_NAME.test(`${info.vendor ?? ''} ${info.device ?? ''} ${info.description ?? ''}`);
}

let started: WebgpuAdapterInfo | undefined;
let starting: Promise<WebgpuAdapterInfo> | undefined;
const gpuErrors: string[] = [];

/**
 * Raise the first WebGPU validation / out-of-memory error recorded since the last call. Dawn reports
 * them asynchronously as `uncapturederror` events (a failed pipeline yields zeros, not an exception),
 * so every place that reads results back calls this after awaiting the read.
 * @throws {WebgpuError} DEVICE_ERROR
 */
export function throwIfWebgpuError(): void {
  if (gpuErrors.length === 0) return;
  const first = gpuErrors[0];
  const n = gpuErrors.length;
  gpuErrors.length = 0;
  throw new WebgpuError('DEVICE_ERROR', `the GPU rejected work (${n} error${n > 1 ? 's' : ''}); first: ${first}`, { count: n });
}

/** The adapter the webgpu backend runs on, once started. */
export function webgpuAdapter(): WebgpuAdapterInfo | undefined {
  return started;
}

interface Candidate {
  via: string;
  flags: string[];
  featureLevel: 'core' | 'compatibility';
}

/**
 * Hardware first (Dawn's default backend: Vulkan on Linux), then Mesa's software OpenGL ES through
 * EGL (what CPU-only machines have; Dawn rejects Mesa's software Vulkan).
 */
const CANDIDATES: readonly Candidate[] = [
  { via: 'default', flags: [], featureLevel: 'core' },
  { via: 'backend=opengles', flags: ['backend=opengles'], featureLevel: 'compatibility' },
];

async function findAdapter(allowSoftware: boolean): Promise<{ adapter: GPUAdapter; gpu: GPU; candidate: Candidate; software: boolean }> {
  const { create, globals } = await import('webgpu');
  // GPUBufferUsage, GPUMapMode, … : the constants the tfjs backend reads from the global scope
  for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
  const seen: string[] = [];
  let software: { adapter: GPUAdapter; gpu: GPU; candidate: Candidate } | undefined;
  for (const candidate of CANDIDATES) {
    // EGL needs a platform without a display server (read when Dawn initialises EGL)
    if (candidate.flags.includes('backend=opengles') && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    let gpu: GPU;
    try {
      gpu = create(candidate.flags);
    } catch (err) {
      seen.push(`${candidate.via}: ${(err as Error).message}`);
      continue;
    }
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance', featureLevel: candidate.featureLevel } as GPURequestAdapterOptions);
    if (!adapter) {
      seen.push(`${candidate.via}: no adapter`);
      continue;
    }
    if (!isSoftwareAdapter(adapter.info)) return { adapter, gpu, candidate, software: false };
    seen.push(`${candidate.via}: software adapter ${adapterName(adapter.info, candidate)}`);
    software ??= { adapter, gpu, candidate };
    if (!allowSoftware) continue;
  }
  if (software && allowSoftware) return { ...software, software: true };
  if (software) {
    throw new WebgpuError('SOFTWARE_ONLY', `only a software WebGPU adapter is present (${seen.join('; ')}); auto never trains on one — ask for --backend webgpu to use it anyway (slow; for tests)`, { seen });
  }
  throw new WebgpuError('NO_ADAPTER', `no WebGPU adapter (${seen.join('; ')})`, { seen });
}

function adapterName(info: GPUAdapterInfo, c: Candidate): string {
  const parts = [info.vendor, info.device, info.architecture].filter((s) => s && s.length > 0);
  const desc = info.description ? ` (${info.description})` : '';
  return `${parts.join(' ') || 'unnamed adapter'}${desc} via ${c.via}`;
}

/** Define `navigator.gpu` where the tfjs backend looks for it (Node ≥ 21 has a read-only navigator). */
function exposeGpu(gpu: GPU): void {
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav && 'gpu' in nav && (nav as { gpu: unknown }).gpu === gpu) return;
  Object.defineProperty(globalThis, 'navigator', { value: { ...(nav ?? {}), gpu }, configurable: true, writable: true });
}

/** AddN in chunks of at most `maxInputs` (one storage buffer per input plus the output must fit a stage). */
function registerChunkedAddN(maxInputs: number): void {
  const original = tf.getKernel('AddN', 'webgpu');
  if (!original) return;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: (args) => {
      let inputs = args.inputs as unknown as tf.TensorInfo[];
      const temps: tf.TensorInfo[] = [];
      while (inputs.length > maxInputs) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < inputs.length; i += maxInputs) {
          const chunk = inputs.slice(i, i + maxInputs);
          if (chunk.length === 1) {
            next.push(chunk[0]);
            continue;
          }
          const part = original.kernelFunc({ ...args, inputs: chunk as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
          temps.push(part);
          next.push(part);
        }
        inputs = next;
      }
      const out = original.kernelFunc({ ...args, inputs: inputs as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
      for (const t of temps) (args.backend as tf.KernelBackend).disposeData(t.dataId);
      return out;
    },
  });
}

/**
 * Start the tfjs `webgpu` backend on the best adapter and make it the active backend.
 * @param opts.allowSoftware - accept a software adapter when no hardware one exists (explicit
 *   `--backend webgpu`, tests); `auto` passes false.
 * @throws {WebgpuError} NO_ADAPTER, SOFTWARE_ONLY
 */
export async function startWebgpu(opts: { allowSoftware: boolean }): Promise<WebgpuAdapterInfo> {
  if (started && (opts.allowSoftware || !started.software)) {
    if (!(await tf.setBackend('webgpu'))) throw new WebgpuError('DEVICE_ERROR', 'the webgpu backend failed to initialise');
    return started;
  }
  if (started?.software && !opts.allowSoftware) {
    throw new WebgpuError('SOFTWARE_ONLY', `only a software WebGPU adapter is present (${started.name})`, {});
  }
  starting ??= (async () => {
    const { adapter, gpu, candidate, software } = await findAdapter(opts.allowSoftware);
    exposeGpu(gpu);
    const backendModule = await import('@tensorflow/tfjs-backend-webgpu');
    const limits = adapter.limits;
    const info: WebgpuAdapterInfo = {
      name: adapterName(adapter.info, candidate),
      software,
      via: candidate.via,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    };
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend(
      'webgpu',
      async () => {
        const device = await adapter.requestDevice({
          requiredLimits: {
            maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
            maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
            maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
            maxBufferSize: limits.maxBufferSize,
            maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
            maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
            maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
          },
        });
        device.addEventListener('uncapturederror', (ev) => {
          const e = (ev as GPUUncapturedErrorEvent).error;
          gpuErrors.push(e?.message?.split('\n')[0] ?? String(e));
        });
        return new backendModule.WebGPUBackend(device, adapter.info);
      },
      0, // never picked implicitly: selectBackend sets it by name
    );
    if (!(await tf.setBackend('webgpu'))) throw new WebgpuError('DEVICE_ERROR', `the webgpu backend failed to initialise on ${info.name}`);
    registerChunkedAddN(Math.max(2, limits.maxStorageBuffersPerShaderStage - 1));
    started = info;
    return info;
  })();
  try {
    return await starting;
  } finally {
    starting = undefined;
  }
}

/** The limits a tensor must fit on a WebGPU device (the started adapter's, or given ones in tests). */
export type WebgpuSizeLimits = Pick<WebgpuAdapterInfo, 'name' | 'maxStorageBufferBindingSize' | 'maxBufferSize'>;

/**
 * Refuse up front a tensor the device cannot hold in one buffer or bind in one shader: more bytes than
 * the adapter's `maxStorageBufferBindingSize` or `maxBufferSize` (the message names the one exceeded).
 * Call it with the shapes from the shape table, before any network is built.
 * @param limits - defaults to the started adapter's; without one (webgpu not started) nothing is checked
 * @throws {WebgpuError} TENSOR_TOO_LARGE
 */
export function checkWebgpuTensorSizes(tensors: Iterable<[string, readonly number[]]>, limits: WebgpuSizeLimits | undefined = started): void {
  if (!limits) return;
  const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((n, d) => n * d, 1) * 4;
    const [limitName, limit] =
      limits.maxBufferSize < limits.maxStorageBufferBindingSize ? (['maxBufferSize', limits.maxBufferSize] as const) : (['maxStorageBufferBindingSize', limits.maxStorageBufferBindingSize] as const);
    if (bytes > limit) {
      const what = limitName === 'maxBufferSize' ? 'holds in one buffer' : 'binds in one shader';
      throw new WebgpuError(
        'TENSOR_TOO_LARGE',
        `${name} [${shape.join(', ')}] is ${mib(bytes)}, more than this GPU ${what} (${limitName} ${mib(limit)} on ${limits.name}); train with --light (its MLP is global-pooled), a smaller --img-size or --ngf, or on wasm`,
        { name, shape: [...shape], bytes, limit, limitName },
      );
    }
  }
}
