/**
 * A safe, data-only reader for the pickles inside PyTorch checkpoints. It interprets the opcodes that
 * `torch.save` emits (protocol 2, plus the protocol 3–5 framing ones) and NEVER executes anything:
 * GLOBAL only resolves names from a fixed whitelist, and REDUCE only "calls" the few whitelisted
 * constructors, each replaced by a pure TypeScript function that builds plain data. Any other opcode or
 * global is refused with a typed error naming it.
 */
import { CheckpointError } from '../training.errors.ts';

/** A storage referenced through a persistent id `('storage', <type>, key, location, numel)`. */
export interface StorageRef {
  kind: 'storage';
  storageType: string;
  key: string;
  location: string;
  numel: number;
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage (materialised later). */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}

/** A whitelisted global, resolved by name; calling it means running our own pure builder. */
export interface GlobalRef {
  kind: 'global';
  module: string;
  name: string;
}

/** A dict (or OrderedDict); `state` is what BUILD set on it (e.g. a state_dict's `_metadata`). */
export class PyDict {
  readonly kind = 'dict';
  readonly entries = new Map<PyKey, PyValue>();
  state: PyValue | undefined;
}

export type PyKey = string | number | bigint | boolean | null;
export type PyValue = PyKey | Uint8Array | PyValue[] | PyDict | GlobalRef | StorageRef | TensorRef;

type Builder = (args: PyValue[]) => PyValue;

/** The storage types a tensor can name; their element type is decided when the tensor is materialised. */
export const STORAGE_TYPES = [
  'FloatStorage',
  'DoubleStorage',
  'HalfStorage',
  'BFloat16Storage',
  'LongStorage',
  'IntStorage',
  'ShortStorage',
  'CharStorage',
  'ByteStorage',
  'BoolStorage',
] as const;

const BUILDERS: Record<string, Builder | null> = {
  'collections.OrderedDict': (args) => {
    if (args.length !== 0) throw corrupt('OrderedDict called with arguments');
    return new PyDict();
  },
  'torch._utils._rebuild_tensor_v2': (args) => rebuildTensor(args, 6),
  'torch._utils._rebuild_tensor': (args) => rebuildTensor(args, 4),
  'torch._utils._rebuild_parameter': (args) => rebuildParameter(args),
  'torch._utils._rebuild_parameter_with_state': (args) => rebuildParameter(args),
  'torch._utils._rebuild_from_type_v2': (args) => rebuildFromType(args),
  // Tensor classes named by _rebuild_from_type_v2; never called.
  'torch._tensor.Tensor': null,
  'torch.Tensor': null,
  'torch.nn.parameter.Parameter': null,
  // Storage types are referenced by persistent ids only; they are never called.
  ...Object.fromEntries(STORAGE_TYPES.map((t) => [`torch.${t}`, null])),
};

/** The globals a checkpoint pickle may name; everything else is FORBIDDEN_GLOBAL. */
export const ALLOWED_GLOBALS: readonly string[] = Object.keys(BUILDERS);

const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

function corrupt(message: string, details: Record<string, unknown> = {}): CheckpointError {
  return new CheckpointError('CORRUPT', `checkpoint pickle is damaged: ${message}`, details);
}

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

/** Options of {@link unpickle}. */
export interface UnpickleOptions {
  /** Resolve a persistent id (the tuple after BINPERSID) into a value. Required for torch checkpoints. */
  persistentLoad?: (pid: PyValue) => PyValue;
  /** Shown in error messages (e.g. `params/data.pkl`). */
  source?: string;
}

