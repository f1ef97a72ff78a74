/**
 * safetensors read/write (own implementation of the format): 8-byte little-endian header length, a JSON
 * header `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: { string: string } }`
 * padded with spaces to 8 bytes, then the raw little-endian tensor bytes. F32 round-trips bit-exactly;
 * F16 can be written (for fp16 exports) and F16/BF16/F64 are converted to float32 on read.
 * File functions read and write tensor by tensor, so multi-GB files never need one big buffer.
 */
import { open } from 'node:fs/promises';
import { CheckpointError } from './training.errors.ts';
import { atomicWrite } from '../shared/atomic-write.ts';
import { numel, type NamedTensor } from './tensors.ts';

/** Element types this module understands. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** A decoded safetensors file: tensors (as float32) in file order, their stored dtypes, and the metadata. */
export interface SafetensorsContent {
  tensors: Map<string, NamedTensor>;
  dtypes: Map<string, SafetensorsDtype>;
  metadata: Record<string, string>;
}

/** Options for writing. */
export interface SafetensorsWriteOptions {
  /** String-to-string metadata stored under `__metadata__`. */
  metadata?: Record<string, string>;
  /** Element type to store (default F32; F16 rounds to nearest even). */
  dtype?: 'F32' | 'F16';
}

interface HeaderEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data_offsets: [number, number];
}

function checkName(name: string): void {
  if (name === '__metadata__' || name.length === 0) {
    throw new CheckpointError('CORRUPT', `tensor name ${JSON.stringify(name)} is reserved or empty`, { tensor: name });
  }
}

function buildHeader(tensors: Map<string, NamedTensor>, opts: SafetensorsWriteOptions): { header: Buffer; entries: [string, NamedTensor][]; dataBytes: number } {
  const dtype = opts.dtype ?? 'F32';
  const json: Record<string, unknown> = {};
  if (opts.metadata && Object.keys(opts.metadata).length > 0) {
    for (const [k, v] of Object.entries(opts.metadata)) {
      if (typeof v !== 'string') throw new CheckpointError('CORRUPT', `safetensors metadata ${k} must be a string`, { key: k });
    }
    json.__metadata__ = opts.metadata;
  }
  let offset = 0;
  const entries = [...tensors.entries()];
  for (const [name, t] of entries) {
    checkName(name);
    if (!(t.data instanceof Float32Array) || t.data.length !== numel(t.shape)) {
      throw new CheckpointError('SHAPE_MISMATCH', `tensor ${name} has ${t.data?.length} values for shape [${t.shape}]`, { tensor: name, shape: t.shape });
    }
    const bytes = t.data.length * DTYPE_BYTES[dtype];
    json[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let text = JSON.stringify(json);
  text += ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8); // keep the data 8-byte aligned
  const body = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8 + body.length);
  header.writeBigUInt64LE(BigInt(body.length), 0);
  body.copy(header, 8);
  return { header, entries, dataBytes: offset };
}

function tensorBytes(t: NamedTensor, dtype: 'F32' | 'F16'): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const half = new Uint16Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) half[i] = floatToHalf(t.data[i]);
  return new Uint8Array(half.buffer);
}

