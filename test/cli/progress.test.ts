/** The phase progress bar of export and import-torch, and the phases those report. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { phaseProgress } from '../../src/cli/progress.ts';
import { exportGenerator, type ExportPhase } from '../../src/training/export/exporter.ts';
import { randomGeneratorState } from '../../src/training/export/random-state.ts';
import { importTorchCheckpoint, type ImportPhase } from '../../src/training/torch-import/import-torch.ts';
import { fixtureCheckpoint } from '../helpers/models.ts';

function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  let text = '';
  const s = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  }) as Writable & { isTTY: boolean; text: () => string };
  s.isTTY = isTTY;
  s.text = () => text;
  return s;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'webtoon-progress-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('phaseProgress', () => {
  it('draws the label, the phase it is in out of how many, and what it does', () => {
    const stream = sink(true);
    const sut = phaseProgress('export', { load: 'loading', verify: 'verifying against tfjs' }, { stream, force: true });
    sut.phase('verify');
    sut.stop();
    const text = stream.text();
    expect(text).toMatch(/export \|[█░]+\| 1\/2 verifying against tfjs \| 0:0\d/);
    expect(text).toMatch(/export \|█+\| 2\/2 done/);
  });

  it('writes nothing where the stream is not a terminal (logs tell the story there)', () => {
    const stream = sink(false);
    const sut = phaseProgress('export', { load: 'loading' }, { stream });
    sut.phase('load');
    sut.stop();
    expect(stream.text()).toBe('');
  });
});

describe('phases reported by the long commands', () => {
  const cfg = { variant: 'pytorch', light: true, ngf: 4, n_blocks: 1, img_size: 16, step: 0 } as const;

  it('exportGenerator: load, graph, verify, write (no verify with verify: false)', async () => {
    for (const verify of [true, false]) {
      const phases: ExportPhase[] = [];
      await exportGenerator({ state: { genA2B: randomGeneratorState(cfg, 3) }, config: cfg, direction: 'a2b', outPath: path.join(work, `g-${verify}.onnx`), verify, verifySize: 16, onPhase: (p) => phases.push(p) });
      expect(phases).toEqual(verify ? ['load', 'graph', 'verify', 'write'] : ['load', 'graph', 'write']);
    }
  }, 120_000);

  it('importTorchCheckpoint: read, check, write, hash', async () => {
    const phases: ImportPhase[] = [];
    await importTorchCheckpoint({ file: fixtureCheckpoint, outDir: path.join(work, 'ck'), onPhase: (p) => phases.push(p) });
    expect(phases).toEqual(['read', 'check', 'write', 'hash']);
  }, 120_000);
});
