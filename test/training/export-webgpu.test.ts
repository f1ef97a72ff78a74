/**
 * The exporter's self-check on the webgpu backend: the tfjs reference generator runs on webgpu (a
 * hardware adapter where present, else Mesa's software OpenGL ES) and the exported ONNX model must match
 * it within the exporter's tolerance. Skipped with the reason where webgpu cannot start, except under
 * CI=true (.ci/run installs the GL packages), where that is a failure.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/training/backend.ts';
import { exportGenerator } from '../../src/training/export/exporter.ts';
import { readModelMetadata } from '../../src/onnx/proto.ts';
import { createTfjsReference } from '../../src/training/export/tfjs-reference.ts';
import { importTorchCheckpoint } from '../../src/training/torch-import/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const lightFixture = path.resolve(repoRoot, '../shared/fixtures/ugatit-torch/light-ngf8-nb2-64/params.pt');

const probe = await selectBackend('webgpu').then(
  (c) => ({ ok: true as const, adapter: c.adapter ?? '' }),
  (err: unknown) => ({ ok: false as const, reason: (err as Error).message }),
);
if (!probe.ok) {
  if (process.env.CI === 'true') throw new Error(`CI: the webgpu backend must start for the exporter self-check test: ${probe.reason}`);
  console.warn(`exporter self-check on webgpu skipped: ${probe.reason}`);
}

describe.skipIf(!probe.ok)('exportGenerator self-check on webgpu', () => {
  let work: string;
  let ckpt: string;
  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'export-webgpu-'));
    ckpt = path.join(work, 'ck');
    await importTorchCheckpoint({ file: lightFixture, outDir: ckpt, imgSize: 64 });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('verifies the ONNX model against the tfjs generator running on webgpu', async () => {
    const out = path.join(work, 'a2b.onnx');
    let backendSeen = '';
    const sut = await exportGenerator({
      checkpointDir: ckpt,
      direction: 'a2b',
      outPath: out,
      reference: async (state, cfg) => {
        const ref = await createTfjsReference(state, cfg, 'webgpu');
        backendSeen = tf.getBackend();
        return ref;
      },
    });
    expect(backendSeen).toBe('webgpu');
    expect(sut.verification?.reference).toBe('tfjs-webgpu');
    expect(sut.verification!.maxAbsDiff).toBeLessThan(1e-4);
    expect(readModelMetadata(readFileSync(out)).verify_reference).toBe('tfjs-webgpu');
  }, 600_000);
});
