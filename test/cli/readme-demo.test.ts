/**
 * The README's "Try it" commands, run as written (`npx webtoon ...` through bash) in a clone-like copy
 * of the repository in a temp folder: the files git would hand a new operator (tracked and not
 * ignored), with this checkout's node_modules linked in place of `npm ci`. Nothing outside that
 * folder may be needed (no ../shared), the output lands in demo/, never in MODELS_DIR, and git
 * ignores it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/models.ts';

/** The shell commands between the README's demo markers. */
export function readmeDemoCommands(readme: string): string[] {
  const block = /<!-- demo:start -->\s*```sh\n([\s\S]*?)```\s*<!-- demo:end -->/.exec(readme);
  if (!block) throw new Error('README.md has no <!-- demo:start --> ```sh ... ``` <!-- demo:end --> block');
  return block[1]
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.length > 0);
}

const home = mkdtempSync(path.join(os.tmpdir(), 'webtoon-clone-home-'));

function run(cmd: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', cmd], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: home, npm_config_cache: path.join(os.tmpdir(), 'webtoon-demo-npm-cache'), npm_config_update_notifier: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe("the README's demo on a clone-like copy", () => {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'webtoon-clone-'));
  const clone = path.join(parent, 'webtoon-faces');
  const commands = readmeDemoCommands(readFileSync(path.join(repoRoot, 'README.md'), 'utf8'));

  beforeAll(() => {
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f && existsSync(path.join(repoRoot, f)));
    for (const f of files) {
      mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
      cpSync(path.join(repoRoot, f), path.join(clone, f));
    }
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
    const git = (...args: string[]) => execFileSync('git', args, { cwd: clone, stdio: 'ignore' });
    git('init', '-q');
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'clone');
  }, 60_000);
  afterAll(() => {
    rmSync(parent, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('is two webtoon commands', () => {
    expect(commands).toEqual([
      'npx webtoon demo',
      'npx webtoon translate assets/demo/astronaut.jpg --model demo/tiny-a2b.onnx -o demo/out.png --attention --side-by-side',
    ]);
  });

  it('produces the PNGs from the clone alone, in demo/ (ignored by git), never in MODELS_DIR, without warnings', async () => {
    expect(existsSync(path.join(clone, '../shared'))).toBe(false);
    for (const cmd of commands) {
      const r = await run(cmd, clone);
      expect(r.code, `${cmd}\n${r.stderr}`).toBe(0);
      expect(r.stderr, cmd).not.toMatch(/npm warn|"level":[456]0|\bWARN\b|Error|^Warning/m);
      // One info line names the ONNX Runtime provider (no CUDA here), whatever the command ran inside.
      expect(r.stderr.match(/onnxruntime runs on cpu/g), `${cmd}\n${r.stderr}`).toHaveLength(1);
    }
    for (const [file, width] of [['demo/astronaut.a2b.png', 512], ['demo/out.png', 512]] as const) {
      const meta = await sharp(path.join(clone, file)).metadata();
      expect(meta.format, file).toBe('png');
      expect([meta.width, meta.height], file).toEqual([width, 256]);
    }
    expect(existsSync(path.join(clone, 'models'))).toBe(false);
    expect(existsSync(path.join(clone, 'demo/tiny-a2b.onnx'))).toBe(true);
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' })).toBe('');
  }, 240_000);

  it('refuses an output folder inside MODELS_DIR and writes nothing there', async () => {
    const r = await run('npx webtoon demo --out models/demo', clone);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('webtoon: UsageError[USAGE]: --out models/demo is inside MODELS_DIR');
    expect(existsSync(path.join(clone, 'models'))).toBe(false);
  }, 120_000);
});
