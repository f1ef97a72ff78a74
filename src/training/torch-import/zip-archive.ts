/**
 * A read-only zip reader with random access, enough for PyTorch's `torch.save` archives: it parses the
 * central directory (zip64 included, since multi-GB full-mode checkpoints need it) and reads single
 * entries from the open file, so a large checkpoint is never loaded into memory whole. Stored entries
 * are read as is; deflated ones (not written by PyTorch, but produced by re-zipping tools) go through
 * fflate.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateSync } from 'fflate';
import { CheckpointError } from '../training.errors.ts';

/** One file inside the archive. */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;

/** An open zip file. Call {@link ZipArchive.close} when done. */
export class ZipArchive {
  readonly entries: Map<string, ZipEntry>;
  private fd: number | null;
  private readonly fileSize: number;

  private constructor(
    private readonly file: string,
    fd: number,
    fileSize: number,
    entries: Map<string, ZipEntry>,
  ) {
    this.fd = fd;
    this.fileSize = fileSize;
    this.entries = entries;
  }

  /**
   * Open `file` and read its central directory.
   * @throws CheckpointError NOT_A_ZIP when the file is not a zip at all, CORRUPT when it is a damaged one.
   */
  static open(file: string): ZipArchive {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const head = readAt(fd, 0, Math.min(8, size));
      const isZip = head.length >= 4 && head.readUInt32LE(0) === SIG_LOCAL;
      if (!isZip) {
        const legacyPickle = head.length >= 2 && head[0] === 0x80;
        throw new CheckpointError(
          'NOT_A_ZIP',
          legacyPickle
            ? `${file} is a legacy (pre-1.6, non-zip) torch.save file; re-save it with torch>=1.6 (_use_new_zipfile_serialization=True)`
            : `${file} is not a zip archive, so it is not a PyTorch checkpoint (expected the zip format of torch.save)`,
          { file, firstBytes: head.toString('hex') },
        );
      }
      const entries = readCentralDirectory(fd, size, file);
      return new ZipArchive(file, fd, size, entries);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** The bytes of entry `name` (decompressed). */
  read(name: string): Buffer {
    const entry = this.entries.get(name);
    if (!entry) throw new CheckpointError('CORRUPT', `zip entry ${name} is missing in ${this.file}`, { file: this.file, entry: name });
    return this.readEntry(entry);
  }

  /** The bytes of `entry` (decompressed). */
  readEntry(entry: ZipEntry): Buffer {
    const fd = this.requireOpen();
    const local = readAt(fd, entry.localHeaderOffset, 30);
    if (local.length < 30 || local.readUInt32LE(0) !== SIG_LOCAL) {
      throw this.corrupt(`local header of ${entry.name} is missing or damaged`, entry);
    }
    const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (dataStart + entry.compressedSize > this.fileSize) throw this.corrupt(`entry ${entry.name} runs past the end of the file (truncated?)`, entry);
    const raw = readAt(fd, dataStart, entry.compressedSize);
    if (entry.method === 0) return raw;
    if (entry.method === 8) {
      try {
        const out = inflateSync(raw, { out: new Uint8Array(entry.size) });
        return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      } catch (err) {
        throw new CheckpointError('CORRUPT', `cannot inflate zip entry ${entry.name} of ${this.file}`, { file: this.file, entry: entry.name }, { cause: err });
      }
    }
    throw new CheckpointError('CORRUPT', `zip entry ${entry.name} uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`, {
      file: this.file,
      entry: entry.name,
      method: entry.method,
    });
  }

  /** Close the file. Safe to call twice. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private requireOpen(): number {
    if (this.fd === null) throw new Error(`ZipArchive ${this.file} is closed`);
    return this.fd;
  }

  private corrupt(message: string, entry: ZipEntry): CheckpointError {
    return new CheckpointError('CORRUPT', `${this.file}: ${message}`, { file: this.file, entry: entry.name });
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

function readCentralDirectory(fd: number, size: number, file: string): Map<string, ZipEntry> {
  const corrupt = (why: string): CheckpointError =>
    new CheckpointError('CORRUPT', `${file} is a damaged zip archive (${why}); the file may be truncated`, { file, size });
  // The end-of-central-directory record sits in the last 22..22+65535 bytes.
  const tailLen = Math.min(size, EOCD_MIN + MAX_COMMENT);
  const tail = readAt(fd, size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - EOCD_MIN; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt('no end-of-central-directory record');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // zip64: the locator (20 bytes) precedes the EOCD and points at the zip64 EOCD record.
    const locAt = eocd - 20;
    if (locAt < 0 || tail.readUInt32LE(locAt) !== SIG_EOCD64_LOCATOR) throw corrupt('zip64 locator missing');
    const eocd64Offset = Number(tail.readBigUInt64LE(locAt + 8));
    const rec = readAt(fd, eocd64Offset, 56);
    if (rec.length < 56 || rec.readUInt32LE(0) !== SIG_EOCD64) throw corrupt('zip64 end record missing');
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > size) throw corrupt('central directory lies past the end of the file');
  const cd = readAt(fd, cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw corrupt(`central directory entry ${i} is damaged`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let uncompressedSize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen > cd.length) throw corrupt(`central directory entry ${i} is cut short`);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    if (flags & 0x1) throw new CheckpointError('CORRUPT', `${file}: zip entry ${name} is encrypted`, { file, entry: name });
    // zip64 extended information: only the fields that overflowed are present, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (uncompressedSize === 0xffffffff) { uncompressedSize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (compressedSize === 0xffffffff) { compressedSize = Number(cd.readBigUInt64LE(q)); q += 8; }
        if (localHeaderOffset === 0xffffffff) { localHeaderOffset = Number(cd.readBigUInt64LE(q)); }
      }
      e += 4 + len;
    }
    entries.set(name, { name, method, compressedSize, size: uncompressedSize, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
