import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

async function ownershipErrors(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

describe('one owner per outside library (eslint rule)', () => {
  it.each([
    ['sharp', 'src/media/media.ts'],
    ['onnxruntime-node', 'src/onnx/runtime.ts'],
    ['vega', 'src/media/chart.ts'],
    ['vega-lite', 'src/media/chart.ts'],
    ['@bufbuild/protobuf', 'src/onnx/'],
    ['@bufbuild/protobuf/wire', 'src/onnx/'],
    ['../onnx/schema/onnx_pb.ts', 'src/onnx/proto.ts'],
  ])('refuses %s outside %s, statically and dynamically, and allows it there', async (lib, owner) => {
    const code = `import * as a from '${lib}';\nexport const b = await import('${lib}');\nexport { a };\n`;
    const errors = await ownershipErrors(code, 'src/bot/some-feature.ts');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(new RegExp(`${lib.startsWith('.') ? 'onnx_pb\\.ts' : lib.replace(/\/wire$/, '')} is owned by ${owner}`));
    expect(await ownershipErrors(code, owner.endsWith('/') ? `${owner}some-module.ts` : owner)).toEqual([]);
  });

  it('lets every module of a folder owner import its library, and an owner inside that folder keep its own', async () => {
    const code = "import { toBinary } from '@bufbuild/protobuf';\nimport * as ort from 'onnxruntime-node';\nexport { toBinary, ort };\n";
    expect(await ownershipErrors(code, 'src/onnx/runtime.ts')).toEqual([]);
    expect(await ownershipErrors(code, 'src/onnx/proto.ts')).toHaveLength(1);
    expect(await ownershipErrors("import { ModelProtoSchema } from './schema/onnx_pb.ts';\nexport { ModelProtoSchema };\n", 'src/onnx/runtime.ts')).toHaveLength(1);
  });

  it("refuses another owner's library in an owner module", async () => {
    expect(await ownershipErrors("import sharp from 'sharp';\nexport { sharp };\n", 'src/onnx/runtime.ts')).toHaveLength(1);
  });
});

describe('lower layers never import the wings above them (eslint rule)', () => {
  it.each([
    ['src/media/media.ts', '../inference/inference.errors.ts'],
    ['src/media/chart.ts', '../bot/error-messages.ts'],
    ['src/media/upload-precheck.ts', '../inference/index.ts'],
    ['src/onnx/runtime.ts', '../inference/inference.errors.ts'],
    ['src/onnx/proto.ts', '../bot/bot.errors.ts'],
    ['src/onnx/nested/deeper.ts', '../../inference/model.registry.ts'],
  ])('refuses an import of the wing from %s (%s), statically and dynamically', async (file, source) => {
    const code = `import * as a from '${source}';\nexport const b = await import('${source}');\nexport { a };\n`;
    const errors = await ownershipErrors(code, file);
    expect(errors).toHaveLength(2);
    for (const e of errors) expect(e).toMatch(/src\/(media|onnx) sits below src\/inference and src\/bot and must not import them/);
  });

  it('allows the shared vocabulary and the layers beside and below, and the wings to import media and onnx', async () => {
    const downhill = "import { UPLOAD_REFUSAL_CODES } from '../shared/upload-refusal.ts';\nimport { AppError } from '../errors.ts';\nimport { OnnxError } from '../onnx/onnx.errors.ts';\nexport { UPLOAD_REFUSAL_CODES, AppError, OnnxError };\n";
    expect(await ownershipErrors(downhill, 'src/media/media.ts')).toEqual([]);
    expect(await ownershipErrors("import { MediaError } from '../media/upload-precheck.ts';\nexport { MediaError };\n", 'src/inference/inference.errors.ts')).toEqual([]);
    expect(await ownershipErrors("import { InferenceError } from '../inference/index.ts';\nexport { InferenceError };\n", 'src/bot/some-feature.ts')).toEqual([]);
  });

  it('holds for the code as it stands: no module under src/media or src/onnx imports src/inference or src/bot', async () => {
    const results = await eslint.lintFiles(['src/media/**/*.ts', 'src/onnx/**/*.ts']);
    const layerErrors = results.flatMap((r) => r.messages.filter((m) => /sits below/.test(m.message)).map((m) => `${r.filePath}: ${m.message}`));
    expect(results.length).toBeGreaterThanOrEqual(5);
    expect(layerErrors).toEqual([]);
  });
});
