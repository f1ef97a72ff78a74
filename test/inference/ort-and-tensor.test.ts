import { describe, expect, it } from 'vitest';
import { blazeFaceModelPath } from '../../src/inference/blazeface.detector.ts';
import { ConfigError } from '../../src/errors.ts';
import { createModel, providerFailures, resolveProviders, SUPPORTED_DEVICES } from '../../src/onnx/runtime.ts';
import { blendHeatmap, denormalize, fromNchw, jet, minMaxToUint8, normalize, toNchwBatch, toNhwc } from '../../src/inference/tensor.ts';
import type { RawImage } from '../../src/media/media.ts';

describe('resolveProviders', () => {
  it('maps device names to execution providers in order', () => {
    expect(resolveProviders(['cuda', 'cpu'])).toEqual(['cuda', 'cpu']);
    expect(resolveProviders(['CPU'])).toEqual(['cpu']);
  });

  it('throws for an unknown name, listing the valid ones', () => {
    expect(() => resolveProviders(['gpu'])).toThrow(ConfigError);
    expect(() => resolveProviders(['gpu'])).toThrow(/Unknown execution provider "gpu" in ORT_PROVIDERS; valid: cuda, cpu/);
  });

  it('throws for a known but unsupported provider', () => {
    expect(() => resolveProviders(['tensorrt'])).toThrow(/"tensorrt" is not supported by this build; valid: cuda, cpu/);
    expect(() => resolveProviders(['dml'])).toThrow(/not supported/);
    expect(SUPPORTED_DEVICES).toEqual(['cuda', 'cpu']);
  });
});

describe('createModel', () => {
  it('falls back from CUDA to CPU when CUDA cannot load, remembering why once', async () => {
    const sut = await createModel(blazeFaceModelPath('front'), { devices: ['cuda', 'cpu'], threads: 1 });
    try {
      // No CUDA libraries on the test machines: the session runs on the CPU and the reason is kept.
      expect(sut.provider).toBe('cpu');
      expect(providerFailures().get('cuda')).toMatch(/Failed to load|cuda/i);
      const again = await createModel(blazeFaceModelPath('front'), { devices: ['cuda', 'cpu'], threads: 1 });
      expect(again.provider).toBe('cpu');
      await again.dispose();
    } finally {
      await sut.dispose();
    }
  });

  it('reports the model signature', async () => {
    const sut = await createModel(blazeFaceModelPath('back'), { devices: ['cpu'], threads: 1 });
    expect(sut.signature('input:0')).toEqual({ type: 'float32', shape: [1, 256, 256, 3] });
    expect(sut.signature('nope')).toBeUndefined();
    await sut.dispose();
  });
});

const img = (w: number, h: number, f: (i: number) => number): RawImage => ({
  data: Buffer.from(Array.from({ length: w * h * 3 }, (_, i) => f(i))),
  width: w,
  height: h,
  channels: 3,
});

describe('normalize / denormalize', () => {
  it('maps 0..255 to -1..1 and back, clamping out-of-range values', () => {
    expect(normalize(0)).toBe(-1);
    expect(normalize(255)).toBe(1);
    expect(normalize(127.5)).toBe(0);
    expect(denormalize(-1)).toBe(0);
    expect(denormalize(1)).toBe(255);
    expect(denormalize(3)).toBe(255);
    expect(denormalize(-3)).toBe(0);
    for (let p = 0; p < 256; p++) expect(denormalize(normalize(p))).toBe(p);
  });
});

describe('toNchwBatch / fromNchw', () => {
  it('stacks HWC images into NCHW planes and round-trips exactly', () => {
    const a = img(3, 2, (i) => (i * 7) % 256);
    const b = img(3, 2, (i) => (i * 13 + 5) % 256);
    const { data, dims } = toNchwBatch([a, b]);
    expect(dims).toEqual([2, 3, 2, 3]);
    // Image 1, green plane, pixel (x=1, y=0) = HWC index 3*1+1.
    expect(data[1 * 18 + 6 + 1]).toBeCloseTo(normalize(b.data[4]), 6);
    expect(fromNchw(data, 0, 2, 3).data).toEqual(a.data);
    expect(fromNchw(data, 1, 2, 3).data).toEqual(b.data);
  });

  it('refuses images of different sizes', () => {
    expect(() => toNchwBatch([img(2, 2, () => 0), img(3, 2, () => 0)])).toThrow(/image 1 is 3×2, expected 2×2/);
  });

  it('builds NHWC for BlazeFace', () => {
    const t = toNhwc(img(2, 1, (i) => i * 50));
    expect(t.dims).toEqual([1, 1, 2, 3]);
    expect(t.data[5]).toBeCloseTo(normalize(250), 6);
  });
});

describe('minMaxToUint8', () => {
  it('stretches a map to 0..255 and maps a constant map to zeros', () => {
    expect([...minMaxToUint8(new Float32Array([-2, 0, 2]))]).toEqual([0, 128, 255]);
    expect([...minMaxToUint8(new Float32Array([5, 5]))]).toEqual([0, 0]);
  });
});

describe('jet', () => {
  it('goes dark blue → cyan → yellow → dark red like OpenCV COLORMAP_JET', () => {
    expect(jet(0)).toEqual([0, 0, 128]);
    expect(jet(255)).toEqual([128, 0, 0]);
    const mid = jet(128);
    expect(mid[1]).toBeGreaterThan(200); // green dominates in the middle
  });
});

describe('blendHeatmap', () => {
  it('mixes the JET colour of each map value with the image at alpha', () => {
    const white = img(2, 1, () => 255);
    const sut = blendHeatmap(white, new Uint8Array([0, 255]), 0.5);
    expect([...sut.data]).toEqual([128, 128, 192, 192, 128, 128]);
  });
});
