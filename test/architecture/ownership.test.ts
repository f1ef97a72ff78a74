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
