/**
 * Reads the official UGATIT-pytorch trainer's checkpoint (`torch.save` zip format holding a dict of six
 * state_dicts) into a {@link UgatitState}, in TypeScript, without Python and without executing anything
 * from the pickle (see pickle-vm.ts).
 */
import { bf16ToFloat, halfToFloat } from '../safetensors.ts';
import { CheckpointError } from '../training.errors.ts';
import { NETWORK_NAMES, numel, type NamedTensor, type NetworkName, type StateDict, type UgatitState } from '../tensors.ts';
import { describe, PyDict, STORAGE_TYPES, unpickle, type PyValue, type StorageRef, type TensorRef } from './pickle-vm.ts';
import { ZipArchive } from './zip-archive.ts';

/** Options of {@link readTorchCheckpoint}. */
export interface ReadTorchOptions {
  /** Networks that must be present (default: all six). Missing ones → MISSING_NETWORK. */
  require?: readonly NetworkName[];
}

interface DtypeInfo {
  name: string;
  bytes: number;
  read: (buf: Buffer, byteOffset: number, littleEndian: boolean) => number;
}

const DTYPES: Partial<Record<(typeof STORAGE_TYPES)[number], DtypeInfo>> = {
  FloatStorage: { name: 'float32', bytes: 4, read: (b, o, le) => (le ? b.readFloatLE(o) : b.readFloatBE(o)) },
  DoubleStorage: { name: 'float64', bytes: 8, read: (b, o, le) => (le ? b.readDoubleLE(o) : b.readDoubleBE(o)) },
  HalfStorage: { name: 'float16', bytes: 2, read: (b, o, le) => halfToFloat(le ? b.readUInt16LE(o) : b.readUInt16BE(o)) },
  BFloat16Storage: { name: 'bfloat16', bytes: 2, read: (b, o, le) => bf16ToFloat(le ? b.readUInt16LE(o) : b.readUInt16BE(o)) },
};

/**
 * Read a PyTorch checkpoint of the official trainer (`*_params_*.pt`) into per-network state dicts named
 * by the official parameter names, PyTorch layout, float32 (float16/bfloat16/float64 are converted).
 * @throws CheckpointError NOT_A_ZIP, CORRUPT, NOT_A_CHECKPOINT, UNSUPPORTED_PICKLE_OPCODE, FORBIDDEN_GLOBAL,
 *   UNSUPPORTED_DTYPE, MISSING_NETWORK.
 */
export async function readTorchCheckpoint(file: string, opts: ReadTorchOptions = {}): Promise<UgatitState> {
  const zip = await ZipArchive.open(file);
  try {
    return await readFromArchive(zip, file, opts.require ?? NETWORK_NAMES);
  } finally {
    zip.close();
  }
}

async function readFromArchive(zip: ZipArchive, file: string, required: readonly NetworkName[]): Promise<UgatitState> {
  const pklName = [...zip.entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pklName) {
    throw new CheckpointError('NOT_A_CHECKPOINT', `${file} is a zip but has no <archive>/data.pkl, so it is not a torch.save checkpoint`, {
      file,
      entries: [...zip.entries.keys()].slice(0, 10),
    });
  }
  const prefix = pklName.slice(0, -'data.pkl'.length);
  const byteorderName = `${prefix}byteorder`;
  const littleEndian = zip.entries.has(byteorderName) ? (await zip.read(byteorderName)).toString('utf8').trim() !== 'big' : true;

  const storages = new Map<string, StorageRef>();
  const root = unpickle(await zip.read(pklName), {
    source: `${file}:${pklName}`,
    persistentLoad: (pid) => storageFromPid(pid, storages, file),
  });

  if (!(root instanceof PyDict)) {
    throw new CheckpointError('NOT_A_CHECKPOINT', `${file} holds a ${describe(root)}, not the trainer's dict of state_dicts`, { file });
  }
  const present = NETWORK_NAMES.filter((n) => root.entries.has(n));
  if (present.length === 0) {
    const keys = [...root.entries.keys()].slice(0, 8).map(String);
    throw new CheckpointError(
      'NOT_A_CHECKPOINT',
      `${file} is not an official U-GAT-IT trainer checkpoint: expected keys ${NETWORK_NAMES.join(', ')}, found ${keys.join(', ') || 'none'}`,
      { file, keys },
    );
  }
  const missing = required.filter((n) => !root.entries.has(n));
  if (missing.length > 0) {
    throw new CheckpointError('MISSING_NETWORK', `${file} lacks network(s) ${missing.join(', ')} (has ${present.join(', ')})`, { file, missing, present });
  }

  // Storages are read lazily and dropped after their last tensor, so peak memory stays near one copy.
  const pending = new Map<string, number>();
  for (const net of present) {
    const sd = root.entries.get(net);
    if (!(sd instanceof PyDict)) continue;
    for (const v of sd.entries.values()) {
      if (v && typeof v === 'object' && 'kind' in v && v.kind === 'tensor') pending.set(v.storage.key, (pending.get(v.storage.key) ?? 0) + 1);
    }
  }
  const storageBytes = new Map<string, Buffer>();
  const loadStorage = async (ref: StorageRef): Promise<Buffer> => {
    let bytes = storageBytes.get(ref.key);
    if (!bytes) {
      const entryName = `${prefix}data/${ref.key}`;
      if (!zip.entries.has(entryName)) throw new CheckpointError('CORRUPT', `${file} lacks the storage ${entryName}`, { file, entry: entryName });
      bytes = await zip.read(entryName);
      storageBytes.set(ref.key, bytes);
    }
    const left = (pending.get(ref.key) ?? 1) - 1;
    pending.set(ref.key, left);
    if (left <= 0) storageBytes.delete(ref.key);
    return bytes;
  };

  const state: UgatitState = {};
  for (const net of present) {
    const sd = root.entries.get(net);
    if (!(sd instanceof PyDict)) {
      throw new CheckpointError('NOT_A_CHECKPOINT', `${file}: ${net} is a ${describe(sd)}, not a state_dict`, { file, network: net });
    }
    const out: StateDict = new Map();
    for (const [key, value] of sd.entries) {
      const name = String(key);
      if (!value || typeof value !== 'object' || !('kind' in value) || value.kind !== 'tensor') {
        throw new CheckpointError('NOT_A_CHECKPOINT', `${file}: ${net}.${name} is a ${describe(value)}, not a tensor`, { file, tensor: `${net}.${name}` });
      }
      out.set(name, materialise(value, await loadStorage(value.storage), littleEndian, `${net}.${name}`, file));
    }
    state[net] = out;
  }
  return state;
}

