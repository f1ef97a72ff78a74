/**
 * Hand-built ONNX files for the eval tests, written with onnx-proto (no weights, a few bytes each):
 * - an "identity generator" (output = input) and a "mirror generator" (output = input flipped left to
 *   right) that honour the generator contract, so the eval's metrics can be checked against known
 *   answers: a perfect cycle has identity similarity ≈ 1, a mirrored one slightly less;
 * - a tiny "feature network" (global average pool of a static [1,3,32,32] input → 3 features) standing
 *   in for an Inception ONNX, to exercise the standard-KID path.
 */
import { writeFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Dim = number | string;

function vi(name: string, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function int64(name: string, values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], int64Data: values };
}

function write(dst: string, graph: onnxProto.onnx.IGraphProto, metadata: Record<string, string>): string {
  const model = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'webtoonfaces-test',
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  }).finish();
  writeFileSync(dst, model);
  return dst;
}

/** A generator whose output is its input (`mirror`: flipped left to right). */
export function writeTrivialGenerator(dst: string, opts: { direction: 'a2b' | 'b2a'; imgSize: number; version: string; mirror?: boolean }): string {
  const s = opts.imgSize;
  const node: onnxProto.onnx.INodeProto[] = opts.mirror
    ? [{ opType: 'Slice', input: ['input', 'starts', 'ends', 'axes', 'steps'], output: ['output'], name: 'mirror' }]
    : [{ opType: 'Identity', input: ['input'], output: ['output'], name: 'identity' }];
  return write(
    dst,
    {
      name: opts.mirror ? 'mirror' : 'identity',
      node,
      initializer: opts.mirror ? [int64('starts', [-1]), int64('ends', [-(s + 1)]), int64('axes', [3]), int64('steps', [-1])] : [],
      input: [vi('input', ['N', 3, s, s])],
      output: [vi('output', ['N', 3, s, s])],
    },
    { direction: opts.direction, img_size: String(s), version: opts.version, variant: 'pytorch', light: 'true' },
  );
}

/** A 3-feature "Inception" stand-in: global average pool of a [1,3,32,32] RGB input. */
export function writeTinyFeatureNet(dst: string): string {
  return write(
    dst,
    {
      name: 'features',
      node: [
        { opType: 'GlobalAveragePool', input: ['image'], output: ['pooled'], name: 'pool' },
        { opType: 'Flatten', input: ['pooled'], output: ['features'], name: 'flatten' },
      ],
      input: [vi('image', [1, 3, 32, 32])],
      output: [vi('features', [1, 3])],
    },
    {},
  );
}
