/**
 * `webtoon train` as a user runs it (a child process through bin/webtoon.mjs): clean one-line errors
 * with a non-zero exit for bad input, and SIGINT finishing the current step, checkpointing and
 * exiting 0, after which --resume continues from that step.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeShapesDataset } from './trainer-helpers.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TINY_FLAGS = ['--light', '--img-size', '32', '--ngf', '4', '--n-res', '1', '--dis-layers-global', '4', '--dis-layers-local', '3', '--backend', 'wasm', '--sample-count', '1'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ReturnType<typeof spawn>>();

function webtoon(args: string[], onStart?: (child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/webtoon.mjs'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'info', NODE_ENV: 'development' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    children.add(child);
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
    onStart?.(child);
  });
}

async function lineCount(file: string): Promise<number> {
  try {
    return (await readFile(file, 'utf8')).trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

describe('webtoon train (CLI)', () => {
  let work: string;
  let data: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'webtoon-cli-'));
    data = await makeShapesDataset({ n: 4, nTest: 1, size: 36, root: path.join(work, 'data') });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL'); // a failed test must not leave a trainer running
    await rm(work, { recursive: true, force: true });
  });

  it('prints one clear error line and exits 1 for an image size the discriminator cannot take', async () => {
    const out = path.join(work, 'bad');
    const r = await webtoon(['train', '--data', data, '--out', out, '--img-size', '64', '--light', '--ngf', '4']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/TrainingError\[IMG_SIZE_INVALID\]: --img-size 64 is too small for a 7-layer discriminator/);
    await expect(stat(out)).rejects.toThrow();
  });

  it('exits 2 with a usage error when --data is missing', async () => {
    const r = await webtoon(['train', '--out', path.join(work, 'nodata')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--data <dir> is required/);
  });

  it('on SIGINT finishes the step, checkpoints, exits 0; --resume continues from there', async () => {
    const out = path.join(work, 'sigint');
    const lossesFile = path.join(out, 'losses.jsonl');
    const r = await webtoon(['train', '--data', data, '--out', out, ...TINY_FLAGS, '--iterations', '500', '--save-every', '500', '--sample-every', '500'], (child) => {
      const poll = setInterval(async () => {
        if ((await lineCount(lossesFile)) >= 2) {
          clearInterval(poll);
          child.kill('SIGINT');
        }
      }, 100);
      child.on('close', () => clearInterval(poll));
    });
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { step: number; stoppedEarly: boolean; checkpoint: string };
    expect(summary.stoppedEarly).toBe(true);
    expect(summary.step).toBeGreaterThanOrEqual(2);
    expect(await lineCount(lossesFile)).toBe(summary.step);
    expect(await readdir(path.join(out, 'checkpoints'))).toEqual([`step_${String(summary.step).padStart(7, '0')}`]);
    expect(r.stderr).toMatch(/interrupted: finishing the current step/);
    expect(r.stderr).toMatch(/training on tfjs backend wasm/);
    // default --workers auto: one data-parallel replica per core
    expect(r.stderr).toMatch(/\d+ workers? × batch 1 = effective batch \d+/);

    const resumed = await webtoon(['train', '--out', out, '--resume', '--iterations', String(summary.step + 1)]);
    expect(resumed.code).toBe(0);
    const s2 = JSON.parse(resumed.stdout.trim().split('\n').pop()!) as { startStep: number; step: number };
    expect(s2).toMatchObject({ startStep: summary.step, step: summary.step + 1 });
    expect(resumed.stderr).toContain(`resuming from step ${summary.step} of ${summary.step + 1} (`);
    expect(resumed.stderr).toContain(`step_${String(summary.step).padStart(7, '0')})`);
    expect(await lineCount(lossesFile)).toBe(summary.step + 1);
  }, 300_000); // two CLI processes, each starting one worker thread per core (tsx + tfjs-wasm each)
});
