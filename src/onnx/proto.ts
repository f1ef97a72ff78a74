/**
 * Reads what the model registry needs from an ONNX file without loading it into onnxruntime: the
 * `metadata_props` and the graph's declared inputs and outputs. A minimal protobuf walk over the
 * ModelProto fields we need (onnx.proto3: ModelProto.graph = 7, metadata_props = 14; GraphProto.input = 11,
 * output = 12; ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1; Tensor.elem_type = 1,
 * shape = 2; TensorShapeProto.dim = 1; Dimension.dim_value = 1, dim_param = 2). Weights are skipped.
 */

import type { OnnxHeader, OnnxValueInfo } from '../shared/generator-contract.ts';

export type { OnnxHeader, OnnxValueInfo };

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}

  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * shift;
      if ((b & 0x80) === 0) return result;
      shift *= 128;
    }
    throw new Error('varint too long');
  }

  /** Calls `fn(field, wireType, sub)` for each field; `sub` is a reader over a length-delimited payload. */
  fields(fn: (field: number, wire: number, sub: Reader | null, value: number) => void): void {
    while (this.pos < this.end) {
      const tag = this.varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (wire === 0) fn(field, wire, null, this.varint());
      else if (wire === 1) this.skip(8);
      else if (wire === 5) this.skip(4);
      else if (wire === 2) {
        const len = this.varint();
        if (this.pos + len > this.end) throw new Error('truncated field');
        const sub = new Reader(this.buf, this.pos + len);
        sub.pos = this.pos;
        fn(field, wire, sub, len);
        this.pos += len;
      } else throw new Error(`unsupported wire type ${wire}`);
    }
  }

  skip(n: number): void {
    if (this.pos + n > this.end) throw new Error('truncated field');
    this.pos += n;
  }

  string(): string {
    return new TextDecoder().decode(this.buf.subarray(this.pos, this.end));
  }
}

function readValueInfo(r: Reader): OnnxValueInfo {
  const info: OnnxValueInfo = { name: '', elemType: 0, shape: null };
  r.fields((f, w, sub) => {
    if (f === 1 && sub) info.name = sub.string();
    if (f === 2 && sub) {
      sub.fields((tf, _tw, tensor) => {
        if (tf !== 1 || !tensor) return;
        tensor.fields((ef, _ew, shape, value) => {
          if (ef === 1 && !shape) info.elemType = value;
          if (ef === 2 && shape) {
            info.shape = [];
            shape.fields((df, _dw, dim) => {
              if (df !== 1 || !dim) return;
              let d: number | string = '?';
              dim.fields((xf, _xw, param, v) => {
                if (xf === 1 && !param) d = v;
                if (xf === 2 && param) d = param.string();
              });
              info.shape!.push(d);
            });
          }
        });
      });
    }
    void w;
  });
  return info;
}

/**
 * Parse the header of an ONNX model.
 * @throws Error when the bytes are not a readable ModelProto.
 */
export function readOnnxHeader(buf: Uint8Array): OnnxHeader {
  const header: OnnxHeader = { metadata: {}, inputs: [], outputs: [] };
  let sawGraph = false;
  new Reader(buf).fields((field, _wire, sub) => {
    if (field === 14 && sub) {
      let key = '';
      let value = '';
      sub.fields((f, _w, s) => {
        if (f === 1 && s) key = s.string();
        if (f === 2 && s) value = s.string();
      });
      header.metadata[key] = value;
    }
    if (field === 7 && sub) {
      sawGraph = true;
      sub.fields((f, _w, s) => {
        if (f === 11 && s) header.inputs.push(readValueInfo(s));
        if (f === 12 && s) header.outputs.push(readValueInfo(s));
      });
    }
  });
  if (!sawGraph) throw new Error('no graph in the file (not an ONNX model?)');
  return header;
}
