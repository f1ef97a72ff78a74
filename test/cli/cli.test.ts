import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWebtoon } from '../helpers/cli.ts';

const root = path.resolve(import.meta.dirname, '../..');

/** Node flag that makes tsx and every .ts module unloadable in the child (test/helpers/block-typescript.mjs). */
const WITHOUT_TYPESCRIPT = ['--import', path.join(root, 'test/helpers/block-typescript.mjs')];

/** The entry with errors-only logs and the CPU provider (runWebtoon's defaults) and, optionally, flags for node. */
const run = (args: string[], nodeFlags: string[] = []) => runWebtoon(args, {}, nodeFlags);

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
    for (const name of ['bot', 'register-commands', 'translate', 'worker', 'db', 'report', 'dataset', 'train', 'export', 'import-torch', 'eval']) {
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

  it('answers help in every form without loading tsx or any TypeScript module, with the text commander prints', async () => {
    const cases: Array<{ args: string[]; code: number; out: 'stdout' | 'stderr'; first: RegExp }> = [
      { args: ['--help'], code: 0, out: 'stdout', first: /^Usage: webtoon \[options\] \[command\]\n/ },
      { args: ['help'], code: 0, out: 'stdout', first: /^Usage: webtoon \[options\] \[command\]\n/ },
      { args: ['help', 'translate'], code: 0, out: 'stdout', first: /^Usage: webtoon translate \[options\] <image>\n/ },
      { args: ['translate', '--help'], code: 0, out: 'stdout', first: /^Usage: webtoon translate \[options\] <image>\n/ },
      { args: ['dataset', 'build', '-h'], code: 0, out: 'stdout', first: /^Usage: webtoon dataset build \[options\]\n[\s\S]*\nExamples:\n/ },
      // A bare `webtoon` (or a group without its subcommand) prints the help on stderr as a usage error.
      { args: [], code: 2, out: 'stderr', first: /^Usage: webtoon \[options\] \[command\]\n/ },
      { args: ['db'], code: 2, out: 'stderr', first: /^Usage: webtoon db \[options\] \[command\]\n/ },
    ];
    for (const c of cases) {
      const r = await run(c.args, WITHOUT_TYPESCRIPT);
      expect({ args: c.args, code: r.code }).toEqual({ args: c.args, code: c.code });
      expect(r[c.out]).toMatch(c.first);
      expect(r[c.out === 'stdout' ? 'stderr' : 'stdout']).toBe('');
    }
    // The same text as the real program prints (tsx loaded): `translate --help`.
    const viaManifest = await run(['translate', '--help'], WITHOUT_TYPESCRIPT);
    const { main } = await import('../../src/cli/index.ts');
    const real = await captureStdout(() => main(['node', 'webtoon', 'translate', '--help']));
    expect(viaManifest.stdout).toBe(real);
  });

  it('answers usage errors without TypeScript, and hands a call that names a command to the real program', async () => {
    const usage = await run(['translate', '--direction'], WITHOUT_TYPESCRIPT);
    expect([usage.code, usage.stderr]).toEqual([2, "error: option '-d, --direction <dir>' argument missing\n(run with --help for usage)\n"]);
    const choice = await run(['report', '--format', 'xml'], WITHOUT_TYPESCRIPT);
    expect([choice.code, choice.stderr]).toEqual([2, "error: option '-f, --format <format>' argument 'xml' is invalid. Allowed choices are table, json, csv.\n(run with --help for usage)\n"]);
    // A call that runs a command needs the real (TypeScript) program: blocked, it cannot start ...
    const blocked = await run(['translate', 'no-such-file.png'], WITHOUT_TYPESCRIPT);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/blocked: tsx/);
    // ... and normally the real command answers (here: its own refusal of the missing file).
    const real = await run(['translate', 'no-such-file.png']);
    expect([real.code, real.stderr]).toEqual([2, 'webtoon: UsageError[USAGE]: cannot read no-such-file.png: ENOENT\n']);
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

async function captureStdout(fn: () => Promise<void>): Promise<string> {
  const write = process.stdout.write.bind(process.stdout);
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((text += chunk.toString()), true)) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
    process.exitCode = undefined;
  }
  return text;
}

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
