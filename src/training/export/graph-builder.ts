/**
 * A small builder for ONNX graphs, encoded by the project's one ONNX codec (`src/onnx/proto.ts`, generated
 * from the official onnx.proto). It knows nothing about U-GAT-IT: it hands out unique tensor names, records
 * nodes with explicitly typed attributes, stores initializers as little-endian raw bytes, and encodes a
 * ModelProto.
 */
import { endianness } from 'node:os';
import {
  AttributeType,
  encodeModel,
  metadataEntries,
  TensorDataType,
  tensorValueInfo,
  type AttributeInit,
  type NodeInit,
  type TensorInit,
  type ValueInfoInit,
} from '../../onnx/proto.ts';

/** ONNX tensor element types used here (values of `TensorProto.DataType`). */
export const DataType = {
  FLOAT: TensorDataType.FLOAT,
  UINT8: TensorDataType.UINT8,
  INT8: TensorDataType.INT8,
  INT32: TensorDataType.INT32,
  INT64: TensorDataType.INT64,
  FLOAT16: TensorDataType.FLOAT16,
} as const;
export type DataTypeValue = (typeof DataType)[keyof typeof DataType];

/** An attribute value with its ONNX type spelled out (ONNX rejects an `epsilon` sent as INT). */
export type Attr =
  | { type: 'int'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'float'; value: number }
  | { type: 'floats'; value: number[] }
  | { type: 'string'; value: string };

/** A dimension of a graph input/output: a fixed size, a symbolic name, or unknown (`null`). */
export type Dim = number | string | null;

/** Shorthand constructors for typed attributes. */
export const attr = {
  int: (value: number): Attr => ({ type: 'int', value }),
  ints: (value: number[]): Attr => ({ type: 'ints', value }),
  float: (value: number): Attr => ({ type: 'float', value }),
  floats: (value: number[]): Attr => ({ type: 'floats', value }),
  string: (value: string): Attr => ({ type: 'string', value }),
};

function encodeAttr(name: string, a: Attr): AttributeInit {
  switch (a.type) {
    case 'int':
      return { name, type: AttributeType.INT, i: BigInt(a.value) };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: a.value.map(BigInt) };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: a.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.value) };
  }
}