function storageFromPid(pid: PyValue, storages: Map<string, StorageRef>, file: string): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
    throw new CheckpointError('CORRUPT', `${file}: unknown persistent id ${describe(pid)}`, { file });
  }
  const [, type, key, location, count] = pid;
  if (!type || typeof type !== 'object' || Array.isArray(type) || !('kind' in type) || type.kind !== 'global' || typeof key !== 'string') {
    throw new CheckpointError('CORRUPT', `${file}: malformed storage id`, { file });
  }
  if (!/^[A-Za-z0-9_]+$/.test(key)) throw new CheckpointError('CORRUPT', `${file}: storage key ${JSON.stringify(key)} is not a plain name`, { file, key });
  const existing = storages.get(key);
  if (existing) return existing;
  const ref: StorageRef = {
    kind: 'storage',
    storageType: type.name,
    key,
    location: typeof location === 'string' ? location : 'cpu',
    numel: typeof count === 'number' ? count : -1,
  };
  storages.set(key, ref);
  return ref;
}

function materialise(t: TensorRef, bytes: Buffer, littleEndian: boolean, name: string, file: string): NamedTensor {
  const dtype = DTYPES[t.storage.storageType as keyof typeof DTYPES];
  if (!dtype) {
    throw new CheckpointError('UNSUPPORTED_DTYPE', `${file}: tensor ${name} is stored as ${t.storage.storageType}; only float32 (and float16/bfloat16/float64, converted) are supported`, {
      file,
      tensor: name,
      storageType: t.storage.storageType,
    });
  }
  const storageNumel = Math.floor(bytes.length / dtype.bytes);
  if (t.storage.numel >= 0 && storageNumel < t.storage.numel) {
    throw new CheckpointError('CORRUPT', `${file}: storage ${t.storage.key} of ${name} has ${storageNumel} elements, the pickle says ${t.storage.numel}`, { file, tensor: name });
  }
  // Every bound is checked before anything is allocated: sizes and strides are plain non-negative
  // integers, the view has no more elements than its storage (a stride-0 view of a tiny storage
  // declaring 400 M elements used to allocate 1.6 GB), and it stays inside the storage.
  const plain = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!t.size.every(plain) || !t.stride.every(plain) || !plain(t.offset) || t.size.length !== t.stride.length) {
    throw new CheckpointError('CORRUPT', `${file}: tensor ${name} has an invalid size, stride or offset`, { file, tensor: name });
  }
  const n = numel(t.size);
  if (!Number.isSafeInteger(n) || n > storageNumel) {
    throw new CheckpointError('CORRUPT', `${file}: tensor ${name} declares ${n} elements, more than its storage holds (${storageNumel})`, { file, tensor: name, elements: n, storageNumel });
  }
  if (n > 0) {
    // Highest element index the view touches, to bounds-check before reading.
    let last = t.offset;
    for (let d = 0; d < t.size.length; d++) last += (t.size[d] - 1) * t.stride[d];
    if (last >= storageNumel) {
      throw new CheckpointError('CORRUPT', `${file}: tensor ${name} reaches element ${last} of a storage of ${storageNumel}`, { file, tensor: name });
    }
  }
  const out = new Float32Array(n);
  if (n > 0) {
    const contiguous = isContiguous(t.size, t.stride);
    if (contiguous && dtype.name === 'float32' && littleEndian) {
      const start = t.offset * 4;
      const copy = Buffer.from(bytes.subarray(start, start + n * 4)); // fresh, aligned copy
      out.set(new Float32Array(copy.buffer, copy.byteOffset, n));
    } else {
      const rank = t.size.length;
      const idx = new Array<number>(rank).fill(0);
      let src = t.offset;
      for (let i = 0; i < n; i++) {
        out[i] = dtype.read(bytes, src * dtype.bytes, littleEndian);
        // Odometer over the row-major output index, moving the source offset by the strides.
        for (let d = rank - 1; d >= 0; d--) {
          idx[d]++;
          src += t.stride[d];
          if (idx[d] < t.size[d]) break;
          src -= t.stride[d] * t.size[d];
          idx[d] = 0;
        }
      }
    }
  }
  return { shape: [...t.size], data: out };
}

function isContiguous(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d];
  }
  return true;
}