/**
 * Interpret `bytes` as a pickle and return the object it describes, as plain data.
 * @throws CheckpointError UNSUPPORTED_PICKLE_OPCODE, FORBIDDEN_GLOBAL or CORRUPT.
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions = {}): PyValue {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const source = opts.source ?? 'pickle';
  const stack: StackItem[] = [];
  const memo = new Map<number, PyValue>();
  let pos = 0;

  const need = (n: number): void => {
    if (pos + n > buf.length) throw corrupt(`${source} ends in the middle of an opcode at byte ${pos}`, { source, pos });
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw corrupt(`stack underflow at byte ${pos} in ${source}`, { source, pos });
    return v;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw corrupt(`empty stack at byte ${pos} in ${source}`, { source, pos });
    return v;
  };
  const popMark = (): PyValue[] => {
    const items: PyValue[] = [];
    for (;;) {
      const v = stack.pop();
      if (v === undefined) throw corrupt(`MARK missing at byte ${pos} in ${source}`, { source, pos });
      if (v === MARK) return items.reverse();
      items.push(v);
    }
  };
  const readString = (n: number, encoding: BufferEncoding): string => {
    need(n);
    const s = buf.toString(encoding, pos, pos + n);
    pos += n;
    return s;
  };
  const resolveGlobal = (module: string, name: string): GlobalRef => {
    const qualified = `${module}.${name}`;
    if (!Object.prototype.hasOwnProperty.call(BUILDERS, qualified)) {
      throw new CheckpointError(
        'FORBIDDEN_GLOBAL',
        `${source} names the global ${qualified}, which a weights checkpoint never needs; refusing it (nothing was executed)`,
        { source, global: qualified, allowed: ALLOWED_GLOBALS },
      );
    }
    return { kind: 'global', module, name };
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (!(target instanceof PyDict)) throw corrupt(`SETITEM(S) on a non-dict at byte ${pos} in ${source}`, { source, pos });
    if (items.length % 2 !== 0) throw corrupt(`odd number of items for SETITEMS at byte ${pos}`, { source, pos });
    for (let i = 0; i < items.length; i += 2) target.entries.set(asKey(items[i], pos, source), items[i + 1]);
  };
  const appendItems = (target: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(target) || Object.isFrozen(target)) throw corrupt(`APPEND(S) on a non-list at byte ${pos}`, { source, pos });
    target.push(...items);
  };

  for (;;) {
    need(1);
    const at = pos;
    const op = buf[pos++];
    switch (op) {
      case 0x80: // PROTO
        need(1);
        if (buf[pos] > 5) throw corrupt(`unknown pickle protocol ${buf[pos]}`, { source });
        pos += 1;
        break;
      case 0x95: // FRAME: an 8-byte length that only hints at buffering
        need(8);
        pos += 8;
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(buf.readInt32LE(pos));
        pos += 4;
        break;
      case 0x4b: // BININT1
        need(1);
        stack.push(buf[pos]);
        pos += 1;
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(buf.readUInt16LE(pos));
        pos += 2;
        break;
      case 0x8a: { // LONG1: n-byte little-endian two's complement
        need(1);
        const n = buf[pos++];
        need(n);
        stack.push(readLong(buf.subarray(pos, pos + n)));
        pos += n;
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(buf.readDoubleBE(pos));
        pos += 8;
        break;
      case 0x58: { // BINUNICODE
        need(4);
        const n = buf.readUInt32LE(pos);
        pos += 4;
        stack.push(readString(n, 'utf8'));
        break;
      }
      case 0x8c: { // SHORT_BINUNICODE
        need(1);
        const n = buf[pos++];
        stack.push(readString(n, 'utf8'));
        break;
      }
      case 0x8d: { // BINUNICODE8
        need(8);
        const n = Number(buf.readBigUInt64LE(pos));
        pos += 8;
        stack.push(readString(n, 'utf8'));
        break;
      }
      case 0x54: { // BINSTRING (python 2 str)
        need(4);
        const n = buf.readInt32LE(pos);
        pos += 4;
        if (n < 0) throw corrupt('negative BINSTRING length', { source, pos });
        stack.push(readString(n, 'latin1'));
        break;
      }
      case 0x55: { // SHORT_BINSTRING
        need(1);
        const n = buf[pos++];
        stack.push(readString(n, 'latin1'));
        break;
      }
      case 0x42: // BINBYTES
      case 0x43: { // SHORT_BINBYTES
        const width = op === 0x42 ? 4 : 1;
        need(width);
        const n = width === 4 ? buf.readUInt32LE(pos) : buf[pos];
        pos += width;
        need(n);
        stack.push(Uint8Array.from(buf.subarray(pos, pos + n)));
        pos += n;
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push(Object.freeze([] as PyValue[]) as PyValue[]);
        break;
      case 0x74: // TUPLE
        stack.push(Object.freeze(popMark()) as PyValue[]);
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: { // TUPLE3
        const n = op - 0x84;
        const items: PyValue[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push(Object.freeze(items) as PyValue[]);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: { // DICT
        const items = popMark();
        const d = new PyDict();
        setItems(d, items);
        stack.push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        need(1);
        memo.set(buf[pos++], top());
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        memo.set(buf.readUInt32LE(pos), top());
        pos += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const width = op === 0x68 ? 1 : 4;
        need(width);
        const idx = width === 1 ? buf[pos] : buf.readUInt32LE(pos);
        pos += width;
        if (!memo.has(idx)) throw corrupt(`memo slot ${idx} read before it was written (byte ${at})`, { source, pos: at });
        stack.push(memo.get(idx) as PyValue);
        break;
      }
      case 0x63: { // GLOBAL "module\nname\n"
        const nl1 = buf.indexOf(0x0a, pos);
        const nl2 = nl1 < 0 ? -1 : buf.indexOf(0x0a, nl1 + 1);
        if (nl2 < 0) throw corrupt(`unterminated GLOBAL at byte ${at}`, { source, pos: at });
        const module = buf.toString('utf8', pos, nl1);
        const name = buf.toString('utf8', nl1 + 1, nl2);
        pos = nl2 + 1;
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw corrupt(`STACK_GLOBAL without strings at byte ${at}`, { source });
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x52: { // REDUCE: callable(*args), where callable must be a whitelisted builder
        const args = pop();
        const callable = pop();
        stack.push(callBuilder(callable, args, source, at));
        break;
      }
      case 0x62: { // BUILD: obj.__setstate__(state); only dicts accept state, stored as data
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict)) throw corrupt(`BUILD on a ${describe(obj)} at byte ${at}`, { source, pos: at });
        obj.state = state;
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) throw corrupt(`persistent id at byte ${at} but no persistent loader`, { source });
        stack.push(opts.persistentLoad(pid));
        break;
      }
      default: {
        const name = OPCODE_NAMES[op] ?? 'unknown';
        throw new CheckpointError(
          'UNSUPPORTED_PICKLE_OPCODE',
          `${source} uses pickle opcode ${name} (0x${op.toString(16).padStart(2, '0')}) at byte ${at}, which a weights checkpoint does not need; refusing it`,
          { source, opcode: name, byte: op, pos: at },
        );
      }
    }
  }
}

function readLong(bytes: Buffer): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function asKey(v: PyValue, pos: number, source: string): PyKey {
  if (v === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof v)) return v as PyKey;
  throw corrupt(`unsupported dict key (${describe(v)}) at byte ${pos} in ${source}`, { source, pos });
}

/** A short human description of a pickled value, for messages. */
export function describe(v: PyValue | undefined): string {
  if (v === null) return 'None';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return Object.isFrozen(v) ? `tuple(${v.length})` : `list(${v.length})`;
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyDict) return 'dict';
  if (typeof v === 'object') return v.kind === 'global' ? `${v.module}.${v.name}` : v.kind;
  return typeof v;
}