/** Encode tensors into a safetensors buffer. */
export function encodeSafetensors(tensors: Map<string, NamedTensor>, opts: SafetensorsWriteOptions = {}): Buffer {
  const { header, entries, dataBytes } = buildHeader(tensors, opts);
  const out = Buffer.alloc(header.length + dataBytes);
  header.copy(out, 0);
  let pos = header.length;
  for (const [, t] of entries) {
    const b = tensorBytes(t, opts.dtype ?? 'F32');
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

/**
 * Write `tensors` to `file` (via a temporary file renamed into place, so a failed write leaves nothing).
 */
export async function writeSafetensors(file: string, tensors: Map<string, NamedTensor>, opts: SafetensorsWriteOptions = {}): Promise<void> {
  const { header, entries } = buildHeader(tensors, opts);
  await atomicWrite(file, async (tmp) => {
    const fh = await open(tmp, 'w');
    try {
      await fh.write(header);
      for (const [, t] of entries) await fh.write(tensorBytes(t, opts.dtype ?? 'F32'));
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

function parseHeader(text: string, dataLength: number, source: string): { entries: [string, HeaderEntry][]; metadata: Record<string, string> } {
  const bad = (why: string, extra: Record<string, unknown> = {}): CheckpointError =>
    new CheckpointError('CORRUPT', `${source} is not a valid safetensors file: ${why}`, { file: source, ...extra });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw bad('its header is not JSON');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw bad('its header is not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: [string, HeaderEntry][] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!value || typeof value !== 'object') throw bad('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw bad(`metadata ${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = value as Partial<HeaderEntry> | null;
    if (!e || typeof e !== 'object' || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
      throw bad(`entry ${name} lacks dtype, shape or data_offsets`, { tensor: name });
    }
    if (!(e.dtype in DTYPE_BYTES)) {
      throw new CheckpointError('UNSUPPORTED_DTYPE', `${source}: tensor ${name} has dtype ${e.dtype}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`, {
        file: source,
        tensor: name,
        dtype: e.dtype,
      });
    }
    if (!e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`entry ${name} has a malformed shape`, { tensor: name });
    const [begin, end] = e.data_offsets;
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end < begin || end > dataLength) {
      throw bad(`entry ${name} has data offsets [${begin}, ${end}] outside the ${dataLength} data bytes (truncated?)`, { tensor: name });
    }
    if (end - begin !== numel(e.shape) * DTYPE_BYTES[e.dtype as SafetensorsDtype]) {
      throw bad(`entry ${name} has ${end - begin} bytes for ${e.dtype}[${e.shape}]`, { tensor: name });
    }
    entries.push([name, e as HeaderEntry]);
  }
  // Tensors must not overlap (the format also forbids holes; we only need no overlap to read safely).
  const sorted = entries.map(([, e]) => e.data_offsets).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i][0] < sorted[i - 1][1]) throw bad('two tensors overlap');
  }
  return { entries, metadata };
}

function toFloat32(raw: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const n = raw.byteLength / DTYPE_BYTES[dtype];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (dtype === 'F16') out[i] = halfToFloat(view.getUint16(i * 2, true));
    else if (dtype === 'BF16') out[i] = bf16ToFloat(view.getUint16(i * 2, true));
    else if (dtype === 'F64') out[i] = view.getFloat64(i * 8, true);
    else out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

function headerLength(first8: Buffer, total: number, source: string): number {
  if (first8.length < 8) throw new CheckpointError('CORRUPT', `${source} is too short to be a safetensors file`, { file: source });
  const n = first8.readBigUInt64LE(0);
  if (n > BigInt(Math.min(MAX_HEADER_BYTES, total - 8))) {
    throw new CheckpointError('CORRUPT', `${source} is not a valid safetensors file: header length ${n} exceeds the file`, { file: source });
  }
  return Number(n);
}

/** Decode a safetensors buffer. Float32 data is copied bit-exactly into fresh arrays. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors buffer'): SafetensorsContent {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = headerLength(buf.subarray(0, 8), buf.length, source);
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(buf.toString('utf8', 8, dataStart), buf.length - dataStart, source);
  const tensors = new Map<string, NamedTensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  for (const [name, e] of entries) {
    const raw = buf.subarray(dataStart + e.data_offsets[0], dataStart + e.data_offsets[1]);
    const data = e.dtype === 'F32' ? new Float32Array(Uint8Array.from(raw).buffer) : toFloat32(raw, e.dtype);
    tensors.set(name, { shape: [...e.shape], data });
    dtypes.set(name, e.dtype);
  }
  return { tensors, dtypes, metadata };
}

/** Read a safetensors file tensor by tensor. */
export async function readSafetensors(file: string): Promise<SafetensorsContent> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const first = Buffer.alloc(8);
    await fh.read(first, 0, Math.min(8, size), 0);
    const n = headerLength(size < 8 ? first.subarray(0, size) : first, size, file);
    const headerBuf = Buffer.alloc(n);
    await fh.read(headerBuf, 0, n, 8);
    const dataStart = 8 + n;
    const { entries, metadata } = parseHeader(headerBuf.toString('utf8'), size - dataStart, file);
    const tensors = new Map<string, NamedTensor>();
    const dtypes = new Map<string, SafetensorsDtype>();
    for (const [name, e] of entries) {
      const len = e.data_offsets[1] - e.data_offsets[0];
      const raw = new Uint8Array(len);
      let done = 0;
      while (done < len) {
        const { bytesRead } = await fh.read(raw, done, len - done, dataStart + e.data_offsets[0] + done);
        if (bytesRead === 0) throw new CheckpointError('CORRUPT', `${file} ends inside tensor ${name}`, { file, tensor: name });
        done += bytesRead;
      }
      tensors.set(name, { shape: [...e.shape], data: e.dtype === 'F32' ? new Float32Array(raw.buffer) : toFloat32(raw, e.dtype) });
      dtypes.set(name, e.dtype);
    }
    return { tensors, dtypes, metadata };
  } finally {
    await fh.close();
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half bits of `value`, rounded to nearest even (overflow → ±Inf, NaN kept). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // too small even for a subnormal
    mant |= 0x800000; // make the implicit 1 explicit, then shift into subnormal position
    const shift = 14 - e;
    const halfMant = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    const rounded = rest > mid || (rest === mid && (halfMant & 1)) ? halfMant + 1 : halfMant;
    return sign | rounded;
  }
  const halfMant = mant >>> 13;
  const rest = mant & 0x1fff;
  let h = (e << 10) | halfMant;
  if (rest > 0x1000 || (rest === 0x1000 && (halfMant & 1))) h += 1; // may carry into the exponent: correct
  if (h >= 0x7c00) return sign | 0x7c00;
  return sign | h;
}

/** float value of IEEE half bits. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** float value of bfloat16 bits (the upper half of a float32). */
export function bf16ToFloat(h: number): number {
  u32[0] = (h << 16) >>> 0;
  return f32[0];
}
