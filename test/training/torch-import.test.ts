import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { CheckpointError } from '../../src/training/training.errors.ts';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot, sharedDir } from '../helpers/models.ts';
import { unzipSync, zipSync } from 'fflate';
import {
  expectedDiscriminatorShapes,
  expectedGeneratorShapes,
  importTorchCheckpoint,
  inferConfig,
  readTorchCheckpoint,
  stepFromFileName,
} from '../../src/training/torch-import/index.ts';
import { loadCheckpoint } from '../../src/training/checkpoint.ts';
import { unpickle } from '../../src/training/torch-import/pickle-vm.ts';
import { NETWORK_NAMES, type NamedTensor, type UgatitState } from '../../src/training/tensors.ts';
import { UsageError } from '../../src/errors.ts';
import { f32Raw, PickleWriter, toZip64, torchSave, type RawTensor } from '../fixtures/torch-import/torch-save.ts';

const fixtures = path.resolve(sharedDir, 'fixtures');
const lightPt = path.join(fixtures, 'ugatit-torch/light-ngf8-nb2-64/params.pt');
const fullPt = path.join(fixtures, 'ugatit-torch/full-ngf8-nb2-64/params.pt');
const trainStepPt = path.join(fixtures, 'ugatit-train-step/light-ngf8-nb2-96/params_before.pt');

let work: string;
let lightState: UgatitState;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'torch-import-test-'));
  lightState = await readTorchCheckpoint(lightPt);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array | string): string {
  const p = path.join(work, name);
  writeFileSync(p, bytes);
  return p;
}

/** The light fixture as raw torch tensors, to derive variants from. */
function rawOf(state: UgatitState): Record<string, Record<string, RawTensor>> {
  const root: Record<string, Record<string, RawTensor>> = {};
  for (const net of NETWORK_NAMES) {
    const sd = state[net];
    if (sd) root[net] = Object.fromEntries([...sd].map(([k, t]) => [k, f32Raw(t)]));
  }
  return root;
}

async function catchError(fn: () => unknown): Promise<CheckpointError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CheckpointError);
    return err as CheckpointError;
  }
  throw new Error('expected a CheckpointError');
}

function sumOf(values: Iterable<number>): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

