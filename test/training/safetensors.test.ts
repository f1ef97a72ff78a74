import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { CheckpointError } from '../../src/training/training.errors.ts';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sharedDir } from '../helpers/models.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  floatToHalf,
  halfToFloat,
  readSafetensors,
  writeSafetensors,
} from '../../src/training/safetensors.ts';
import { type NamedTensor } from '../../src/training/tensors.ts';

const stepFile = path.resolve(sharedDir, 'fixtures/ugatit-train-step/light-ngf8-nb2-96/step.safetensors');

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'safetensors-test-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Tensors whose bits are awkward: signed zero, NaN payloads, infinities, subnormals, a scalar, an empty one. */
function awkwardTensors(): Map<string, NamedTensor> {
  const bits = Uint32Array.from([0x80000000, 0x7fc00001, 0xffc12345, 0x7f800000, 0xff800000, 0x00000001, 0x807fffff, 0x3f800000]);
  const random = new Float32Array(3 * 4 * 5);
  for (let i = 0; i < random.length; i++) random[i] = Math.sin(i * 12.9898) * 43758.5453;
  return new Map<string, NamedTensor>([
    ['genA2B.weird', { shape: [2, 4], data: new Float32Array(bits.buffer) }],
    ['genA2B.DownBlock.1.weight', { shape: [3, 4, 5], data: random }],
    ['__step__', { shape: [], data: Float32Array.from([1234]) }],
    ['empty', { shape: [0, 3], data: new Float32Array(0) }],
  ]);
}

function expectBitExact(a: Map<string, NamedTensor>, b: Map<string, NamedTensor>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, t] of a) {
    expect(b.get(k)!.shape).toEqual(t.shape);
    expect(bytesOf(b.get(k)!.data).equals(bytesOf(t.data))).toBe(true);
  }
}

function catchError(fn: () => unknown): CheckpointError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CheckpointError);
    return err as CheckpointError;
  }
  throw new Error('expected a CheckpointError');
}

