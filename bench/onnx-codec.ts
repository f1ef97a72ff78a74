/**
 * `npm run bench:onnx-codec [-- --mb 100] [-- --runs 5] [-- --baseline path/to/reader.ts]`: the cost of the
 * ONNX codec (src/onnx/proto.ts) on a big model, printed as JSON. Writes a synthetic model of about
 * `--mb` MB of float32 initializers (a chain of Adds, a contract-shaped input/output and metadata), then
 * times each case in a fresh child process (interleaved, `--runs` times) and reports the median time and
 * the peak RSS the case added above the process after it had read the file:
 * - `header`: `readOnnxHeader` (what the registry and the exporter's contract check run);
 * - `metadata`: `readModelMetadata`;
 * - `fullDecode`: `decodeModel`, the whole ModelProto, for scale;
 * - `encode`: `encodeModel` of the same model from its plain init object (as the exporter builds it);
 *   `encodePlainToBinary`: the library's `toBinary(create(…))` of the same object, for scale;
 * - `baselineHeader`: when `--baseline` names a module exporting `readOnnxHeader(bytes)` (e.g. the hand
 *   decoder this codec replaced, `git show b59203c:src/onnx/proto.ts`), that reader on the same file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { decodeModel, encodeModel, readModelMetadata, readOnnxHeader, TensorDataType, type ModelInit, type NodeInit, type TensorInit } from '../src/onnx/proto.ts';
import { ModelProtoSchema } from '../src/onnx/schema/onnx_pb.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

type CaseName = 'header' | 'metadata' | 'fullDecode' | 'encode' | 'encodePlainToBinary' | 'baselineHeader';

/** Runs in the child: read the file, then measure one case. */
async function child(name: CaseName, file: string, baseline: string | undefined): Promise<void> {
  const bytes = readFileSync(file);
  const init = name.startsWith('encode') ? syntheticModel(bytes.byteLength / 2 ** 20) : null;
  const baseReader = baseline ? ((await import(pathToFileURL(path.resolve(baseline)).href)) as { readOnnxHeader: (b: Uint8Array) => unknown }).readOnnxHeader : null;
  const rssBefore = process.memoryUsage().rss;
  const t = performance.now();
  let check = 0;
  if (name === 'header') check = readOnnxHeader(bytes).inputs.length;
  else if (name === 'metadata') check = Object.keys(readModelMetadata(bytes)).length;
  else if (name === 'fullDecode') check = decodeModel(bytes).graph!.initializer.length;
  else if (name === 'encode') check = encodeModel(init!).byteLength;
  else if (name === 'encodePlainToBinary') check = toBinary(ModelProtoSchema, create(ModelProtoSchema, init!)).byteLength;
  else if (name === 'baselineHeader') check = ((baseReader!(bytes) as { inputs: unknown[] }).inputs).length;
  const ms = performance.now() - t;
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ ms, addedPeakMB: Math.max(0, peak - rssBefore) / 2 ** 20, peakRssMB: peak / 2 ** 20, check }));
}

/** A model of `mb` MB: input → Add(w0) → … → Add(wN) → output, each w a [1, 3, 512, 512]-ish float32 block. */
function syntheticModel(mb: number): ModelInit {
  const perTensor = 4 * 2 ** 20; // 4 MiB = 1 Mi floats
  const count = Math.max(1, Math.round((mb * 2 ** 20) / perTensor));
  const initializer: TensorInit[] = [];
  const node: NodeInit[] = [];
  let prev = 'input';
  for (let i = 0; i < count; i++) {
    const data = new Float32Array(perTensor / 4).map((_, j) => Math.sin(i + j));
    initializer.push({ name: `w${i}`, dims: [1n, 4n, 512n, 512n], dataType: TensorDataType.FLOAT, rawData: new Uint8Array(data.buffer) });
    const out = i === count - 1 ? 'output' : `a${i}`;
    node.push({ opType: 'Add', input: [prev, `w${i}`], output: [out], name: `add${i}` });
    prev = out;
  }
  const vi = (name: string) => ({
    name,
    type: { value: { case: 'tensorType' as const, value: { elemType: TensorDataType.FLOAT, shape: { dim: [1n, 4n, 512n, 512n].map((d) => ({ value: { case: 'dimValue' as const, value: d } })) } } } },
  });
  return {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    producerName: 'bench',
    metadataProps: [
      { key: 'direction', value: 'a2b' },
      { key: 'img_size', value: '512' },
      { key: 'version', value: 'bench' },
    ],
    graph: { name: 'bench', node, initializer, input: [vi('input')], output: [vi('output')] },
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number): number => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const childCase = flag('--child') as CaseName | undefined;
  const baseline = flag('--baseline');
  if (childCase) return child(childCase, flag('--file')!, baseline);

  const mb = Number(flag('--mb') ?? 100);
  const runs = Number(flag('--runs') ?? 5);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-onnx-codec-'));
  try {
    const file = path.join(dir, 'big.onnx');
    const bytes = encodeModel(syntheticModel(mb));
    writeFileSync(file, bytes);
    const cases: CaseName[] = ['header', 'metadata', 'fullDecode', 'encode', 'encodePlainToBinary'];
    if (baseline) cases.push('baselineHeader');
    const results: Record<string, { ms: number[]; addedPeakMB: number[]; peakRssMB: number[] }> = Object.fromEntries(
      cases.map((c) => [c, { ms: [], addedPeakMB: [], peakRssMB: [] }]),
    );
    for (let r = 0; r < runs; r++) {
      for (const c of cases) {
        const argv = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', c, '--file', file, ...(baseline ? ['--baseline', baseline] : [])];
        const out = spawnSync(process.execPath, argv, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 });
        if (out.status !== 0) throw new Error(`${c} exited ${out.status}: ${out.stderr.slice(0, 600)}`);
        const m = JSON.parse(out.stdout) as { ms: number; addedPeakMB: number; peakRssMB: number };
        results[c].ms.push(m.ms);
        results[c].addedPeakMB.push(m.addedPeakMB);
        results[c].peakRssMB.push(m.peakRssMB);
      }
    }
    const summary = {
      bench: 'onnx-codec',
      modelMB: round(bytes.byteLength / 2 ** 20),
      runs,
      baseline: baseline ?? null,
      all: results,
      median: Object.fromEntries(
        Object.entries(results).map(([c, v]) => [c, { ms: round(median(v.ms)), addedPeakMB: round(median(v.addedPeakMB)), peakRssMB: round(median(v.peakRssMB)) }]),
      ),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverage1m: round(os.loadavg()[0]), node: process.version },
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
