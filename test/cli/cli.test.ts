import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/webtoon.mjs');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const argv = [bin, ...args];
    const child = spawn(process.execPath, argv, { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'error' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('webtoon (the CLI entry)', () => {
  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const r = await run(['--version']);
    expect([r.code, r.stdout.trim(), r.stderr]).toEqual([0, version, '']);
  });

  it("leaves --version after a command name to that command's own option (export/translate --version <v>)", async () => {
    const r = await run(['translate', 'x.png', '--version']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/option '--version <v>' argument missing/);
  });

  it('--help lists every command and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const name of ['bot', 'register-commands', 'translate', 'worker', 'db', 'report', 'dataset', 'train', 'export', 'import-torch']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
  });

  it('exits 2 on a commander usage error: unknown option, missing argument, unknown command', async () => {
    for (const args of [['--bogus'], ['translate'], ['no-such-command']]) {
      const r = await run(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/^error: /);
    }
  });

  it('registers every command without loading tfjs, discord.js, onnxruntime, sharp, vega or the database drivers', () => {
    // Walk the static (non-type) imports from the CLI entry; heavy modules may only be imported dynamically, in actions.
    const sut = staticImportClosure([path.join(root, 'src/cli/index.ts'), ...commandFiles()]);
    expect(sut.files.length).toBeGreaterThan(10);
    expect(sut.packages.filter((p) => HEAVY.test(p))).toEqual([]);
  });

  it('the import walk finds a heavy package a module imports statically (so the check above can fail)', () => {
    const sut = staticImportClosure([path.join(root, 'src/inference/model.registry.ts'), path.join(root, 'src/training/trainer/trainer.ts')]);
    expect(sut.packages).toContain('@tensorflow/tfjs');
  });
});

const HEAVY = /^(@tensorflow\/|discord\.js|onnxruntime-node|sharp|vega|vega-lite|pg|@electric-sql\/|bullmq|ioredis|drizzle-orm)/;

function commandFiles(): string[] {
  const dir = path.join(root, 'src/cli/commands');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

/** Files reached through static value imports (`import x from`, `import { a } from`, `export … from`; not `import type`, not `import()`), and the packages they name. */
function staticImportClosure(entries: string[]): { files: string[]; packages: string[] } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const todo = [...entries];
  const re = /^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(re)) {
      const spec = m[1];
      if (spec.startsWith('.')) todo.push(path.resolve(path.dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec);
    }
  }
  return { files: [...seen], packages: [...packages] };
}
