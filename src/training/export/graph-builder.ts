/**
 * A small builder for ONNX graphs on the official protobuf schema (the `onnx-proto` package, encoded with
 * protobufjs). It knows nothing about U-GAT-IT: it hands out unique tensor names, records nodes with
 * explicitly typed attributes, stores initializers as little-endian raw bytes, and encodes a ModelProto.
 */
import { endianness } from 'node:os';
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;

/** ONNX tensor element types used here (values of `TensorProto.DataType`). */
export const DataType = {
  FLOAT: 1,
  INT64: 7,
  FLOAT16: 10,
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

const AttrType = onnx.AttributeProto.AttributeType;

function encodeAttr(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  switch (a.type) {
    case 'int':
      return { name, type: AttrType.INT, i: a.value };
    case 'ints':
      return { name, type: AttrType.INTS, ints: a.value };
    case 'float':
      return { name, type: AttrType.FLOAT, f: a.value };
    case 'floats':
      return { name, type: AttrType.FLOATS, floats: a.value };
    case 'string':
      return { name, type: AttrType.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function valueInfo(name: string, elemType: DataTypeValue, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})),
        },
      },
    },
  };
}

/** Bytes of a typed array, viewed without copying (the machine must be little-endian, as ONNX raw_data is). */
function rawBytes(data: Float32Array | BigInt64Array | Uint16Array): Uint8Array {
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
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
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
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Declare a graph output; `from` is renamed to `name` through an Identity node when the names differ. */
  output(name: string, from: string, elemType: DataTypeValue, dims: Dim[]): void {
    if (from !== name) {
      this.claim(name);
      this.nodes.push({ opType: 'Identity', input: [from], output: [name], name: `${name}_identity` });
    }
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Add a float32 initializer (data copied by reference; do not mutate it afterwards). */
  initializer(name: string, dims: readonly number[], data: Float32Array): string {
    return this.addInitializer(name, dims, DataType.FLOAT, rawBytes(data));
  }

  /** Add a float16 initializer from IEEE half bit patterns. */
  initializerF16(name: string, dims: readonly number[], bits: Uint16Array): string {
    return this.addInitializer(name, dims, DataType.FLOAT16, rawBytes(bits));
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
    const model: onnxProto.onnx.IModelProto = {
      irVersion: opts.irVersion,
      producerName: opts.producerName,
      producerVersion: opts.producerVersion,
      docString: opts.docString ?? '',
      opsetImport: [{ domain: '', version: opts.opsetVersion }],
      metadataProps: metadataEntries(opts.metadata),
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    return onnx.ModelProto.encode(model).finish();
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
    this.initializers.push({ name, dims: [...dims], dataType, rawData: raw });
  }
}

function metadataEntries(metadata: Record<string, string>): onnxProto.onnx.IStringStringEntryProto[] {
  return Object.entries(metadata).map(([key, value]) => ({ key, value }));
}

/**
 * Bytes that, appended to an encoded ModelProto, add these metadata_props entries. Protobuf merges
 * concatenated messages and appends repeated fields, so a model can be verified first and then stamped
 * with its measured results without encoding its (possibly 1 GB) graph a second time.
 */
export function metadataAppendix(metadata: Record<string, string>): Uint8Array {
  return onnx.ModelProto.encode({ metadataProps: metadataEntries(metadata) }).finish();
}

/**
 * Read `metadata_props` of an encoded ModelProto without decoding its graph: walks the top-level fields
 * and skips everything but field 14 (metadata_props). Later entries win over earlier ones with the same key.
 */
export function readModelMetadata(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const reader = new ProtoReader(bytes);
  while (!reader.done()) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 14 && wire === 2) {
      const len = reader.varint();
      const entry = onnx.StringStringEntryProto.decode(bytes.subarray(reader.pos, reader.pos + len));
      out[entry.key] = entry.value;
      reader.pos += len;
    } else {
      reader.skip(wire);
    }
  }
  return out;
}

/** Minimal protobuf wire reader for top-level field walking (varints up to 2^53). */
class ProtoReader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  done(): boolean {
    return this.pos >= this.bytes.length;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.bytes.length) throw new Error('truncated protobuf varint');
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const len = this.varint(); // read first: `this.pos += this.varint()` would add to the stale position
      this.pos += len;
    }
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (this.pos > this.bytes.length) throw new Error('truncated protobuf message');
  }
}
