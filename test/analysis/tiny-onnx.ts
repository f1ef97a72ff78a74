/**
 * Hand-built ONNX files for the eval tests, written with the project's codec (no weights, a few bytes each):
 * - an "identity generator" (output = input) and a "mirror generator" (output = input flipped left to
 *   right) that honour the generator contract, so the eval's metrics can be checked against known
 *   answers: a perfect cycle has identity similarity ≈ 1, a mirrored one slightly less;
 * - a tiny "feature network" (global average pool of a static [1,3,32,32] input → 3 features) standing
 *   in for an Inception ONNX, to exercise the standard-KID path.
 */
import { writeFileSync } from 'node:fs';
import { encodeModel, metadataEntries, TensorDataType, tensorValueInfo, type GraphInit, type NodeInit, type TensorInit } from '../../src/onnx/proto.ts';

type Dim = number | string;

const vi = (name: string, dims: Dim[]) => tensorValueInfo(name, TensorDataType.FLOAT, dims);

function int64(name: string, values: number[]): TensorInit {
  return { name, dataType: TensorDataType.INT64, dims: [BigInt(values.length)], int64Data: values.map(BigInt) };
}

function write(dst: string, graph: GraphInit, metadata: Record<string, string>): string {
  const model = encodeModel({
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    producerName: 'webtoonfaces-test',
    graph,
    metadataProps: metadataEntries(metadata),
  });
  writeFileSync(dst, model);
  return dst;
}

/** A generator whose output is its input (`mirror`: flipped left to right). */
export function writeTrivialGenerator(dst: string, opts: { direction: 'a2b' | 'b2a'; imgSize: number; version: string; mirror?: boolean }): string {
  const s = opts.imgSize;
  const node: NodeInit[] = opts.mirror
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