describe('readTorchCheckpoint', () => {
  it.each([
    ['light', lightPt],
    ['full', fullPt],
  ])('reads every tensor of the %s fixture exactly as stored in the zip', async (_label, pt) => {
    const sut = await readTorchCheckpoint(pt);

    expect(Object.keys(sut)).toEqual([...NETWORK_NAMES]);
    // Invariant independent of the pickle: every storage holds one whole tensor, so the tensors'
    // element count and value sum must equal those of all raw storages in the archive.
    const entries = unzipSync(readFileSync(pt));
    const storages = Object.entries(entries).filter(([n]) => /\/data\/\d+$/.test(n));
    const storageFloats = storages.map(([, b]) => new Float32Array(Uint8Array.from(b).buffer));
    const tensors = NETWORK_NAMES.flatMap((n) => [...(sut[n] as Map<string, NamedTensor>).values()]);
    expect(tensors.length).toBe(storages.length);
    expect(sumOf(tensors.map((t) => t.data.length))).toBe(sumOf(storageFloats.map((f) => f.length)));
    expect(sumOf(tensors.map((t) => sumOf(t.data)))).toBeCloseTo(sumOf(storageFloats.map((f) => sumOf(f))), 6);
  });

  it('puts the right values under the official names (checked against the raw storage bytes)', () => {
    const sut = lightState.genA2B!;
    // data.pkl names gap_fc.weight's storage '0' and conv1x1.weight's storage '2' (seen with pickletools).
    const entries = unzipSync(readFileSync(lightPt));
    expect(sut.get('gap_fc.weight')!.data).toEqual(new Float32Array(Uint8Array.from(entries['params/data/0']).buffer));
    expect(sut.get('conv1x1.weight')!.shape).toEqual([32, 64, 1, 1]);
    expect(sut.get('conv1x1.weight')!.data).toEqual(new Float32Array(Uint8Array.from(entries['params/data/2']).buffer));
    expect(sut.get('UpBlock1_1.norm1.rho')!.shape).toEqual([1, 32, 1, 1]);
    expect(lightState.disGA!.get('model.1.weight_orig')!.shape).toEqual([8, 3, 4, 4]);
  });

  it('reads the train-step fixture checkpoint too', async () => {
    const sut = await readTorchCheckpoint(trainStepPt);
    expect(inferConfig(sut)).toMatchObject({ light: true, ngf: 8, n_blocks: 2, ndf: 8 });
  });

  it('honours storage offset and strides (a transposed view) and makes the tensor contiguous', async () => {
    const storage = new Uint8Array(Float32Array.from([9, 0, 1, 2, 3, 4, 5]).buffer);
    // size [2,3] with stride [1,2] from offset 1 reads the storage [0..5] as the transpose of [[0,1],[2,3],[4,5]]
    const t: RawTensor = { storageType: 'FloatStorage', storage, numel: 7, offset: 1, size: [2, 3], stride: [1, 2] };
    const pt = file('strided.pt', torchSave({ genA2B: { w: t } }));
    const sut = await readTorchCheckpoint(pt, { require: [] });
    expect(sut.genA2B!.get('w')).toEqual({ shape: [2, 3], data: Float32Array.from([0, 2, 4, 1, 3, 5]) });
  });

  it('refuses a view with more elements than its storage before allocating it (a stride-0 view)', async () => {
    // Before: a 4-byte storage viewed as 20000×20000 with strides 0 allocated 1.6 GB, then passed.
    const storage = new Uint8Array(Float32Array.from([1]).buffer);
    const t: RawTensor = { storageType: 'FloatStorage', storage, numel: 1, offset: 0, size: [20000, 20000], stride: [0, 0] };
    const pt = file('stride0.pt', torchSave({ genA2B: { w: t } }));
    const before = process.memoryUsage().rss;
    let err: unknown;
    try {
      await readTorchCheckpoint(pt, { require: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as CheckpointError).code).toBe('CORRUPT');
    expect((err as Error).message).toMatch(/declares 400000000 elements, more than its storage holds \(1\)/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('refuses a zip entry that declares more bytes than its compressed data can hold, quickly and before allocating', async () => {
    // Before: a tiny zip declaring a 3 GB entry had it allocated up front (or died with an untyped RangeError).
    const zip = Buffer.from(zipSync({ 'archive/data.pkl': [new Uint8Array(100), { level: 9 }] }));
    const cd = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt32LE(3_000_000_000, cd + 24); // uncompressed size in the central directory
    const pt = file('bomb.pt', zip);
    expect(zip.length).toBeLessThanOrEqual(136); // the file was 136 bytes
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    const err = await catchError(() => readTorchCheckpoint(pt, { require: [] }));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
    expect(err.code).toBe('CORRUPT');
    expect(err.message).toMatch(/declares 3000000000 bytes, more than its \d+ stored bytes can hold/);
  });

  it('refuses a zip entry whose compressed size is larger than the whole file', async () => {
    const zip = Buffer.from(zipSync({ 'archive/data.pkl': [new Uint8Array(100), { level: 9 }] }));
    const cd = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt32LE(2_000_000_000, cd + 20); // compressed size in the central directory
    const err = await catchError(() => readTorchCheckpoint(file('overlong.pt', zip), { require: [] }));
    expect(err.code).toBe('CORRUPT');
    expect(err.message).toContain(`declares 2000000000 stored bytes, more than the whole file (${zip.length})`);
  });

  it('refuses damaged entry data with a typed error, not the zip library\'s plain Error', async () => {
    const zip = Buffer.from(torchSave({}, { archive: 'a' }));
    const cd = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt32LE(7, cd + 42); // the first entry's local header offset points at no local header
    const err = await catchError(() => readTorchCheckpoint(file('badlocal.pt', zip), { require: [] }));
    expect(err.code).toBe('CORRUPT');
    expect(err.message).toMatch(/cannot read zip entry/);
  });

  it('unpickles 300 000 APPENDS items without overflowing the stack', () => {
    // Before: target.push(...items) threw "Maximum call stack size exceeded".
    const n = 300_000;
    const body = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) body.set([0x4b, i & 0xff], i * 2); // BININT1
    const pickle = Buffer.concat([Buffer.from([0x80, 0x02, 0x5d, 0x28]), body, Buffer.from([0x65, 0x2e])]); // PROTO EMPTY_LIST MARK ... APPENDS STOP
    const list = unpickle(pickle) as number[];
    expect(list).toHaveLength(n);
    expect(list[n - 1]).toBe((n - 1) & 0xff);
  });

  it('reads zip64 archives (the layout of checkpoints over 4 GiB)', async () => {
    const raw = { genA2B: rawOf(lightState).genA2B };
    const sut = await readTorchCheckpoint(file('zip64.pt', toZip64(torchSave(raw))), { require: ['genA2B'] });
    expect(sut.genA2B).toEqual(lightState.genA2B);
  });

  it('reads two tensors that share one storage', async () => {
    const storage = new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer);
    const a: RawTensor = { storageType: 'FloatStorage', storage, numel: 6, offset: 0, size: [2, 3], stride: [3, 1] };
    const pickle = new PickleWriter().proto().emptyDict().mark().str('genA2B').emptyDict().mark();
    for (const [name, offset, size] of [['a', 0, [2, 3]], ['b', 4, [2]]] as const) {
      pickle.str(name).global('torch._utils', '_rebuild_tensor_v2').mark();
      pickle.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(6).tuple().binpersid();
      pickle.int(offset).intTuple([...size]).intTuple(size.length === 2 ? [3, 1] : [1]).newfalse().emptyDict().tuple().reduce();
    }
    pickle.setitems().setitems().stop();
    const pt = file('shared.pt', torchSave({ genA2B: { a } }, { pickle: pickle.bytes() }));
    const sut = (await readTorchCheckpoint(pt, { require: [] })).genA2B!;
    expect(sut.get('a')!.data).toEqual(Float32Array.from([1, 2, 3, 4, 5, 6]));
    expect(sut.get('b')!.data).toEqual(Float32Array.from([5, 6]));
  });

  it('reads tensors wrapped by _rebuild_parameter and _rebuild_from_type_v2 (saved Parameters, newer torch)', async () => {
    const storage = new Uint8Array(Float32Array.from([7, 8]).buffer);
    const tensorArgs = (w: PickleWriter): PickleWriter =>
      w.mark().mark().str('storage').global('torch', 'FloatStorage').str('0').str('cuda:0').int(2).tuple().binpersid()
        .int(0).intTuple([2]).intTuple([1]).newfalse().emptyDict().tuple();
    const w = new PickleWriter().proto().emptyDict().mark().str('genA2B').emptyDict().mark();
    w.str('p').global('torch._utils', '_rebuild_parameter').mark().global('torch._utils', '_rebuild_tensor_v2');
    tensorArgs(w).reduce().newfalse().emptyDict().tuple().reduce();
    w.str('t').global('torch._utils', '_rebuild_from_type_v2').mark().global('torch._utils', '_rebuild_tensor_v2').global('torch._tensor', 'Tensor');
    tensorArgs(w).emptyDict().tuple().reduce();
    w.setitems().setitems().stop();
    const t: RawTensor = { storageType: 'FloatStorage', storage, numel: 2, offset: 0, size: [2], stride: [1] };
    const sut = (await readTorchCheckpoint(file('wrapped.pt', torchSave({ genA2B: { x: t } }, { pickle: w.bytes() })), { require: [] })).genA2B!;
    expect(sut.get('p')).toEqual({ shape: [2], data: Float32Array.from([7, 8]) });
    expect(sut.get('t')).toEqual({ shape: [2], data: Float32Array.from([7, 8]) });
  });

  it('converts float64, float16 and bfloat16 storages to float32', async () => {
    const f64 = new Uint8Array(Float64Array.from([0.5, -2, 1e-3]).buffer);
    const f16 = new Uint8Array(Uint16Array.from([0x3c00, 0xc100, 0x3555]).buffer); // 1, -2.5, 0.333251953125
    const bf16 = new Uint8Array(Uint16Array.from([0x3f80, 0xc020]).buffer); // 1, -2.5
    const raw = (storageType: string, storage: Uint8Array, n: number): RawTensor => ({ storageType, storage, numel: n, offset: 0, size: [n], stride: [1] });
    const pt = file('dtypes.pt', torchSave({ genA2B: { a: raw('DoubleStorage', f64, 3), b: raw('HalfStorage', f16, 3), c: raw('BFloat16Storage', bf16, 2) } }));
    const sut = (await readTorchCheckpoint(pt, { require: [] })).genA2B!;
    expect(sut.get('a')!.data).toEqual(Float32Array.from([0.5, -2, 1e-3]));
    expect(sut.get('b')!.data).toEqual(Float32Array.from([1, -2.5, 0.333251953125]));
    expect(sut.get('c')!.data).toEqual(Float32Array.from([1, -2.5]));
  });

  it('reads big-endian storages when the archive says byteorder=big', async () => {
    const be = Buffer.alloc(8);
    be.writeFloatBE(1.5, 0);
    be.writeFloatBE(-3.25, 4);
    const t: RawTensor = { storageType: 'FloatStorage', storage: be, numel: 2, offset: 0, size: [2], stride: [1] };
    const pt = file('be.pt', torchSave({ genA2B: { w: t } }, { byteorder: 'big' }));
    expect((await readTorchCheckpoint(pt, { require: [] })).genA2B!.get('w')!.data).toEqual(Float32Array.from([1.5, -3.25]));
  });

  describe('refuses bad files with a typed error', () => {
    it('NOT_A_ZIP for a text file', async () => {
      const err = await catchError(() => readTorchCheckpoint(file('notes.pt', 'hello, I am not a checkpoint\n')));
      expect(err.code).toBe('NOT_A_ZIP');
      expect(err.message).toMatch(/not a zip archive/);
    });

    it('NOT_A_ZIP naming the legacy format for a pre-1.6 pickle file', async () => {
      const err = await catchError(() => readTorchCheckpoint(file('legacy.pt', new PickleWriter().proto().emptyDict().stop().bytes())));
      expect(err.code).toBe('NOT_A_ZIP');
      expect(err.message).toMatch(/legacy/);
    });

    it('CORRUPT for a truncated checkpoint', async () => {
      const bytes = readFileSync(lightPt);
      const err = await catchError(() => readTorchCheckpoint(file('truncated.pt', bytes.subarray(0, Math.floor(bytes.length / 2)))));
      expect(err.code).toBe('CORRUPT');
      expect(err.message).toMatch(/truncated/);
    });

    it('NOT_A_CHECKPOINT for a zip without data.pkl', async () => {
      const zip = torchSave({}, { archive: 'x' });
      const entries = unzipSync(zip);
      delete entries['x/data.pkl'];
      const err = await catchError(() => readTorchCheckpoint(file('nopkl.pt', zipSync(entries, { level: 0 }))));
      expect(err.code).toBe('NOT_A_CHECKPOINT');
    });

    it('NOT_A_CHECKPOINT for a pickle that is not the dict of six state_dicts', async () => {
      const pkl = new PickleWriter().proto().emptyDict().mark().str('model').emptyDict().setitems().stop().bytes();
      const err = await catchError(() => readTorchCheckpoint(file('other.pt', torchSave({}, { pickle: pkl }))));
      expect(err.code).toBe('NOT_A_CHECKPOINT');
      expect(err.message).toMatch(/genA2B/);
    });

    it('FORBIDDEN_GLOBAL for os.system via GLOBAL + REDUCE, and nothing runs', async () => {
      const marker = path.join(work, 'pwned');
      const pkl = new PickleWriter().proto().global('os', 'system').mark().str(`touch ${marker}`).tuple().reduce().stop().bytes();
      const err = await catchError(() => readTorchCheckpoint(file('evil.pt', torchSave({}, { pickle: pkl }))));
      expect(err.code).toBe('FORBIDDEN_GLOBAL');
      expect(err.details.global).toBe('os.system');
      expect(existsSync(marker)).toBe(false);
    });

    it('FORBIDDEN_GLOBAL for builtins.eval reached through STACK_GLOBAL', async () => {
      const pkl = new PickleWriter().proto(4).str('builtins').str('eval').raw(0x93).mark().str('1+1').tuple().reduce().stop().bytes();
      const err = await catchError(() => readTorchCheckpoint(file('evil4.pt', torchSave({}, { pickle: pkl }))));
      expect(err.code).toBe('FORBIDDEN_GLOBAL');
      expect(err.message).toMatch(/builtins\.eval/);
    });

    it('FORBIDDEN_GLOBAL when a whitelisted storage type is called', async () => {
      const pkl = new PickleWriter().proto().global('torch', 'FloatStorage').emptyTuple().reduce().stop().bytes();
      expect((await catchError(() => readTorchCheckpoint(file('callstorage.pt', torchSave({}, { pickle: pkl }))))).code).toBe('FORBIDDEN_GLOBAL');
    });

    it.each([
      ['INST', [0x69, ...Buffer.from('os\nsystem\n')]],
      ['NEWOBJ', [0x81]],
      ['EXT1', [0x82, 1]],
    ])('UNSUPPORTED_PICKLE_OPCODE naming %s', async (name, bytes) => {
      const pkl = new PickleWriter().proto().mark().raw(...(bytes as number[])).stop().bytes();
      const err = await catchError(() => readTorchCheckpoint(file(`op-${name}.pt`, torchSave({}, { pickle: pkl }))));
      expect(err.code).toBe('UNSUPPORTED_PICKLE_OPCODE');
      expect(err.details.opcode).toBe(name);
    });

    it('CORRUPT for a pickle cut short', async () => {
      const pkl = new PickleWriter().proto().emptyDict().mark().str('genA2B').bytes();
      expect((await catchError(() => readTorchCheckpoint(file('short.pt', torchSave({}, { pickle: pkl }))))).code).toBe('CORRUPT');
    });

    it('MISSING_NETWORK naming the network that was removed', async () => {
      const raw = rawOf(lightState);
      delete raw.disLB;
      const err = await catchError(() => readTorchCheckpoint(file('five.pt', torchSave(raw))));
      expect(err.code).toBe('MISSING_NETWORK');
      expect(err.details.missing).toEqual(['disLB']);
    });

    it('CORRUPT when a storage file is missing from the archive', async () => {
      const raw = { genA2B: rawOf(lightState).genA2B };
      const err = await catchError(() => readTorchCheckpoint(file('nostorage.pt', torchSave(raw, { dropStorages: ['3'] })), { require: ['genA2B'] }));
      expect(err.code).toBe('CORRUPT');
      expect(err.message).toMatch(/data\/3/);
    });

    it('CORRUPT when a tensor view reaches past its storage', async () => {
      const t: RawTensor = { storageType: 'FloatStorage', storage: new Uint8Array(8), numel: 2, offset: 1, size: [2], stride: [1] };
      expect((await catchError(() => readTorchCheckpoint(file('overrun.pt', torchSave({ genA2B: { w: t } })), { require: [] }))).code).toBe('CORRUPT');
    });

    it('UNSUPPORTED_DTYPE for an integer storage', async () => {
      const t: RawTensor = { storageType: 'LongStorage', storage: new Uint8Array(16), numel: 2, offset: 0, size: [2], stride: [1] };
      const err = await catchError(() => readTorchCheckpoint(file('long.pt', torchSave({ genA2B: { steps: t } })), { require: [] }));
      expect(err.code).toBe('UNSUPPORTED_DTYPE');
      expect(err.details.tensor).toBe('genA2B.steps');
    });
  });
});

describe('inferConfig', () => {
  it('infers a light model (img_size unknown) from the light fixture', () => {
    expect(inferConfig(lightState)).toEqual({
      variant: 'pytorch',
      light: true,
      ngf: 8,
      n_blocks: 2,
      img_size: null,
      ndf: 8,
      dis_layers_global: 7,
      dis_layers_local: 5,
    });
  });

  it('infers a full model and its img_size from FC.0 = (img/4)²·4ngf inputs', async () => {
    expect(inferConfig(await readTorchCheckpoint(fullPt))).toMatchObject({ light: false, ngf: 8, n_blocks: 2, img_size: 64, ndf: 8 });
  });

  it('SHAPE_MISMATCH naming the tensor when one network disagrees with the others', async () => {
    const genB2A = new Map(lightState.genB2A!);
    genB2A.set('conv1x1.bias', { shape: [31], data: new Float32Array(31) });
    const err = await catchError(() => inferConfig({ ...lightState, genB2A }));
    expect(err.code).toBe('SHAPE_MISMATCH');
    expect(err.details.tensor).toBe('genB2A.conv1x1.bias');
  });

  it('SHAPE_MISMATCH when local and global discriminators have different ndf', async () => {
    const disLA = new Map(lightState.disLA!);
    disLA.set('model.1.weight_orig', { shape: [16, 3, 4, 4], data: new Float32Array(16 * 48) });
    const err = await catchError(() => inferConfig({ ...lightState, disLA }));
    expect(err.code).toBe('SHAPE_MISMATCH');
    expect(err.details.tensor).toBe('disLA.model.1.weight_orig');
  });

  it('MISSING_TENSOR and UNEXPECTED_TENSOR like a strict load_state_dict', async () => {
    const missing = new Map(lightState.disGB!);
    missing.delete('conv.weight_v');
    expect((await catchError(() => inferConfig({ ...lightState, disGB: missing }))).details.tensor).toBe('disGB.conv.weight_v');
    const extra = new Map(lightState.genA2B!);
    extra.set('FC.0.bias', { shape: [32], data: new Float32Array(32) });
    expect((await catchError(() => inferConfig({ ...lightState, genA2B: extra }))).code).toBe('UNEXPECTED_TENSOR');
  });

  it('MISSING_NETWORK when there is no generator', async () => {
    expect((await catchError(() => inferConfig({ disGA: lightState.disGA }))).code).toBe('MISSING_NETWORK');
  });
});

describe('expectedGeneratorShapes / expectedDiscriminatorShapes', () => {
  const count = (m: Map<string, number[]>, skipBuffers = false): number =>
    sumOf([...m].filter(([k]) => !skipBuffers || !/weight_[uv]$/.test(k)).map(([, s]) => s.reduce((a, b) => a * b, 1)));

  it('give the official parameter counts of docs/ugatit.md (ngf 64, 4 blocks, 256²)', () => {
    expect(count(expectedGeneratorShapes({ light: false, ngf: 64, n_blocks: 4, img_size: 256 }))).toBe(278_959_808);
    expect(count(expectedGeneratorShapes({ light: true, ngf: 64, n_blocks: 4, img_size: null }))).toBe(10_589_888);
    expect(count(expectedDiscriminatorShapes(64, 7), true)).toBe(53_130_176);
    expect(count(expectedDiscriminatorShapes(64, 5), true)).toBe(3_290_560);
  });

  it('list exactly the fixture tensor names', () => {
    expect([...expectedGeneratorShapes({ light: true, ngf: 8, n_blocks: 2, img_size: null }).keys()].sort()).toEqual([...lightState.genA2B!.keys()].sort());
    expect([...expectedDiscriminatorShapes(8, 5).keys()].sort()).toEqual([...lightState.disLA!.keys()].sort());
  });
});

describe('importTorchCheckpoint', () => {
  it('writes our checkpoint with the same tensors, bit for bit, and the inferred config', async () => {
    const out = path.join(work, 'ck-light');
    const sut = await importTorchCheckpoint({ file: lightPt, outDir: out });

    expect(sut.config).toMatchObject({ light: true, ngf: 8, n_blocks: 2, img_size: 256, ndf: 8, step: 0, source: { kind: 'torch-import', img_size_from: 'default' } });
    expect(sut.networks.genA2B).toEqual({ tensors: 32, params: 94_040 });
    const loaded = await loadCheckpoint(out);
    for (const net of NETWORK_NAMES) {
      for (const [name, t] of lightState[net]!) {
        const got = loaded.state[net]!.get(name)!;
        expect(got.shape).toEqual(t.shape);
        expect(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))).toBe(true);
      }
    }
  });

  it('records --img-size for light models and rejects one that contradicts a full model', async () => {
    const light = await importTorchCheckpoint({ file: lightPt, outDir: path.join(work, 'ck-light-128'), imgSize: 128 });
    expect(light.config.img_size).toBe(128);
    expect(light.config.source.img_size_from).toBe('flag');

    const out = path.join(work, 'ck-full-bad');
    await expect(importTorchCheckpoint({ file: fullPt, outDir: out, imgSize: 128 })).rejects.toBeInstanceOf(UsageError);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a non-empty output directory, and with --force replaces only its own checkpoint folder', async () => {
    const out = path.join(work, 'occupied');
    mkdirSync(out);
    writeFileSync(path.join(out, 'keep.txt'), 'mine');
    await expect(importTorchCheckpoint({ file: fullPt, outDir: out })).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    // --force never deletes a folder that is not one of its own outputs (it used to).
    await expect(importTorchCheckpoint({ file: fullPt, outDir: out, force: true })).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    expect(readdirSync(out)).toEqual(['keep.txt']);

    const own = path.join(work, 'own');
    await importTorchCheckpoint({ file: lightPt, outDir: own });
    const sut = await importTorchCheckpoint({ file: fullPt, outDir: own, force: true });
    expect(sut.config.img_size).toBe(64);
    expect(readdirSync(own).sort()).toEqual(['config.json', 'weights.safetensors']);
  });

  it('writes nothing, not even a temporary directory, when the file is bad', async () => {
    const parent = mkdtempSync(path.join(work, 'bad-'));
    const raw = rawOf(lightState);
    delete raw.genB2A;
    const bad = file('no-genB2A.pt', torchSave(raw));
    await expect(importTorchCheckpoint({ file: bad, outDir: path.join(parent, 'ck') })).rejects.toMatchObject({ code: 'MISSING_NETWORK' });
    expect(readdirSync(parent)).toEqual([]);
  });

  it('refuses a missing source file or an output path that is a file, writing nothing', async () => {
    await expect(importTorchCheckpoint({ file: path.join(work, 'nope.pt'), outDir: path.join(work, 'never') })).rejects.toBeInstanceOf(UsageError);
    expect(existsSync(path.join(work, 'never'))).toBe(false);
    const blocker = file('blocker.txt', 'x');
    await expect(importTorchCheckpoint({ file: lightPt, outDir: blocker, force: true })).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    expect(readFileSync(blocker, 'utf8')).toBe('x');
  });

  it('takes the step from the official file name', () => {
    expect(stepFromFileName('/x/selfie2anime_params_0100000.pt')).toBe(100000);
    expect(stepFromFileName('/x/selfie2anime_params_latest.pt')).toBe(0);
  });
});

