/**
 * `webtoon eval` on real photographs: ../shared/data/photos/astronaut.png and three of the face-api
 * package's demo photographs (MIT). Known answers come from hand-built generators (output = input, or
 * mirrored: test/analysis/tiny-onnx.ts); the real runs use a model from our exporter
 * (test/helpers/models.ts) and the generator exported by plain torch.onnx.export
 * (test/fixtures/onnx/torch-light-ngf8-nb2-a2b-128.onnx, see its README).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EvalReport, runEval } from '../../src/analysis/eval.ts';
import { loadConfig } from '../../src/config.ts';
import { svgToPng } from '../../src/media/media.ts';
import { exportedTestModels, repoRoot, sharedDir, type TestModels } from '../helpers/models.ts';
import { writeTinyFeatureNet, writeTrivialGenerator } from './tiny-onnx.ts';
import { runWebtoon, type CliRun } from '../helpers/cli.ts';

const demoDir = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');
const torchOnnx = path.join(repoRoot, 'test/fixtures/onnx/torch-light-ngf8-nb2-a2b-128.onnx');
const work = mkdtempSync(path.join(os.tmpdir(), 'webtoon-eval-'));
const photos = path.join(work, 'photos');
const webtoons = path.join(work, 'webtoons');
const cfg = loadConfig({ NODE_ENV: 'test', ORT_PROVIDERS: 'cpu', ORT_THREADS: '1', MODELS_DIR: work });
let models: TestModels;
let gens: { a2b: string; b2a: string; mirror: string };
let perfect: EvalReport;

/** Simple drawn faces (SVG): the stand-in target domain for KID. */
async function drawFace(i: number): Promise<Buffer> {
  const hue = (i * 47) % 360;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128"><rect width="128" height="128" fill="hsl(${hue},40%,85%)"/>
    <ellipse cx="64" cy="68" rx="${38 + (i % 5)}" ry="48" fill="#f4d3b8" stroke="#222" stroke-width="2"/>
    <ellipse cx="48" cy="60" rx="7" ry="${9 + (i % 3)}" fill="#222"/><ellipse cx="80" cy="60" rx="7" ry="${9 + (i % 3)}" fill="#222"/>
    <path d="M52 92 Q64 ${98 + (i % 4)} 76 92" stroke="#a33" stroke-width="3" fill="none"/>
    <path d="M26 50 Q64 ${0 + i * 2} 102 50" fill="hsl(${hue},50%,25%)"/></svg>`;
  return svgToPng(svg);
}

const webtoon = (args: string[]): Promise<CliRun> => runWebtoon(args, { ORT_THREADS: '1' });

beforeAll(async () => {
  models = await exportedTestModels();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(photos);
  mkdirSync(webtoons);
  symlinkSync(path.join(sharedDir, 'data/photos/astronaut.png'), path.join(photos, 'astronaut.png'));
  for (const n of [1, 3, 6]) symlinkSync(path.join(demoDir, `sample${n}.jpg`), path.join(photos, `sample${n}.jpg`));
  for (let i = 0; i < 6; i++) writeFileSync(path.join(webtoons, `face${i}.png`), await drawFace(i));
  gens = {
    a2b: writeTrivialGenerator(path.join(work, 'identity-a2b.onnx'), { direction: 'a2b', imgSize: 128, version: 'identity-1' }),
    b2a: writeTrivialGenerator(path.join(work, 'identity-b2a.onnx'), { direction: 'b2a', imgSize: 128, version: 'identity-b2a-1' }),
    mirror: writeTrivialGenerator(path.join(work, 'mirror-a2b.onnx'), { direction: 'a2b', imgSize: 128, version: 'mirror-1', mirror: true }),
  };
  perfect = await runEval(cfg, { model: gens.a2b, reverseModel: gens.b2a, photos, baseline: gens.mirror, webtoons, resamples: 500 });
}, 600_000); // face analysis of 4 photos × 2 models on a shared 2-core machine

describe('runEval', () => {
  it('scores a perfect cycle (output = input) at identity ≈ 1 with no gender flip and no age drift', () => {
    const m = perfect.model;
    expect(m).toMatchObject({ version: 'identity-1', comparison: 'cycle', photos: 4, translated: 4 });
    expect(m.analysed).toBeGreaterThanOrEqual(3);
    expect(m.identity.mean!).toBeGreaterThan(0.999);
    expect(m.genderFlipRate).toBe(0);
    expect(Math.abs(m.ageDrift.meanAbsolute!)).toBeLessThan(0.5);
  });

  it('compares with a baseline on the same photos and gives a verdict only beyond bootstrap noise', () => {
    const b = perfect.baseline!;
    expect(b.version).toBe('mirror-1');
    // a mirrored face keeps most of its identity, but measurably less than itself
    expect(b.identity.mean!).toBeGreaterThan(0.9);
    expect(b.identity.mean!).toBeLessThan(perfect.model.identity.mean!);
    const byMetric = Object.fromEntries(perfect.comparison!.map((r) => [r.metric, r]));
    expect(byMetric['identity similarity'].verdict).toBe('better');
    expect(byMetric['identity similarity'].difference!.interval[0]).toBeGreaterThan(0);
    // neither flips gender: identical per photo, so no verdict
    expect(byMetric['gender flip'].verdict).toBe('within noise');
  });

  it('labels the KID without an Inception network as the non-standard face-KID', () => {
    expect(perfect.model.kid).toMatchObject({ kind: 'face-KID', n: 4, m: 6 });
    expect(perfect.model.kid!.features).toMatch(/NON-STANDARD/);
    expect(Number.isFinite(perfect.model.kid!.value)).toBe(true);
  });

  it('computes the standard KID on the features of a given Inception ONNX', async () => {
    const inception = writeTinyFeatureNet(path.join(work, 'features.onnx'));
    const r = await runEval(cfg, { model: gens.a2b, photos, webtoons, inception, limit: 2 });
    expect(r.model.comparison).toBe('direct');
    expect(r.model.kid).toMatchObject({ kind: 'KID', n: 2, m: 6 });
    expect(r.model.kid!.value).toBeGreaterThan(0); // photos and pastel drawings differ in mean colour
  }, 300_000);
});

describe('webtoon eval (CLI)', () => {
  it('runs our exported model against the PyTorch-exported one on real photos: table, JSON and contact sheet', async () => {
    const out = path.join(work, 'out');
    const r = await webtoon(['eval', '--model', models.a2b, '--reverse-model', models.b2a, '--baseline', torchOnnx, '--photos', photos, '--webtoons', webtoons, '--out', out, '--resamples', '200']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/model: fixture-a2b-1/);
    expect(r.stdout).toMatch(/baseline: torch-light-ngf8-nb2-a2b-128-[0-9a-f]{8}/);
    expect(r.stdout).toMatch(/face-KID/);
    expect(r.stdout).toMatch(/model vs baseline/);
    const json = JSON.parse(readFileSync(path.join(out, 'eval.json'), 'utf8')) as { model: { translated: number }; baseline: { translated: number }; worst: unknown[] };
    expect(json.model.translated).toBe(4);
    expect(json.baseline.translated).toBe(4);
    expect(json.worst).toHaveLength(4);
    const sheet = await sharp(path.join(out, 'worst.png')).metadata();
    expect(sheet.format).toBe('png');
    expect(sheet.height).toBeGreaterThan(4 * 160);
  }, 480_000); // two models × 4 photos + KID in a child process: minutes on a loaded 2-core machine

  it('exits 2 naming the missing folder, and writes nothing', async () => {
    const out = path.join(work, 'never');
    const r = await webtoon(['eval', '--model', models.a2b, '--photos', path.join(work, 'nope'), '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--photos: no such folder/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work)).not.toContain('never');
  });
});
