/**
 * exportGenerator from our checkpoint directory and the `webtoon export` command: metadata, version and
 * hash, and every refusal (typed error, nothing written).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointHash, loadCheckpoint, saveCheckpoint } from '../../src/training/checkpoint.ts';
import { ExportError } from '../../src/training/training.errors.ts';
import { exportGenerator } from '../../src/training/export/exporter.ts';
import { readModelMetadata } from '../../src/onnx/proto.ts';
import { createTfjsReference } from '../../src/training/export/tfjs-reference.ts';
import { runOnnxGenerator } from '../../src/training/export/verify.ts';
import { importTorchCheckpoint } from '../../src/training/torch-import/index.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const lightFixture = path.resolve(repoRoot, '../shared/fixtures/ugatit-torch/light-ngf8-nb2-64/params.pt');

let work: string;
let ckpt: string;
let genOnly: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'export-cli-'));
  ckpt = path.join(work, 'ck');
  await importTorchCheckpoint({ file: lightFixture, outDir: ckpt, imgSize: 64 });
  // a checkpoint holding genA2B only (e.g. a trimmed serving checkpoint)
  const full = await loadCheckpoint(ckpt);
  genOnly = path.join(work, 'gen-only');
  await saveCheckpoint(genOnly, { config: { ...full.config, step: 1234 }, state: { genA2B: full.state.genA2B } });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Run `fn`, expect an ExportError with `code`, and that `outPath` (and no temporary file) exists afterwards. */
async function expectRefused(fn: () => Promise<unknown>, code: string, outPath: string): Promise<ExportError> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExportError);
  expect((err as ExportError).code).toBe(code);
  expect(existsSync(outPath)).toBe(false);
  const dir = path.dirname(outPath);
  if (existsSync(dir)) expect(readdirSync(dir).filter((f) => f.startsWith(path.basename(outPath)))).toEqual([]);
  return err as ExportError;
}

