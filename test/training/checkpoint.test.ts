import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkpointHash,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointConfig,
} from '../../src/training/checkpoint.ts';
import { readSafetensors, writeSafetensors } from '../../src/training/safetensors.ts';
import { NETWORK_NAMES, type NamedTensor, type UgatitState } from '../../src/training/tensors.ts';
import { readTorchCheckpoint } from '../../src/training/torch-import/index.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const lightPt = path.resolve(repoRoot, '../shared/fixtures/ugatit-torch/light-ngf8-nb2-64/params.pt');

let work: string;
let state: UgatitState;
let n = 0;
const freshDir = (): string => path.join(work, `ck-${n++}`);

const config = (over: Partial<CheckpointConfig> = {}): CheckpointConfig => ({
  format: 'webtoonfaces-ugatit',
  formatVersion: 1,
  variant: 'pytorch',
  light: true,
  ngf: 8,
  ndf: 8,
  n_blocks: 2,
  img_size: 64,
  dis_layers_global: 7,
  dis_layers_local: 5,
  step: 1200,
  data_manifest_hash: 'sha256:abc',
  source: { kind: 'test' },
  ...over,
});

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'checkpoint-test-'));
  state = await readTorchCheckpoint(lightPt);
  // Awkward bit patterns must survive too: NaN payload, -0, a subnormal.
  const rho = state.genA2B!.get('UpBlock1_1.norm1.rho')!;
  new Uint32Array(rho.data.buffer, rho.data.byteOffset, 3).set([0x7fc00abc, 0x80000000, 0x00000003]);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function bytesOf(t: NamedTensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function expectSameState(a: UgatitState, b: UgatitState): void {
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const net of NETWORK_NAMES) {
    if (!a[net]) continue;
    expect([...b[net]!.keys()]).toEqual([...a[net]!.keys()]);
    for (const [name, t] of a[net]!) {
      expect(b[net]!.get(name)!.shape).toEqual(t.shape);
      expect(bytesOf(b[net]!.get(name)!).equals(bytesOf(t))).toBe(true);
    }
  }
}

