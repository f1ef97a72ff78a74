import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { create, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  decodeModel,
  encodeModel,
  metadataAppendix,
  readModelMetadata,
  readOnnxHeader,
  TensorDataType,
  tensorValueInfo,
  type ModelInit,
} from '../../src/onnx/proto.ts';
import { ModelProtoSchema } from '../../src/onnx/schema/onnx_pb.ts';
import { repoRoot } from '../helpers/models.ts';

const schemaDir = path.join(repoRoot, 'src/onnx/schema');

/** A small model with every part encodeModel treats specially: raw-data and typed-data initializers. */
function sampleModel(): ModelInit {
  return {
    irVersion: 10n,
    producerName: 'codec-test',
    opsetImport: [{ domain: '', version: 21n }],
    metadataProps: [
      { key: 'direction', value: 'a2b' },
      { key: 'version', value: 'old' },
      { key: 'version', value: 'new' },
    ],
    graph: {
      name: 'g',
      node: [{ opType: 'Add', input: ['input', 'w'], output: ['output'], name: 'add' }],
      initializer: [
        { name: 'w', dims: [1n, 3n, 2n, 2n], dataType: TensorDataType.FLOAT, rawData: new Uint8Array(new Float32Array(12).map((_, i) => i / 3).buffer) },
        { name: 'shape', dims: [2n], dataType: TensorDataType.INT64, int64Data: [-1n, 12n] },
        { name: 'empty', dims: [0n], dataType: TensorDataType.FLOAT, rawData: new Uint8Array(0) },
      ],
      input: [tensorValueInfo('input', TensorDataType.FLOAT, ['N', 3, null, 2])],
      output: [tensorValueInfo('output', TensorDataType.FLOAT, ['N', 3, 2, 2])],
    },
  };
}

describe('the vendored schema and the generated codec', () => {
  it('onnx.proto is onnx v1.22.0 onnx/onnx.proto, unchanged (its git blob hash)', () => {
    const bytes = readFileSync(path.join(schemaDir, 'onnx.proto'));
    const blob = createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
    expect(blob).toBe('d1f5dcd92543a661a4d5af9b81e5e68cf9be320b');
  });

  it('onnx_pb.ts is exactly what `npm run gen:onnx` generates from it now', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'gen-onnx-'));
    try {
      execFileSync(path.join(repoRoot, 'node_modules/.bin/buf'), ['generate', '--template', 'src/onnx/schema/buf.gen.yaml', '--output', out], {
        cwd: repoRoot,
        stdio: 'pipe',
      });
      const fresh = readFileSync(path.join(out, 'src/onnx/schema/onnx_pb.ts'), 'utf8');
      expect(fresh === readFileSync(path.join(schemaDir, 'onnx_pb.ts'), 'utf8'), 'onnx_pb.ts is stale or hand-edited: run npm run gen:onnx').toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('encodeModel', () => {
  it('encodes the same message as the library would, with the raw weights intact', () => {
    const init = sampleModel();
    const sut = decodeModel(encodeModel(init));
    const library = fromBinary(ModelProtoSchema, toBinary(ModelProtoSchema, create(ModelProtoSchema, init)));
    expect(equals(ModelProtoSchema, sut, library)).toBe(true);
    const w = sut.graph!.initializer[0];
    expect(Array.from(new Float32Array(w.rawData.slice().buffer))).toEqual(Array.from(new Float32Array(12).map((_, i) => i / 3)));
    expect(sut.graph!.initializer[1].int64Data).toEqual([-1n, 12n]);
  });

  it('encodes a decoded message as it is (a round trip changes nothing)', () => {
    const first = decodeModel(encodeModel(sampleModel()));
    first.metadataProps = [];
    const second = decodeModel(encodeModel(first));
    expect(equals(ModelProtoSchema, first, second)).toBe(true);
    expect(second.metadataProps).toEqual([]);
    expect(second.graph!.initializer.map((t) => t.name)).toEqual(['w', 'shape', 'empty']);
  });

  it('encodes a model without a graph', () => {
    expect(decodeModel(encodeModel({ producerName: 'x' })).graph).toBeUndefined();
  });
});

describe('readOnnxHeader', () => {
  it('reads metadata (a later entry wins), and inputs and outputs with fixed, symbolic and unknown dims', () => {
    const sut = readOnnxHeader(encodeModel(sampleModel()));
    expect(sut.metadata).toEqual({ direction: 'a2b', version: 'new' });
    expect(sut.inputs).toEqual([{ name: 'input', elemType: TensorDataType.FLOAT, shape: ['N', 3, '?', 2] }]);
    expect(sut.outputs).toEqual([{ name: 'output', elemType: TensorDataType.FLOAT, shape: ['N', 3, 2, 2] }]);
  });

  it('sees entries appended after encoding, as protobuf merges concatenated messages', () => {
    const stamped = Buffer.concat([encodeModel(sampleModel()), metadataAppendix({ version: 'stamped', verify: 'ok' })]);
    expect(readOnnxHeader(stamped).metadata).toEqual({ direction: 'a2b', version: 'stamped', verify: 'ok' });
  });

  it('reports a value that is not a tensor with element type 0 and no shape, and a tensor without shape with null', () => {
    const sut = readOnnxHeader(
      encodeModel({
        graph: {
          input: [{ name: 'seq', type: { value: { case: 'sequenceType', value: {} } } }],
          output: [{ name: 'any', type: { value: { case: 'tensorType', value: { elemType: TensorDataType.INT64 } } } }],
        },
      }),
    );
    expect(sut.inputs).toEqual([{ name: 'seq', elemType: 0, shape: null }]);
    expect(sut.outputs).toEqual([{ name: 'any', elemType: TensorDataType.INT64, shape: null }]);
  });

  it('refuses bytes that are not protobuf', () => {
    expect(() => readOnnxHeader(Buffer.from('not a model at all'))).toThrow(/illegal tag/);
  });

  it('refuses a truncated model', () => {
    const bytes = encodeModel(sampleModel());
    expect(() => readOnnxHeader(bytes.subarray(0, bytes.byteLength - 20))).toThrow(/premature EOF/);
  });

  it('refuses a message with no graph', () => {
    expect(() => readOnnxHeader(metadataAppendix({ direction: 'a2b' }))).toThrow('no graph in the file (not an ONNX model?)');
  });
});

describe('readModelMetadata', () => {
  it('reads metadata only, with or without a graph', () => {
    expect(readModelMetadata(encodeModel(sampleModel()))).toEqual({ direction: 'a2b', version: 'new' });
    expect(readModelMetadata(metadataAppendix({ a: '1' }))).toEqual({ a: '1' });
  });

  it('refuses bytes that are not protobuf', () => {
    expect(() => readModelMetadata(Buffer.from('not a model at all'))).toThrow(/illegal tag/);
  });
});