describe('exportGenerator from a checkpoint directory', () => {
  it('writes a verified model whose metadata names the checkpoint hash, step and version', async () => {
    const out = path.join(work, 'a2b.onnx');
    const sut = await exportGenerator({ checkpointDir: ckpt, direction: 'a2b', outPath: out });
    const hash = await checkpointHash(ckpt);
    const meta = readModelMetadata(readFileSync(out));
    expect(meta).toMatchObject({
      direction: 'a2b',
      img_size: '64',
      variant: 'pytorch',
      light: 'true',
      ngf: '8',
      n_blocks: '2',
      precision: 'fp32',
      source_checkpoint_hash: `sha256:${hash}`,
      source_network: 'genA2B',
      version: `step0-${hash.slice(0, 12)}`,
      exporter: 'webtoonfaces-onnx-exporter/1',
    });
    expect(Number(meta.verify_max_abs_diff)).toBeLessThanOrEqual(1e-4);
    expect(Date.parse(meta.created)).not.toBeNaN();
    expect(sut.metadata).toEqual(meta);
    const res = await runOnnxGenerator(out, new Float32Array(3 * 64 * 64), [1, 3, 64, 64]);
    expect(res.dims.output).toEqual([1, 3, 64, 64]);
  });

  it('takes an explicit version and the checkpoint step', async () => {
    const out = path.join(work, 'versioned.onnx');
    const sut = await exportGenerator({ checkpointDir: genOnly, direction: 'a2b', outPath: out, version: 'webtoon-2026.11', verify: false });
    expect(sut.metadata.version).toBe('webtoon-2026.11');
    expect(sut.metadata.source_step).toBe('1234');
    expect(sut.metadata.verify_max_abs_diff).toBe('not-verified');
    expect(sut.maxAbsDiff).toBeNull();
  });

  it('refuses an unknown direction before reading anything', async () => {
    const out = path.join(work, 'bad-direction.onnx');
    // @ts-expect-error: the direction a JavaScript caller or the CLI may pass
    await expectRefused(() => exportGenerator({ checkpointDir: ckpt, direction: 'a2c', outPath: out }), 'BAD_DIRECTION', out);
  });

  it('refuses a checkpoint directory that does not exist', async () => {
    const out = path.join(work, 'missing.onnx');
    await expectRefused(() => exportGenerator({ checkpointDir: path.join(work, 'nope'), direction: 'a2b', outPath: out }), 'CHECKPOINT_NOT_FOUND', out);
  });

  it('refuses a directory that is not a checkpoint, and a corrupt one', async () => {
    const empty = path.join(work, 'empty');
    mkdirSync(empty, { recursive: true });
    const out = path.join(work, 'empty.onnx');
    await expectRefused(() => exportGenerator({ checkpointDir: empty, direction: 'a2b', outPath: out }), 'CHECKPOINT_NOT_FOUND', out);
    const broken = path.join(work, 'broken');
    mkdirSync(broken, { recursive: true });
    writeFileSync(path.join(broken, 'config.json'), readFileSync(path.join(ckpt, 'config.json')));
    writeFileSync(path.join(broken, 'weights.safetensors'), 'not safetensors');
    await expectRefused(() => exportGenerator({ checkpointDir: broken, direction: 'a2b', outPath: out }), 'BAD_CHECKPOINT', out);
  });

  it('refuses a checkpoint that lacks the generator of that direction', async () => {
    const out = path.join(work, 'b2a-missing.onnx');
    const err = await expectRefused(() => exportGenerator({ checkpointDir: genOnly, direction: 'b2a', outPath: out }), 'MISSING_NETWORK', out);
    expect(err.message).toMatch(/genB2A/);
  });

  it('writes nothing when the model disagrees with the reference', async () => {
    const out = path.join(work, 'disagree.onnx');
    const err = await expectRefused(
      () =>
        exportGenerator({
          checkpointDir: ckpt,
          direction: 'a2b',
          outPath: out,
          // a reference that is off by 1e-3 everywhere (e.g. a layer implemented differently)
          reference: async (state, cfg) => {
            const tfjs = await createTfjsReference(state, cfg);
            return {
              name: 'shifted-tfjs',
              run: async (input, shape) => {
                const { output, camLogit, heatmap } = await tfjs.run(input, shape);
                return { output: output.map((v) => v + 1e-3), camLogit, heatmap };
              },
              dispose: () => tfjs.dispose?.(),
            };
          },
        }),
      'VERIFY_FAILED',
      out,
    );
    expect(err.details.output).toBeGreaterThan(1e-4);
  });

  it('verifies a light model at 64² by default and at any asked multiple of 4', async () => {
    const ck256 = path.join(work, 'ck256');
    await importTorchCheckpoint({ file: lightFixture, outDir: ck256 }); // light: img_size defaults to 256
    const byDefault = await exportGenerator({ checkpointDir: ck256, direction: 'a2b', outPath: path.join(work, 'l256.onnx') });
    expect(byDefault.metadata.img_size).toBe('256');
    expect(byDefault.metadata.verify_batch).toMatch(/^2x3x64x64 /);
    const asked = await exportGenerator({ checkpointDir: ck256, direction: 'a2b', outPath: path.join(work, 'l256-96.onnx'), verifySize: 96 });
    expect(asked.metadata.verify_batch).toMatch(/^2x3x96x96 /);
    expect(asked.maxAbsDiff!).toBeLessThanOrEqual(1e-4);
  });

  it('refuses a verification size that is not a multiple of 4, or not img_size for a full model', async () => {
    const out = path.join(work, 'bad-size.onnx');
    await expectRefused(() => exportGenerator({ checkpointDir: ckpt, direction: 'a2b', outPath: out, verifySize: 30 }), 'BAD_OPTION', out);
    const fullCk = path.join(work, 'full-ck');
    await importTorchCheckpoint({ file: lightFixture.replace('light-', 'full-'), outDir: fullCk });
    await expectRefused(() => exportGenerator({ checkpointDir: fullCk, direction: 'a2b', outPath: out, verifySize: 32 }), 'BAD_OPTION', out);
  });

  it('refuses an output path that is a directory', async () => {
    await expect(exportGenerator({ checkpointDir: ckpt, direction: 'a2b', outPath: work })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });
});

describe('webtoon export (command line)', () => {
  const cli = path.join(repoRoot, 'bin/webtoon.mjs');

  it('exports and prints a JSON summary with size, difference and metadata', async () => {
    const out = path.join(work, 'cli-b2a.onnx');
    const { stdout } = await run(process.execPath, [cli, '-q', 'export', ckpt, '--direction', 'b2a', '-o', out, '--fp16', '--version', 'cli-v1'], { cwd: repoRoot });
    const sut = JSON.parse(stdout) as { path: string; bytes: number; maxAbsDiff: number; metadata: Record<string, string> };
    expect(sut.path).toBe(out);
    expect(sut.bytes).toBe(readFileSync(out).byteLength);
    expect(sut.metadata).toMatchObject({ direction: 'b2a', precision: 'fp16', version: 'cli-v1' });
    expect(readModelMetadata(readFileSync(out))).toEqual(sut.metadata);
    expect(sut.maxAbsDiff).toBeGreaterThan(0);
    expect(sut.maxAbsDiff).toBeLessThanOrEqual(5e-2);
  });

  it('fails with one clear line and exit code 1 for an unknown direction', async () => {
    const out = path.join(work, 'cli-bad.onnx');
    const err = (await run(process.execPath, [cli, 'export', ckpt, '--direction', 'sideways', '-o', out], { cwd: repoRoot }).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/ExportError\[BAD_DIRECTION\]: direction must be "a2b" or "b2a"/);
    expect(existsSync(out)).toBe(false);
  });
});
