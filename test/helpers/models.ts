/**
 * Generator ONNX files for the inference tests, made by our own pipeline: the official-layout
 * fixture checkpoint `../shared/fixtures/ugatit-torch/light-ngf8-nb2-64/params.pt` is read with
 * `readTorchCheckpoint` and both generators are exported with `exportGenerator` (light, ngf 8, 2 blocks,
 * img_size 64). The files are cached on disk per fixture and exporter code (version, `src/training/export/`,
 * `src/onnx/proto.ts`), so the export runs once per machine and code version rather than once per test
 * file. Also: variants with rewritten metadata (another version), and a hand-built model that breaks the
 * contract, for the registry's refusal.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModel, encodeModel, metadataAppendix, TensorDataType, tensorValueInfo } from '../../src/onnx/proto.ts';
import { EXPORTER_VERSION, exportGenerator } from '../../src/training/export/exporter.ts';
import { readTorchCheckpoint } from '../../src/training/torch-import/torch-checkpoint.ts';

/** The repository root (the folder holding package.json). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** `../shared` beside the repository. */
export const sharedDir = path.resolve(repoRoot, '../shared');
export const fixtureCheckpoint = path.join(sharedDir, 'fixtures/ugatit-torch/light-ngf8-nb2-64/params.pt');

export interface TestModels {
  /** Cached exported files (do not modify). */
  a2b: string;
  b2a: string;
  imgSize: number;
  /** Version strings stamped into them. */
  versions: { a2b: string; b2a: string };
}

let cached: Promise<TestModels> | undefined;

/** Export (once, cached on disk) the fixture's two generators. */
export function exportedTestModels(): Promise<TestModels> {
  cached ??= buildModels();
  return cached;
}

async function buildModels(): Promise<TestModels> {
  // keyed by the code that writes the files too (exporter folder and codec), so a change there re-exports
  const hash = createHash('sha256').update(readFileSync(fixtureCheckpoint)).update(`exporter ${EXPORTER_VERSION}`);
  const exportDir = path.join(repoRoot, 'src/training/export');
  for (const f of readdirSync(exportDir).sort()) hash.update(readFileSync(path.join(exportDir, f)));
  hash.update(readFileSync(path.join(repoRoot, 'src/onnx/proto.ts')));
  const key = hash.digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `webtoon-test-models-${key}`);
  mkdirSync(dir, { recursive: true });
  const versions = { a2b: 'fixture-a2b-1', b2a: 'fixture-b2a-1' };
  const out = { a2b: path.join(dir, 'a2b.onnx'), b2a: path.join(dir, 'b2a.onnx') };
  if (!existsSync(out.a2b) || !existsSync(out.b2a)) {
    const state = await readTorchCheckpoint(fixtureCheckpoint);
    const config = { variant: 'pytorch' as const, light: true, ngf: 8, n_blocks: 2, img_size: 64, step: 0 };
    for (const direction of ['a2b', 'b2a'] as const) {
      if (existsSync(out[direction])) continue;
      // exportGenerator writes atomically, so concurrent test files never see half a file.
      await exportGenerator({ state, config, direction, outPath: out[direction], version: versions[direction], verify: false });
    }
  }
  return { ...out, imgSize: 64, versions };
}

/** A fresh empty folder for a MODELS_DIR. */
export function tempModelsDir(prefix = 'webtoon-models-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Copy a model file into `dir` as `name`. */
export function installModel(src: string, dir: string, name: string): string {
  const dst = path.join(dir, name);
  copyFileSync(src, dst);
  return dst;
}

/**
 * Write a copy of `src` whose metadata entries are replaced (protobuf merges repeated fields, and
 * the registry lets a later metadata entry win over an earlier one with the same key).
 */
export function writeWithMetadata(src: string, dst: string, metadata: Record<string, string>): string {
  writeFileSync(dst, Buffer.concat([readFileSync(src), metadataAppendix(metadata)]));
  return dst;
}

/** Size and mtime of a file (for "nothing was written" checks). */
export function fileFacts(p: string): { bytes: number; mtimeMs: number } | null {
  return existsSync(p) ? { bytes: statSync(p).size, mtimeMs: statSync(p).mtimeMs } : null;
}

/**
 * A hand-built model that breaks the generator contract: its input is named `image` (not `input`)
 * and is NHWC `[N, H, W, 3]`; it has a direction and version so only the structure is wrong.
 */
export function writeContractBreakingModel(dst: string): string {
  const vi = (name: string, dims: (number | string)[]) => tensorValueInfo(name, TensorDataType.FLOAT, dims);
  const model = encodeModel({
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    producerName: 'webtoonfaces-test',
    graph: {
      name: 'broken',
      node: [{ opType: 'Tanh', input: ['image'], output: ['output'], name: 'tanh' }],
      input: [vi('image', ['N', 'H', 'W', 3])],
      output: [vi('output', ['N', 'H', 'W', 3])],
    },
    metadataProps: [
      { key: 'direction', value: 'a2b' },
      { key: 'img_size', value: '64' },
      { key: 'version', value: 'zzz-broken' },
    ],
  });
  writeFileSync(dst, model);
  return dst;
}

/** A model with a contract-shaped graph but no metadata at all (for `translate --model` with flags). */
export function writeModelWithoutMetadata(src: string, dst: string): string {
  const decoded = decodeModel(readFileSync(src));
  decoded.metadataProps = [];
  writeFileSync(dst, encodeModel(decoded));
  return dst;
}
