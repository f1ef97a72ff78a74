import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCalibrationCrops } from '../../src/training/export/calibration-images.ts';
import { astronautPath } from '../inference/sample-images.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'webtoon-calibration-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadCalibrationCrops', () => {
  it('skips files the media module refuses, naming the shared refusal code, and keeps the readable ones', async () => {
    copyFileSync(astronautPath, path.join(dir, 'astronaut.png'));
    writeFileSync(path.join(dir, 'broken.jpg'), 'this is not a picture, just some words\n');
    writeFileSync(path.join(dir, 'empty.png'), '');
    const sut = await loadCalibrationCrops(dir, { direction: 'a2b', size: 64, threads: 1 });
    expect(sut.skipped).toEqual(['broken.jpg: UNSUPPORTED_FORMAT', 'empty.png: EMPTY_FILE']);
    expect(sut.crops.length).toBeGreaterThanOrEqual(1);
    expect(sut.crops.every((c) => c.source.startsWith('astronaut.png#'))).toBe(true);
  });
});
