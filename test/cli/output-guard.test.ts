import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOwnCheckpointDir, refuseOverwrite, whyNotReplaceable } from '../../src/cli/output-guard.ts';
import { importTorchCheckpoint } from '../../src/training/torch-import/import-torch.ts';
import { runWebtoon } from '../helpers/cli.ts';
import { exportedTestModels, fixtureCheckpoint } from '../helpers/models.ts';
import { astronautPath } from '../inference/sample-images.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'webtoon-guard-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('refuseOverwrite', () => {
  it('refuses an existing file without --force, naming the flag, and allows it with --force or when absent', () => {
    const file = path.join(tmp, 'out.png');
    expect(() => refuseOverwrite(file, false)).not.toThrow();
    writeFileSync(file, 'mine');
    expect(() => refuseOverwrite(file, false)).toThrow(/already exists; pass --force to overwrite it/);
    expect(() => refuseOverwrite(file, true)).not.toThrow();
    expect(() => refuseOverwrite(tmp, true)).toThrow(/is a folder/);
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });
});

describe('webtoon translate', () => {
  it('leaves an existing output file alone without --force, and writes nothing', async () => {
    // Before: translate (like export and report --chart) overwrote the file without asking.
    const models = await exportedTestModels();
    const out = path.join(tmp, 'mine.png');
    writeFileSync(out, 'a file of the user');
    const refused = await runWebtoon(['translate', astronautPath, '-o', out, '--model', models.a2b]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/already exists; pass --force to overwrite it/);
    expect(readFileSync(out, 'utf8')).toBe('a file of the user');
    const forced = await runWebtoon(['translate', astronautPath, '-o', out, '--model', models.a2b, '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(out).subarray(1, 4).toString()).toBe('PNG');
  });
});

describe('import-torch --force', () => {
  it('never deletes the current folder, a parent of it, or a folder that is not its own output', async () => {
    // Before: `import-torch -o . --force` deleted the current directory.
    expect(whyNotReplaceable(process.cwd())).toMatch(/current folder/);
    expect(whyNotReplaceable(path.dirname(process.cwd()))).toMatch(/current folder or one of its parents/);
    const precious = path.join(tmp, 'precious');
    mkdirSync(precious);
    writeFileSync(path.join(precious, 'thesis.tex'), 'years of work');
    const err = await importTorchCheckpoint({ file: fixtureCheckpoint, outDir: precious, force: true }).then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).toBe('OUTPUT_EXISTS');
    expect(err?.message).toMatch(/will not be replaced, even with --force: it is not a checkpoint folder written by webtoon/);
    expect(readFileSync(path.join(precious, 'thesis.tex'), 'utf8')).toBe('years of work');
  });

  it('replaces its own earlier output with --force', async () => {
    const out = path.join(tmp, 'ck');
    await importTorchCheckpoint({ file: fixtureCheckpoint, outDir: out });
    expect(isOwnCheckpointDir(out)).toBe(true);
    await expect(importTorchCheckpoint({ file: fixtureCheckpoint, outDir: out })).rejects.toThrow(/pass --force/);
    await importTorchCheckpoint({ file: fixtureCheckpoint, outDir: out, force: true });
    expect(existsSync(path.join(out, 'weights.safetensors'))).toBe(true);
    writeFileSync(path.join(out, 'notes.txt'), 'added by the user');
    expect(isOwnCheckpointDir(out)).toBe(false); // something of the user's inside: not ours any more
    await expect(importTorchCheckpoint({ file: fixtureCheckpoint, outDir: out, force: true })).rejects.toThrow(/not a checkpoint folder written by webtoon/);
  });
});