function optimizerState(): Map<string, NamedTensor> {
  const m = new Map<string, NamedTensor>();
  for (const [name, t] of state.genA2B!) {
    const v = Float32Array.from(t.data, (x) => x * 1e-3);
    m.set(`G.m.genA2B.${name}`, { shape: t.shape, data: v });
  }
  m.set('__step__', { shape: [], data: Float32Array.from([1200]) });
  return m;
}

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips all six networks, the optimizer state and the config bit-exactly', async () => {
    const dir = freshDir();
    const optimizer = optimizerState();
    await saveCheckpoint(dir, { config: config(), state, optimizer });

    const sut = await loadCheckpoint(dir);
    expectSameState(state, sut.state);
    expect(sut.config).toEqual(config());
    expect([...sut.optimizer!.keys()]).toEqual([...optimizer.keys()]);
    for (const [k, t] of optimizer) expect(bytesOf(sut.optimizer!.get(k)!).equals(bytesOf(t))).toBe(true);
  });

  it('writes config.json and weights named <network>.<official name>', async () => {
    const dir = freshDir();
    await saveCheckpoint(dir, { config: config(), state });
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'weights.safetensors']);
    expect(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'))).toEqual(config());
    const weights = await readSafetensors(path.join(dir, 'weights.safetensors'));
    expect(weights.tensors.get('genA2B.DownBlock.1.weight')!.shape).toEqual([8, 3, 7, 7]);
    expect(weights.tensors.get('disLB.model.1.weight_u')!.shape).toEqual([8]);
    expect(weights.metadata).toEqual({ format: 'webtoonfaces-ugatit', formatVersion: '1' });
  });

  it('saves and loads a generators-only checkpoint', async () => {
    const dir = freshDir();
    const gens = { genA2B: state.genA2B, genB2A: state.genB2A };
    await saveCheckpoint(dir, { config: config(), state: gens });
    expectSameState(gens, (await loadCheckpoint(dir)).state);
  });

  it('removes a stale optimizer file when saved again without optimizer state', async () => {
    const dir = freshDir();
    await saveCheckpoint(dir, { config: config(), state, optimizer: optimizerState() });
    await saveCheckpoint(dir, { config: config({ step: 1300 }), state });
    const sut = await loadCheckpoint(dir);
    expect(sut.optimizer).toBeUndefined();
    expect(sut.config.step).toBe(1300);
  });

  it('refuses a state that does not fit the config, naming the tensor, and writes nothing', async () => {
    const dir = freshDir();
    const err = await saveCheckpoint(dir, { config: config({ ngf: 16 }), state }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SHAPE_MISMATCH' });
    expect((err as { details: { tensor: string } }).details.tensor).toMatch(/^genA2B\./);
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses an invalid config and writes nothing', async () => {
    const dir = freshDir();
    await expect(saveCheckpoint(dir, { config: config({ img_size: 66 }), state })).rejects.toMatchObject({ code: 'CORRUPT' });
    await expect(saveCheckpoint(dir, { config: config(), state: {} })).rejects.toMatchObject({ code: 'MISSING_NETWORK' });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('loadCheckpoint on bad directories', () => {
  async function saved(): Promise<string> {
    const dir = freshDir();
    await saveCheckpoint(dir, { config: config(), state: { genA2B: state.genA2B } });
    return dir;
  }

  it('NOT_A_CHECKPOINT without config.json', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    await expect(loadCheckpoint(dir)).rejects.toMatchObject({ code: 'NOT_A_CHECKPOINT' });
  });

  it('UNSUPPORTED_FORMAT for another format version or variant', async () => {
    const dir = await saved();
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config(), formatVersion: 2 }));
    await expect(loadCheckpoint(dir)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config(), variant: 'tensorflow' }));
    await expect(loadCheckpoint(dir)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
  });

  it('CORRUPT for a config that is not JSON or lacks fields, and for missing weights', async () => {
    const dir = await saved();
    writeFileSync(path.join(dir, 'config.json'), '{ "format": ');
    await expect(loadCheckpoint(dir)).rejects.toMatchObject({ code: 'CORRUPT' });
    const { ngf: _ngf, ...noNgf } = config();
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(noNgf));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/ngf/);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config()));
    rmSync(path.join(dir, 'weights.safetensors'));
    await expect(loadCheckpoint(dir)).rejects.toMatchObject({ code: 'CORRUPT' });
  });

  it('MISSING_TENSOR, UNEXPECTED_TENSOR and SHAPE_MISMATCH for weights that do not fit', async () => {
    const dir = await saved();
    const weights = (await readSafetensors(path.join(dir, 'weights.safetensors'))).tensors;
    const rewrite = async (m: Map<string, NamedTensor>) => writeSafetensors(path.join(dir, 'weights.safetensors'), m);

    const missing = new Map(weights);
    missing.delete('genA2B.FC.2.weight');
    await rewrite(missing);
    await expect(loadCheckpoint(dir)).rejects.toMatchObject({ code: 'MISSING_TENSOR', details: { tensor: 'genA2B.FC.2.weight' } });

    await rewrite(new Map([...weights, ['optimizerish.x', { shape: [1], data: new Float32Array(1) }]]));
    await expect(loadCheckpoint(dir)).rejects.toMatchObject({ code: 'UNEXPECTED_TENSOR' });

    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config({ n_blocks: 3 })));
    await rewrite(weights);
    await expect(loadCheckpoint(dir)).rejects.toMatchObject({ code: 'MISSING_TENSOR' });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config({ light: false, img_size: 64 })));
    await expect(loadCheckpoint(dir)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH', details: { tensor: 'genA2B.FC.0.weight' } });
  });
});

describe('checkpointHash', () => {
  it('is the sha256 of the weights file, the same for the same weights at any step, and changes with any weight bit', async () => {
    const a = freshDir();
    const b = freshDir();
    await saveCheckpoint(a, { config: config(), state });
    await saveCheckpoint(b, { config: config({ step: 5 }), state: { ...state } });
    const sut = await checkpointHash(a);
    expect(sut).toBe(createHash('sha256').update(readFileSync(path.join(a, 'weights.safetensors'))).digest('hex'));

    const c = freshDir();
    const tweaked = new Map(state.disGA!);
    const t = tweaked.get('conv1x1.bias')!;
    const data = Float32Array.from(t.data);
    new Uint32Array(data.buffer)[0] ^= 1; // flip the lowest mantissa bit
    tweaked.set('conv1x1.bias', { shape: t.shape, data });
    await saveCheckpoint(c, { config: config(), state: { ...state, disGA: tweaked } });
    expect(await checkpointHash(c)).not.toBe(sut);
    // the hash identifies the weights alone: another step with the same weights hashes the same
    expect(await checkpointHash(b)).toBe(sut);
  });
});
