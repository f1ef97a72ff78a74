import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportedTestModels, installModel, repoRoot, tempModelsDir, type TestModels, writeModelWithoutMetadata } from '../helpers/models.ts';
import { astronautPath, noFaceImage } from './sample-images.ts';

let models: TestModels;

function webtoon(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/webtoon.mjs'), ...args], {
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

beforeAll(async () => {
  models = await exportedTestModels();
});

describe('webtoon translate', () => {
  it('writes the translated face beside the input crop with the attention overlay (--model, --attention, --side-by-side)', async () => {
    const out = path.join(tempModelsDir('webtoon-cli-'), 'out.png');
    const r = await webtoon(['translate', astronautPath, '-o', out, '--attention', '--side-by-side', '--model', models.a2b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/a2b model fixture-a2b-1, 1 face\(s\), crop face/);
    const meta = await sharp(readFileSync(out)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 512, 256]);
  });

  it('serves the newest model from MODELS_DIR, trusts bytes not the extension (PNG named .jpg), and prints JSON metadata', async () => {
    const dir = tempModelsDir();
    installModel(models.a2b, dir, 'a2b.onnx');
    const work = tempModelsDir('webtoon-cli-');
    const renamed = path.join(work, 'photo.jpg');
    copyFileSync(astronautPath, renamed);
    const out = path.join(work, 'out.png');
    const r = await webtoon(['translate', renamed, '-o', out, '--json', '--size', '512'], { MODELS_DIR: dir });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ out, direction: 'a2b', modelVersion: 'fixture-a2b-1', facesFound: 1, cropMode: 'face' });
    expect((json.boxes as unknown[]).length).toBe(1);
    expect((await sharp(readFileSync(out)).metadata()).width).toBe(512);
  });

  it('exits 1 with the typed reason and writes nothing for a file that is not an image', async () => {
    const work = tempModelsDir('webtoon-cli-');
    const input = path.join(work, 'notes.png');
    writeFileSync(input, 'just text pretending to be a png\n');
    const out = path.join(work, 'out.png');
    const r = await webtoon(['translate', input, '-o', out, '--model', models.a2b]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^webtoon: InferenceError\[UNSUPPORTED_FORMAT\]: This file is not a supported image \(it looks like a text file\)/);
    expect(existsSync(out)).toBe(false);
  });

  it('exits 1 with NO_FACE for a picture without a face, and succeeds with --crop center', async () => {
    const work = tempModelsDir('webtoon-cli-');
    const input = path.join(work, 'shapes.png');
    writeFileSync(input, await noFaceImage());
    const out = path.join(work, 'out.png');
    const refused = await webtoon(['translate', input, '-o', out, '--model', models.a2b]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/InferenceError\[NO_FACE\]: No face was found/);
    expect(existsSync(out)).toBe(false);
    const centre = await webtoon(['translate', input, '-o', out, '--model', models.a2b, '--crop', 'center', '--json']);
    expect(centre.code).toBe(0);
    expect(JSON.parse(centre.stdout)).toMatchObject({ cropMode: 'center', facesFound: 0 });
  });

  it('explains how to get a model when MODELS_DIR has none', async () => {
    const out = path.join(tempModelsDir('webtoon-cli-'), 'out.png');
    const r = await webtoon(['translate', astronautPath, '-o', out], { MODELS_DIR: tempModelsDir() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/InferenceError\[MODEL_UNAVAILABLE\]: No a2b model is installed.*webtoon import-torch .*webtoon export/);
    expect(existsSync(out)).toBe(false);
  });

  it('takes direction and version from flags for a model without metadata', async () => {
    const work = tempModelsDir('webtoon-cli-');
    const bare = writeModelWithoutMetadata(models.b2a, path.join(work, 'bare.onnx'));
    const r = await webtoon(['translate', astronautPath, '-o', path.join(work, 'o.png'), '--model', bare, '--direction', 'b2a', '--version', 'mine-1', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ direction: 'b2a', modelVersion: 'mine-1' });
  });

  it('serves a model exported by plain torch.onnx.export (no metadata, static 128² input): version from name + hash, size from the graph', async () => {
    const torchModel = path.join(repoRoot, 'test/fixtures/onnx/torch-light-ngf8-nb2-a2b-128.onnx');
    const hash = createHash('sha256').update(readFileSync(torchModel)).digest('hex').slice(0, 8);
    const out = path.join(tempModelsDir('webtoon-cli-'), 'torch.png');
    const r = await webtoon(['translate', astronautPath, '-o', out, '--model', torchModel, '--direction', 'a2b', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ direction: 'a2b', modelVersion: `torch-light-ngf8-nb2-a2b-128-${hash}`, facesFound: 1 });
    expect((await sharp(readFileSync(out)).metadata()).format).toBe('png');
  });

  it('exits 2 on a bad option value', async () => {
    const r = await webtoon(['translate', astronautPath, '--direction', 'sideways']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--direction must be a2b or b2a, got "sideways"/);
  });
});