describe('encodeSafetensors / decodeSafetensors', () => {
  it('round-trips float32 bit-exactly, including NaN payloads, -0, subnormals, scalars and empty tensors', () => {
    const tensors = awkwardTensors();
    const sut = decodeSafetensors(encodeSafetensors(tensors, { metadata: { step: '7' } }));
    expectBitExact(tensors, sut.tensors);
    expect(sut.metadata).toEqual({ step: '7' });
    expect(new Set(sut.dtypes.values())).toEqual(new Set(['F32']));
  });

  it('lays the file out as the format says: u64 LE header length, 8-aligned JSON header, contiguous data', () => {
    const sut = encodeSafetensors(awkwardTensors());
    const n = Number(sut.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(sut.toString('utf8', 8, 8 + n));
    expect(header['genA2B.weird']).toEqual({ dtype: 'F32', shape: [2, 4], data_offsets: [0, 32] });
    expect(header['genA2B.DownBlock.1.weight'].data_offsets).toEqual([32, 32 + 240]);
    expect(sut.length).toBe(8 + n + 32 + 240 + 4);
    expect(sut.readFloatLE(8 + n + 32 + 240)).toBe(1234);
  });

  it('stores F16 rounded to nearest even and reads it back as float32', () => {
    const values = Float32Array.from([0, 1, -2.5, 65504, 65520, 1e-8, 6e-5, 3.14159, 1 / 3]);
    const sut = decodeSafetensors(encodeSafetensors(new Map([['x', { shape: [9], data: values }]]), { dtype: 'F16' }));
    expect(sut.dtypes.get('x')).toBe('F16');
    // Expected halves as numpy's float32 → float16 cast gives them (0x7c00 = +Inf, 0x03ef = subnormal).
    expect([...values].map(floatToHalf)).toEqual([0x0000, 0x3c00, 0xc100, 0x7bff, 0x7c00, 0x0000, 0x03ef, 0x4248, 0x3555]);
    expect([...sut.tensors.get('x')!.data]).toEqual([0, 1, -2.5, 65504, Infinity, 0, halfToFloat(0x03ef), 3.140625, 0.333251953125]);
  });
});

describe('writeSafetensors / readSafetensors', () => {
  it('round-trips through a file bit-exactly and leaves no temporary file', async () => {
    const file = path.join(work, 'a.safetensors');
    const tensors = awkwardTensors();
    await writeSafetensors(file, tensors, { metadata: { format: 'x' } });
    const sut = await readSafetensors(file);
    expectBitExact(tensors, sut.tensors);
    expect(sut.metadata).toEqual({ format: 'x' });
    expect(readFileSync(file).equals(encodeSafetensors(tensors, { metadata: { format: 'x' } }))).toBe(true);
    expect(readdirSync(work).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('reads the train-step fixture made from the official code', async () => {
    const sut = await readSafetensors(stepFile);
    expect(sut.tensors.size).toBe(202);
    const realA = sut.tensors.get('real_A')!;
    expect(realA.shape).toEqual([1, 3, 96, 96]);
    expect(Math.max(...realA.data)).toBeLessThanOrEqual(1);
    expect(Math.min(...realA.data)).toBeGreaterThanOrEqual(-1);
    expect(sut.tensors.get('grad_D_step/disGA.model.1.weight_orig')!.shape).toEqual([8, 3, 4, 4]);
    expect(sut.tensors.get('after_G_step/genA2B.UpBlock2.3.rho')!.shape).toEqual([1, 16, 1, 1]);
    // What we read is what the file holds: re-encoding gives identical tensor bytes.
    const again = decodeSafetensors(encodeSafetensors(sut.tensors));
    expectBitExact(sut.tensors, again.tensors);
  });

  it('writes nothing when a tensor does not match its shape', async () => {
    const file = path.join(work, 'bad.safetensors');
    await expect(writeSafetensors(file, new Map([['x', { shape: [2, 2], data: new Float32Array(3) }]]))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    expect(existsSync(file)).toBe(false);
  });
});

describe('refuses malformed files', () => {
  const good = (): Buffer => encodeSafetensors(new Map([['x', { shape: [4], data: Float32Array.from([1, 2, 3, 4]) }]]));
  const withHeader = (header: unknown, data = Buffer.alloc(16)): Buffer => {
    const h = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    return Buffer.concat([len, h, data]);
  };

  it('CORRUPT for a truncated file', async () => {
    const bytes = good();
    const file = path.join(work, 'trunc.safetensors');
    writeFileSync(file, bytes.subarray(0, bytes.length - 4));
    await expect(readSafetensors(file)).rejects.toMatchObject({ code: 'CORRUPT' });
    expect(catchError(() => decodeSafetensors(bytes.subarray(0, 5))).code).toBe('CORRUPT');
  });

  it('CORRUPT for a header length beyond the file, and for a header that is not JSON', () => {
    const bytes = good();
    bytes.writeBigUInt64LE(1n << 40n, 0);
    expect(catchError(() => decodeSafetensors(bytes)).message).toMatch(/header length/);
    const notJson = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')]);
    expect(catchError(() => decodeSafetensors(notJson)).message).toMatch(/not JSON/);
  });

  it('UNSUPPORTED_DTYPE naming the tensor for an integer dtype', () => {
    const err = catchError(() => decodeSafetensors(withHeader({ n: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } })));
    expect(err.code).toBe('UNSUPPORTED_DTYPE');
    expect(err.details.tensor).toBe('n');
  });

  it('CORRUPT for offsets that disagree with the shape or overlap', () => {
    expect(catchError(() => decodeSafetensors(withHeader({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }))).code).toBe('CORRUPT');
    const overlap = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    expect(catchError(() => decodeSafetensors(withHeader(overlap))).message).toMatch(/overlap/);
  });
});
