import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { ExportError } from '../../src/training/training.errors.ts';
import { float32ToHalf, fromHalfBits, toHalfBits } from '../../src/training/export/fp16.ts';
import { buildGeneratorGraph, expectedGeneratorShapes, type GeneratorGraphConfig } from '../../src/training/export/generator-graph.ts';
import { AttributeType, decodeModel, metadataAppendix, readModelMetadata } from '../../src/onnx/proto.ts';
import { attr, DataType, GraphBuilder } from '../../src/training/export/graph-builder.ts';
import { randomGeneratorState, uniformArray } from '../../src/training/export/random-state.ts';
import { runOnnxGenerator } from '../../src/training/export/verify.ts';

const modelOpts = { irVersion: 8, opsetVersion: 17, producerName: 'test', producerVersion: '0', metadata: { direction: 'a2b' } };
const lightCfg: GeneratorGraphConfig = { variant: 'pytorch', light: true, ngf: 4, n_blocks: 1, img_size: 32 };
const fullCfg: GeneratorGraphConfig = { ...lightCfg, light: false };

function expectExportError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ExportError);
    expect((err as ExportError).code).toBe(code);
    return;
  }
  throw new Error(`expected ExportError[${code}]`);
}

describe('GraphBuilder', () => {
  it('encodes a model with typed attributes that onnxruntime runs', async () => {
    const sut = new GraphBuilder('tiny');
    const x = sut.input('input', DataType.FLOAT, ['N', 2]);
    const y = sut.op('LeakyRelu', [x], { alpha: attr.float(0.5) });
    sut.output('output', y, DataType.FLOAT, ['N', 2]);
    const session = await ort.InferenceSession.create(sut.toModelBytes(modelOpts));
    const res = await session.run({ input: new ort.Tensor('float32', Float32Array.from([-2, 3]), [1, 2]) });
    expect(Array.from(res.output.data as Float32Array)).toEqual([-1, 3]);
    await session.release();
  });

  it('writes the epsilon-like float attributes with type FLOAT even when integral', () => {
    const sut = new GraphBuilder('g');
    const x = sut.input('x', DataType.FLOAT, [1]);
    sut.output('y', sut.op('LeakyRelu', [x], { alpha: attr.float(1) }), DataType.FLOAT, [1]);
    const decoded = decodeModel(sut.toModelBytes(modelOpts));
    const a = decoded.graph!.node[0].attribute[0];
    expect(a.type).toBe(AttributeType.FLOAT);
    expect(a.f).toBe(1);
  });

  it('refuses to reuse a tensor name', () => {
    const sut = new GraphBuilder('g');
    sut.initializer('w', [1], Float32Array.from([1]));
    expect(() => sut.initializer('w', [1], Float32Array.from([2]))).toThrow(/already used/);
  });

  it('shares identical constants instead of duplicating them', () => {
    const sut = new GraphBuilder('g');
    expect(sut.constI64([1, 2])).toBe(sut.constI64([1, 2]));
    expect(sut.constI64([1, 2])).not.toBe(sut.constI64([2, 1]));
  });
});

describe('readModelMetadata', () => {
  it('reads metadata_props, including entries appended after encoding', () => {
    const sut = new GraphBuilder('g');
    const x = sut.input('x', DataType.FLOAT, [1]);
    sut.output('y', sut.op('Relu', [x]), DataType.FLOAT, [1]);
    const base = sut.toModelBytes({ ...modelOpts, metadata: { direction: 'a2b', version: 'v1' } });
    const stamped = Buffer.concat([base, metadataAppendix({ verify_max_abs_diff: '1e-6' })]);
    expect(readModelMetadata(stamped)).toEqual({ direction: 'a2b', version: 'v1', verify_max_abs_diff: '1e-6' });
    // the official decoder agrees: protobuf merges concatenated messages
    const decoded = decodeModel(stamped);
    expect(decoded.metadataProps.map((e) => e.key)).toEqual(['direction', 'version', 'verify_max_abs_diff']);
    expect(decoded.graph!.node.map((n) => n.opType)).toEqual(['Relu', 'Identity']);
  });
});

describe('toHalfBits', () => {
  it('encodes exact values, rounds ties to even and saturates to infinity', () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(65504)).toBe(0x7bff);
    expect(toHalfBits(70000)).toBe(0x7c00);
    expect(toHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toHalfBits(2 ** -25)).toBe(0x0000); // tie → even (zero)
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
  });

  it('round-trips random values within half precision', () => {
    const data = uniformArray(10_000, 3, -4, 4);
    const halves = float32ToHalf(data);
    for (let i = 0; i < data.length; i++) {
      expect(Math.abs(fromHalfBits(halves[i]) - data[i])).toBeLessThanOrEqual(Math.abs(data[i]) * 2 ** -11 + 2 ** -25);
    }
  });
});

