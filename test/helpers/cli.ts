/**
 * Run the real `webtoon` entry (bin/webtoon.mjs) as a child process, the way a user does, with a
 * minimal environment (no inherited settings, errors-only logs, CPU inference) plus `env`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './models.ts';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * @param env - settings added to the minimal environment
 * @param nodeFlags - flags for node itself, before the entry (e.g. `--import` of a loader hook)
 */
export function runWebtoon(args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, path.join(repoRoot, 'bin/webtoon.mjs'), ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'error', ORT_PROVIDERS: 'cpu', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
