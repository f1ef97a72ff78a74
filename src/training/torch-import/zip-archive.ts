/**
 * Random access to the entries of a `torch.save` zip archive, on yauzl (which parses the central
 * directory, zip64 included, and streams single entries from the open file, so a large checkpoint is
 * never loaded into memory whole). What this module adds is the refusal of hostile archives before
 * anything is allocated, and typed errors: every declared size is checked against the bytes that can
 * back it (an entry's compressed size is capped by the file's size; a stored entry is exactly its
 * compressed size; deflate expands at most 1032:1), so a 136-byte zip declaring a 3 GB entry is
 * refused at once instead of being allocated, and every failure is a {@link CheckpointError}.
 */
import { constants as bufferConstants } from 'node:buffer';
import { open as openFile } from 'node:fs/promises';
import yauzl from 'yauzl';
import { CheckpointError } from '../training.errors.ts';

/** One file inside the archive, as its central directory declares it. */
export interface ZipEntry {
  name: string;
  /** Compression method: 0 stored, 8 deflate (the only two read). */
  method: number;
  compressedSize: number;
  /** Declared uncompressed size (checked against what can back it when the archive is opened). */
  size: number;
}

const SIG_LOCAL = 0x04034b50;
/** Deflate's largest possible expansion ratio. */
const MAX_DEFLATE_RATIO = 1032;
/** Largest entry read into memory (a Buffer's limit; the largest official tensor is 1 GiB). */
const MAX_ENTRY_BYTES = Math.min(2 ** 32 - 1, bufferConstants.MAX_LENGTH);

/** An open zip file. Call {@link ZipArchive.close} when done. */
export class ZipArchive {
  /** The entries, by name. */
  readonly entries: ReadonlyMap<string, ZipEntry>;

  private constructor(
    private readonly file: string,
    private readonly zip: yauzl.ZipFile,
    private readonly byName: Map<string, { entry: ZipEntry; raw: yauzl.Entry }>,
  ) {
    this.entries = new Map([...byName].map(([name, e]) => [name, e.entry]));
  }

  /**
   * Open `file` and read its central directory, checking every entry's declared sizes.
   * @throws CheckpointError NOT_A_ZIP when the file is not a zip at all, CORRUPT when it is a damaged or
   *   hostile one (sizes that its bytes cannot back, encryption, names that escape the archive).
   */
  static async open(file: string): Promise<ZipArchive> {
    const fileSize = await checkZipSignature(file);
    let zip: yauzl.ZipFile;
    try {
      zip = await yauzl.openPromise(file, { autoClose: false, validateEntrySizes: true, strictFileNames: false });
    } catch (err) {
      throw damaged(file, fileSize, err);
    }
    const entries = new Map<string, { entry: ZipEntry; raw: yauzl.Entry }>();
    try {
      for await (const raw of zip.eachEntry()) {
        const entry: ZipEntry = { name: raw.fileName, method: raw.compressionMethod, compressedSize: raw.compressedSize, size: raw.uncompressedSize };
        checkDeclaredSizes(file, fileSize, entry);
        if (raw.isEncrypted()) throw new CheckpointError('CORRUPT', `${file}: zip entry ${entry.name} is encrypted`, { file, entry: entry.name });
        entries.set(entry.name, { entry, raw });
      }
    } catch (err) {
      zip.close();
      throw err instanceof CheckpointError ? err : damaged(file, fileSize, err);
    }
    return new ZipArchive(file, zip, entries);
  }

  /**
   * The bytes of entry `name` (decompressed), in one buffer of exactly its declared size.
   * @throws CheckpointError CORRUPT when the entry is missing, uses another compression method, or its
   *   data does not match its declared size.
   */
  async read(name: string): Promise<Buffer> {
    const found = this.byName.get(name);
    if (!found) throw new CheckpointError('CORRUPT', `zip entry ${name} is missing in ${this.file}`, { file: this.file, entry: name });
    const { entry, raw } = found;
    if (entry.method !== 0 && entry.method !== 8) {
      throw new CheckpointError('CORRUPT', `zip entry ${name} uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`, {
        file: this.file,
        entry: name,
        method: entry.method,
      });
    }
    const corrupt = (why: string, cause?: unknown): CheckpointError =>
      new CheckpointError('CORRUPT', `${this.file}: cannot read zip entry ${name} (${why})`, { file: this.file, entry: name }, cause === undefined ? undefined : { cause });
    // The size was checked against the file when the archive was opened, so this allocation is bounded.
    const out = Buffer.allocUnsafe(entry.size);
    let at = 0;
    try {
      const stream = await this.zip.openReadStreamPromise(raw);
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (at + chunk.length > out.length) {
          stream.destroy();
          throw corrupt(`more data than the declared ${entry.size} bytes`);
        }
        chunk.copy(out, at);
        at += chunk.length;
      }
    } catch (err) {
      throw err instanceof CheckpointError ? err : corrupt(err instanceof Error ? err.message : String(err), err);
    }
    if (at !== out.length) throw corrupt(`${at} bytes, the archive declares ${entry.size}`);
    return out;
  }

  /** Close the file (once every read has finished). Safe to call twice. */
  close(): void {
    this.zip.close();
  }
}

/**
 * Read the first bytes of `file` so that a file that is not a zip at all gets its own error (and a
 * legacy, pre-1.6 pickle is named as such). Returns the file's size.
 */
async function checkZipSignature(file: string): Promise<number> {
  const handle = await openFile(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(8, size));
    await handle.read(head, 0, head.length, 0);
    if (head.length >= 4 && head.readUInt32LE(0) === SIG_LOCAL) return size;
    const legacyPickle = head.length >= 2 && head[0] === 0x80;
    throw new CheckpointError(
      'NOT_A_ZIP',
      legacyPickle
        ? `${file} is a legacy (pre-1.6, non-zip) torch.save file; re-save it with torch>=1.6 (_use_new_zipfile_serialization=True)`
        : `${file} is not a zip archive, so it is not a PyTorch checkpoint (expected the zip format of torch.save)`,
      { file, firstBytes: head.toString('hex') },
    );
  } finally {
    await handle.close();
  }
}

/** Refuse sizes that the file's bytes cannot back, before anything is allocated for them. */
function checkDeclaredSizes(file: string, fileSize: number, entry: ZipEntry): void {
  if (entry.compressedSize > fileSize) {
    throw new CheckpointError('CORRUPT', `${file}: zip entry ${entry.name} declares ${entry.compressedSize} stored bytes, more than the whole file (${fileSize})`, {
      file,
      entry: entry.name,
      compressedSize: entry.compressedSize,
      fileSize,
    });
  }
  const canHold = entry.method === 0 ? entry.compressedSize : entry.compressedSize * MAX_DEFLATE_RATIO + 1024;
  if (entry.size > canHold || entry.size > MAX_ENTRY_BYTES) {
    throw new CheckpointError('CORRUPT', `${file}: zip entry ${entry.name} declares ${entry.size} bytes, more than its ${entry.compressedSize} stored bytes can hold`, {
      file,
      entry: entry.name,
      size: entry.size,
      compressedSize: entry.compressedSize,
    });
  }
}

function damaged(file: string, size: number, err: unknown): CheckpointError {
  const why = err instanceof Error ? err.message : String(err);
  return new CheckpointError('CORRUPT', `${file} is a damaged zip archive (${why}); the file may be truncated`, { file, size }, { cause: err });
}