describe('webtoon import-torch (CLI)', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(repoRoot, 'bin/webtoon.mjs'), 'import-torch', ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'test' } });

  it('prints a JSON summary and writes the checkpoint', () => {
    const out = path.join(work, 'cli-ck');
    const res = cli(fullPt, '--out', out);
    expect(res.status).toBe(0);
    const summary = JSON.parse(res.stdout);
    expect(summary.out).toBe(out);
    expect(summary.config).toMatchObject({ light: false, img_size: 64, ngf: 8 });
    expect(Object.keys(summary.networks)).toEqual([...NETWORK_NAMES]);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'weights.safetensors']);
  });

  it('exits 2 with a usage error for a malformed --img-size', () => {
    const out = path.join(work, 'cli-usage');
    const res = cli(lightPt, '--out', out, '--img-size', '100px');
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/UsageError\[USAGE\]: --img-size must be a positive multiple of 4/);
    expect(existsSync(out)).toBe(false);
  });

  it('exits non-zero with a one-line typed error and no output for a bad file', () => {
    const out = path.join(work, 'cli-bad');
    const res = cli(file('cli-text.pt', 'not a zip'), '--out', out);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/CheckpointError\[NOT_A_ZIP\]/);
    expect(existsSync(out)).toBe(false);
  });
});
