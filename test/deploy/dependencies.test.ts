/**
 * package.json keeps only what is used: every runtime dependency is imported by src/ or bin/ (so
 * `npm ci --omit=dev` images hold nothing idle), every dev dependency is used by tests, benches, config
 * or as a tool, and no Unity package (nor the overrides that stubbed them) is left in the lock file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/models.ts';

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  overrides?: unknown;
};
const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };

/** Runtime dependencies other issues are replacing, with the issue; each must leave this list when it goes. */
const PENDING: Record<string, string> = {};
/** Dev dependencies used as command-line tools or type packages, not imported. */
const TOOLS = new Set(['eslint', 'typescript', 'vitest', 'drizzle-kit', '@bufbuild/buf', '@bufbuild/protoc-gen-es']);

function sources(dirs: string[]): string {
  const out: string[] = [];
  const walk = (p: string): void => {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p)) if (f !== 'node_modules' && !f.startsWith('.')) walk(path.join(p, f));
    } else if (/\.(ts|mts|js|mjs|cjs)$/.test(p)) out.push(readFileSync(p, 'utf8'));
  };
  for (const d of dirs) walk(path.join(repoRoot, d));
  return out.join('\n');
}

/** True when `text` imports `name` (static, dynamic, require, require.resolve, a subpath, or a tsx loader flag). */
function imports(text: string, name: string): boolean {
  const q = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`(?:from\\s+|import\\(\\s*|require(?:\\.resolve)?\\(\\s*)['"]${q}(?:/[^'"]*)?['"]`).test(text);
}

describe('dependencies', () => {
  const runtime = sources(['src', 'bin']);
  const dev = `${sources(['test', 'bench'])}\n${readFileSync(path.join(repoRoot, 'eslint.config.js'), 'utf8')}\n${readFileSync(path.join(repoRoot, 'vitest.config.ts'), 'utf8')}\n${readFileSync(path.join(repoRoot, 'drizzle.config.ts'), 'utf8')}`;

  it('every runtime dependency is imported by src/ or bin/', () => {
    const unused = Object.keys(pkg.dependencies).filter((d) => !PENDING[d] && !imports(runtime, d));
    expect(unused).toEqual([]);
  });

  it('the pending removals are still dependencies (take them off PENDING when they go)', () => {
    for (const d of Object.keys(PENDING)) expect(pkg.dependencies, d).toHaveProperty(d);
  });

  it('every dev dependency is a tool, a type package of a used package, or imported by tests, benches or config', () => {
    const used = (d: string): boolean => {
      if (TOOLS.has(d)) return true;
      const typed = /^@types\/(.+)$/.exec(d)?.[1];
      if (typed) return typed === 'node' || d.replace('@types/', '') in pkg.dependencies || d.replace('@types/', '') in pkg.devDependencies;
      return imports(dev, d) || imports(runtime, d);
    };
    expect(Object.keys(pkg.devDependencies).filter((d) => !used(d))).toEqual([]);
  });

  it('test-only packages are not runtime dependencies (ws is used by the Discord stand-in only)', () => {
    expect(pkg.dependencies).not.toHaveProperty('ws');
    expect(imports(runtime, 'ws')).toBe(false);
    expect(imports(dev, 'ws')).toBe(true);
  });

  it('one ONNX protobuf codec: neither onnx-proto nor protobufjs is a dependency or in the lock file', () => {
    for (const gone of ['onnx-proto', 'protobufjs']) {
      expect({ ...pkg.dependencies, ...pkg.devDependencies }).not.toHaveProperty(gone);
      expect(Object.keys(lock.packages).filter((p) => p.endsWith(`node_modules/${gone}`))).toEqual([]);
    }
  });

  it('no Unity package is installed, and no override stubs one', () => {
    expect(pkg.overrides).toBeUndefined();
    expect(Object.keys(lock.packages).filter((p) => /keijiro|com\.unity|empty-npm-package/.test(p))).toEqual([]);
  });
});
