/**
 * PyTorch's default initialisers, on plain arrays in PyTorch layout, so a freshly built network looks
 * like a freshly built official one (same distributions, not the same draws).
 */
import type { NamedTensor } from '../tensors.ts';
import type { Rng } from './rng.ts';

function size(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** fan_in of a conv `[out,in,kh,kw]` or Linear `[out,in]` weight: everything but the first dim. */
export function fanIn(shape: readonly number[]): number {
  return size(shape.slice(1));
}

/** Uniform(-bound, bound) in the given shape. */
export function uniformTensor(shape: number[], bound: number, rng: Rng): NamedTensor {
  const data = new Float32Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = (rng.uniform() * 2 - 1) * bound;
  return { shape, data };
}

/**
 * `kaiming_uniform_(w, a=√5)`, PyTorch's default for Conv2d and Linear weights:
 * gain = √(2/(1+a²)) = √(1/3), bound = gain·√(3/fan_in) = 1/√fan_in.
 */
export function kaimingUniformA5(shape: number[], rng: Rng): NamedTensor {
  return uniformTensor(shape, 1 / Math.sqrt(fanIn(shape)), rng);
}

/** PyTorch's default conv/Linear bias: Uniform(±1/√fan_in) with the weight's fan_in. */
export function defaultBias(outChannels: number, weightFanIn: number, rng: Rng): NamedTensor {
  return uniformTensor([outChannels], 1 / Math.sqrt(weightFanIn), rng);
}

/** A constant tensor (ρ, γ, β initial values). */
export function constantTensor(shape: number[], value: number): NamedTensor {
  return { shape, data: new Float32Array(size(shape)).fill(value) };
}

/** Spectral norm's initial u or v: a standard normal vector scaled to unit length (eps 1e-12). */
export function unitNormalVector(length: number, rng: Rng): NamedTensor {
  const data = new Float32Array(length);
  let sq = 0;
  for (let i = 0; i < length; i++) {
    data[i] = rng.normal();
    sq += data[i] * data[i];
  }
  const norm = Math.max(Math.sqrt(sq), 1e-12);
  for (let i = 0; i < length; i++) data[i] /= norm;
  return { shape: [length], data };
}