describe('buildGeneratorGraph', () => {
  it('lists every official generator parameter with its PyTorch shape', () => {
    const sut = expectedGeneratorShapes({ variant: 'pytorch', light: false, ngf: 64, n_blocks: 4, img_size: 256 });
    let params = 0;
    for (const shape of sut.values()) params += shape.reduce((a, b) => a * b, 1);
    expect(params).toBe(278_959_808); // ugatit.md §5, full generator
    expect(sut.get('FC.0.weight')).toEqual([256, 64 * 64 * 256]);
    const light = expectedGeneratorShapes({ variant: 'pytorch', light: true, ngf: 64, n_blocks: 4, img_size: 256 });
    params = 0;
    for (const shape of light.values()) params += shape.reduce((a, b) => a * b, 1);
    expect(params).toBe(10_589_888);
  });

  it('builds a full model whose outputs follow the generator contract at batch 1 and 3', async () => {
    const { builder } = buildGeneratorGraph(randomGeneratorState(fullCfg, 11), fullCfg);
    const bytes = builder.toModelBytes(modelOpts);
    for (const n of [1, 3]) {
      const sut = await runOnnxGenerator(bytes, uniformArray(n * 3 * 32 * 32, n), [n, 3, 32, 32]);
      expect(sut.dims).toEqual({ output: [n, 3, 32, 32], cam_logit: [n, 2], heatmap: [n, 1, 8, 8] });
      expect(sut.output.every((v) => v > -1 && v < 1)).toBe(true);
    }
  });

  it('declares a dynamic batch axis, and dynamic H/W only in light mode', () => {
    const dims = (cfg: GeneratorGraphConfig) => {
      const type = decodeModel(buildGeneratorGraph(randomGeneratorState(cfg), cfg).builder.toModelBytes(modelOpts)).graph!.input[0].type!.value;
      if (type.case !== 'tensorType') throw new Error(`input is a ${type.case}, not a tensor`);
      return type.value.shape!.dim.map((d) => (d.value.case === 'dimParam' ? d.value.value : Number(d.value.value)));
    };
    expect(dims(lightCfg)).toEqual(['N', 3, 'H', 'W']);
    expect(dims(fullCfg)).toEqual(['N', 3, 32, 32]);
  });

  it('runs a light model at other sizes that are multiples of 4', async () => {
    const { builder } = buildGeneratorGraph(randomGeneratorState(lightCfg, 5), lightCfg);
    const bytes = builder.toModelBytes(modelOpts);
    for (const [h, w] of [
      [48, 48],
      [40, 56],
    ]) {
      const sut = await runOnnxGenerator(bytes, uniformArray(2 * 3 * h * w, h + w), [2, 3, h, w]);
      expect(sut.dims).toEqual({ output: [2, 3, h, w], cam_logit: [2, 2], heatmap: [2, 1, h / 4, w / 4] });
    }
  });

  it('keeps each sample independent of the rest of the batch', async () => {
    const { builder } = buildGeneratorGraph(randomGeneratorState(lightCfg, 9), lightCfg);
    const bytes = builder.toModelBytes(modelOpts);
    const per = 3 * 32 * 32;
    const batch = uniformArray(2 * per, 77);
    const both = await runOnnxGenerator(bytes, batch, [2, 3, 32, 32]);
    const second = await runOnnxGenerator(bytes, batch.slice(per), [1, 3, 32, 32]);
    const diff = Math.max(...Array.from(second.output, (v, i) => Math.abs(v - both.output[per + i])));
    expect(diff).toBeLessThan(1e-6);
  });

  it('stores fp16 weights as FLOAT16 initializers with float32 I/O', async () => {
    const state = randomGeneratorState(lightCfg, 2);
    const bytes32 = buildGeneratorGraph(state, lightCfg).builder.toModelBytes(modelOpts);
    const bytes16 = buildGeneratorGraph(state, lightCfg, { fp16: true }).builder.toModelBytes(modelOpts);
    const decoded = decodeModel(bytes16);
    const conv = decoded.graph!.initializer.find((t) => t.name === 'DownBlock.1.weight.fp16');
    expect(conv?.dataType).toBe(DataType.FLOAT16);
    expect(bytes16.byteLength).toBeLessThan(bytes32.byteLength * 0.7);
    const input = uniformArray(3 * 32 * 32, 1);
    const a = await runOnnxGenerator(bytes32, input, [1, 3, 32, 32]);
    const b = await runOnnxGenerator(bytes16, input, [1, 3, 32, 32]);
    const diff = Math.max(...Array.from(a.output, (v, i) => Math.abs(v - b.output[i])));
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(5e-2);
  });

  it('rejects a state with a missing weight', () => {
    const state = randomGeneratorState(lightCfg);
    state.delete('UpBlock1_1.norm2.rho');
    expectExportError(() => buildGeneratorGraph(state, lightCfg), 'MISSING_WEIGHT');
  });

  it('rejects a weight of the wrong shape (e.g. a light state exported as full)', () => {
    expectExportError(() => buildGeneratorGraph(randomGeneratorState(lightCfg), fullCfg), 'SHAPE_MISMATCH');
  });

  it('refuses a generator whose weights would not fit in a 2 GiB protobuf, before touching the weights', () => {
    // full mode at 512²: FC.0 alone is 256 × (128·128·256) floats = 4 GiB
    const big: GeneratorGraphConfig = { variant: 'pytorch', light: false, ngf: 64, n_blocks: 4, img_size: 512 };
    expectExportError(() => buildGeneratorGraph(new Map(), big), 'TOO_LARGE');
    expectExportError(() => buildGeneratorGraph(new Map(), big, { fp16: true }), 'TOO_LARGE'); // 2 GiB in fp16 too
  });

  it('rejects the not-yet-built tensorflow variant and sizes that are not multiples of 4', () => {
    const state = randomGeneratorState(lightCfg);
    expectExportError(() => buildGeneratorGraph(state, { ...lightCfg, variant: 'tensorflow' }), 'UNSUPPORTED_VARIANT');
    expectExportError(() => buildGeneratorGraph(state, { ...lightCfg, img_size: 30 }), 'BAD_OPTION');
  });
});