function callBuilder(callable: PyValue, args: PyValue, source: string, at: number): PyValue {
  if (callable === null || typeof callable !== 'object' || Array.isArray(callable) || !('kind' in callable) || callable.kind !== 'global') {
    throw corrupt(`REDUCE on a ${describe(callable)} at byte ${at}`, { source, pos: at });
  }
  const qualified = `${callable.module}.${callable.name}`;
  const builder = BUILDERS[qualified];
  if (!builder) {
    throw new CheckpointError('FORBIDDEN_GLOBAL', `${source} tries to call ${qualified} at byte ${at}; refusing it (nothing was executed)`, {
      source,
      global: qualified,
    });
  }
  if (!Array.isArray(args)) throw corrupt(`REDUCE arguments are not a tuple at byte ${at}`, { source, pos: at });
  return builder(args);
}

function isIntArray(v: PyValue): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0);
}

function rebuildTensor(args: PyValue[], minArgs: number): TensorRef {
  const [storage, offset, size, stride] = args;
  if (args.length < minArgs || !storage || typeof storage !== 'object' || !('kind' in storage) || storage.kind !== 'storage') {
    throw corrupt('tensor rebuilt from something that is not a storage');
  }
  if (typeof offset !== 'number' || !isIntArray(size) || !isIntArray(stride) || size.length !== stride.length) {
    throw corrupt('tensor rebuilt with a malformed offset, size or stride');
  }
  return { kind: 'tensor', storage, offset, size: [...size], stride: [...stride] };
}

/** `_rebuild_from_type_v2(func, type, args, state)`: torch ≥ 1.12 wraps tensor subclasses this way. */
function rebuildFromType(args: PyValue[]): PyValue {
  const [func, type, inner] = args;
  const isGlobal = (v: PyValue | undefined): v is GlobalRef => !!v && typeof v === 'object' && !Array.isArray(v) && 'kind' in v && v.kind === 'global';
  if (!isGlobal(func) || !isGlobal(type) || !Array.isArray(inner)) throw corrupt('malformed _rebuild_from_type_v2');
  const builder = BUILDERS[`${func.module}.${func.name}`];
  if (!builder) throw corrupt(`_rebuild_from_type_v2 names ${func.module}.${func.name}, which is not a tensor builder`);
  return builder(inner);
}

function rebuildParameter(args: PyValue[]): PyValue {
  const data = args[0];
  if (!data || typeof data !== 'object' || !('kind' in data) || data.kind !== 'tensor') throw corrupt('parameter rebuilt from something that is not a tensor');
  return data;
}
