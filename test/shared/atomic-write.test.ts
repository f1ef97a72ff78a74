import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { atomicWrite, writeFileAtomic, writeFileAtomicSync } from '../../src/shared/atomic-write.ts';

const work = mkdtempSync(path.join(tmpdir(), 'atomic-write-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('writes the parts in order and replaces an existing file, leaving no temporary file', async () => {
    const sut = path.join(work, 'a.bin');
    writeFileSync(sut, 'old content');
    await writeFileAtomic(sut, [new Uint8Array([1, 2]), 'x', new Uint8Array([3])]);
    expect([...readFileSync(sut)]).toEqual([1, 2, 'x'.charCodeAt(0), 3]);
    expect(readdirSync(work).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('fails when the folder is missing and writes nothing', async () => {
    const sut = path.join(work, 'missing', 'b.txt');
    await expect(writeFileAtomic(sut, 'x')).rejects.toThrow(/ENOENT/);
    expect(readdirSync(work).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('writeFileAtomicSync', () => {
  it('writes text and cleans up on failure', () => {
    const sut = path.join(work, 'c.txt');
    writeFileAtomicSync(sut, 'hello');
    expect(readFileSync(sut, 'utf8')).toBe('hello');
    mkdirSync(path.join(work, 'dir-target'));
    expect(() => writeFileAtomicSync(path.join(work, 'dir-target'), 'x')).toThrow();
    expect(readdirSync(work).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('atomicWrite', () => {
  it('keeps the old file when the writer throws, and removes the temporary path', async () => {
    const sut = path.join(work, 'd.txt');
    writeFileSync(sut, 'kept');
    await expect(
      atomicWrite(sut, async (tmp) => {
        await writeFile(tmp, 'half');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(readFileSync(sut, 'utf8')).toBe('kept');
    expect(readdirSync(work).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('replaces a whole folder in directory mode', async () => {
    const sut = path.join(work, 'ckpt');
    mkdirSync(sut);
    writeFileSync(path.join(sut, 'stale.json'), '{}');
    await atomicWrite(
      sut,
      async (tmp) => {
        mkdirSync(tmp);
        writeFileSync(path.join(tmp, 'config.json'), '{"step":1}');
      },
      { directory: true },
    );
    expect(readdirSync(sut)).toEqual(['config.json']);
  });
});