/** Bytes of a typed array, viewed without copying (the machine must be little-endian, as ONNX raw_data is). */
function rawBytes(data: Float32Array | BigInt64Array | Uint16Array | Int32Array | Int8Array | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Options for {@link GraphBuilder.toModelBytes}. */
export interface ModelOptions {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata: Record<string, string>;
}

/**
 * Accumulates one ONNX graph. Node outputs get fresh names from {@link GraphBuilder.node}; initializers keep
 * the names they are given (so an exported weight keeps its official PyTorch name).
 */
export class GraphBuilder {
  private readonly nodes: NodeInit[] = [];
  private readonly initializers: TensorInit[] = [];
  private readonly inputs: ValueInfoInit[] = [];
  private readonly outputs: ValueInfoInit[] = [];
  private readonly names = new Set<string>();
  private readonly constCache = new Map<string, string>();
  private counter = 0;

  constructor(readonly graphName: string) {
    if (endianness() !== 'LE') throw new Error('ONNX export needs a little-endian machine (raw_data is little-endian)');
  }

  /** Total bytes of initializer data added so far. */
  get initializerBytes(): number {
    return this.initializers.reduce((s, t) => s + (t.rawData?.byteLength ?? 0), 0);
  }

  /** Number of nodes added so far. */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Reserve a unique tensor name starting with `hint`. */
  fresh(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** Declare a graph input. */
  input(name: string, elemType: DataTypeValue, dims: Dim[]): string {
    this.claim(name);
    this.inputs.push(tensorValueInfo(name, elemType, dims));
    return name;
  }

  /** Declare a graph output; `from` is renamed to `name` through an Identity node when the names differ. */
  output(name: string, from: string, elemType: DataTypeValue, dims: Dim[]): void {
    if (from !== name) {
      this.claim(name);
      this.nodes.push({ opType: 'Identity', input: [from], output: [name], name: `${name}_identity` });
    }
    this.outputs.push(tensorValueInfo(name, elemType, dims));
  }

  /** Add a float32 initializer (data copied by reference; do not mutate it afterwards). */
  initializer(name: string, dims: readonly number[], data: Float32Array): string {
    return this.addInitializer(name, dims, DataType.FLOAT, rawBytes(data));
  }

  /** Add a float16 initializer from IEEE half bit patterns. */
  initializerF16(name: string, dims: readonly number[], bits: Uint16Array): string {
    return this.addInitializer(name, dims, DataType.FLOAT16, rawBytes(bits));
  }

  /** Add an int8, uint8 or int32 initializer (quantised weights, zero points, int32 biases). */
  initializerInt(name: string, dims: readonly number[], data: Int8Array | Uint8Array | Int32Array): string {
    const type = data instanceof Int8Array ? DataType.INT8 : data instanceof Uint8Array ? DataType.UINT8 : DataType.INT32;
    return this.addInitializer(name, dims, type, rawBytes(data));
  }

  /** Add an int64 initializer. */
  initializerI64(name: string, dims: readonly number[], values: readonly number[]): string {
    return this.addInitializer(name, dims, DataType.INT64, rawBytes(BigInt64Array.from(values.map((v) => BigInt(v)))));
  }

  /** A shared int64 constant (1-D), created once per distinct value list. */
  constI64(values: readonly number[], hint = 'const_i64'): string {
    const key = `i64:${values.join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.fresh(hint);
      this.pushInitializer(name, [values.length], DataType.INT64, rawBytes(BigInt64Array.from(values.map((v) => BigInt(v)))));
      this.constCache.set(key, name);
    }
    return name;
  }

  /** A shared float32 constant of the given shape, created once per distinct shape and values. */
  constF32(dims: readonly number[], values: readonly number[], hint = 'const_f32'): string {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.fresh(hint);
      this.pushInitializer(name, dims, DataType.FLOAT, rawBytes(Float32Array.from(values)));
      this.constCache.set(key, name);
    }
    return name;
  }

  /**
   * Add a node. Returns the names of its outputs (fresh names built from `outHint`, one per output).
   * An empty string in `inputs` marks an omitted optional input.
   */
  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outHint = opType, nOutputs = 1): string[] {
    const output = Array.from({ length: nOutputs }, (_, i) => this.fresh(nOutputs === 1 ? outHint : `${outHint}_${i}`));
    this.nodes.push({
      opType,
      name: `${output[0]}_node`,
      input: inputs,
      output,
      attribute: Object.entries(attrs).map(([k, v]) => encodeAttr(k, v)),
    });
    return output;
  }

  /** Single-output shorthand for {@link GraphBuilder.node}. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outHint = opType): string {
    return this.node(opType, inputs, attrs, outHint, 1)[0];
  }

  /** Encode the graph as a ModelProto. */
  toModelBytes(opts: ModelOptions): Uint8Array {
    return encodeModel({
      irVersion: BigInt(opts.irVersion),
      producerName: opts.producerName,
      producerVersion: opts.producerVersion,
      docString: opts.docString ?? '',
      opsetImport: [{ domain: '', version: BigInt(opts.opsetVersion) }],
      metadataProps: metadataEntries(opts.metadata),
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX tensor name "${name}" is already used`);
    this.names.add(name);
  }

  private addInitializer(name: string, dims: readonly number[], dataType: DataTypeValue, raw: Uint8Array): string {
    this.claim(name);
    this.pushInitializer(name, dims, dataType, raw);
    return name;
  }

  private pushInitializer(name: string, dims: readonly number[], dataType: DataTypeValue, raw: Uint8Array): void {
    this.initializers.push({ name, dims: dims.map(BigInt), dataType, rawData: raw });
  }
}
