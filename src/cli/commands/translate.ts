/**
 * `webtoon translate <image> [-o out.png] [--direction a2b|b2a] [--model file.onnx] [--attention]
 * [--side-by-side] [--faces 1|all] [--crop auto|center] [--size 256|512] [--json]`: runs the same
 * pipeline as the bot (worker thread, registry, batching) on one file. Bad input exits non-zero with
 * the typed reason (`webtoon: InferenceError[NO_FACE]: ...`).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../../shared/atomic-write.ts';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';

interface TranslateFlags {
  out?: string;
  direction: string;
  model?: string;
  version?: string;
  attention?: boolean;
  sideBySide?: boolean;
  faces: string;
  crop: string;
  size?: string;
  json?: boolean;
}

export default function register(program: Command): void {
  program
    .command('translate')
    .description('translate the face in a photo to a webtoon face (a2b) or back (b2a) and write a PNG')
    .argument('<image>', 'JPEG, PNG, WebP or GIF file (identified by its bytes, not its name)')
    .option('-o, --out <file>', 'output PNG (default: <image name>.<direction>.png beside the input)')
    .option('-d, --direction <dir>', 'a2b (photo → webtoon) or b2a (webtoon → photo)', 'a2b')
    .option('-m, --model <file.onnx>', 'use this generator instead of the newest in MODELS_DIR')
    .option('--version <v>', 'version for a --model file whose metadata has none')
    .option('--attention', 'blend the CAM attention heatmap over the output')
    .option('--side-by-side', 'put the input crop beside the output (before / after)')
    .option('--faces <n>', '1 (the largest face) or all (every face, as a grid)', '1')
    .option('--crop <mode>', 'auto (faces only; NO_FACE when none) or center (centre square when no face)', 'auto')
    .option('--size <px>', 'output side per face: 256 or 512 (Lanczos upscale); default OUTPUT_SIZE')
    .option('--json', 'print the result metadata as JSON on stdout')
    .action(async (image: string, flags: TranslateFlags) => {
      if (flags.direction !== 'a2b' && flags.direction !== 'b2a') {
        throw new UsageError(`--direction must be a2b or b2a, got "${flags.direction}"`, { direction: flags.direction });
      }
      if (flags.faces !== '1' && flags.faces !== 'one' && flags.faces !== 'all') {
        throw new UsageError(`--faces must be 1 or all, got "${flags.faces}"`, { faces: flags.faces });
      }
      if (flags.crop !== 'auto' && flags.crop !== 'center') {
        throw new UsageError(`--crop must be auto or center, got "${flags.crop}"`, { crop: flags.crop });
      }
      if (flags.size !== undefined && flags.size !== '256' && flags.size !== '512') {
        throw new UsageError(`--size must be 256 or 512, got "${flags.size}"`, { size: flags.size });
      }
      let bytes: Buffer;
      try {
        bytes = readFileSync(image);
      } catch (err) {
        throw new UsageError(`cannot read ${image}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { image });
      }
      const direction = flags.direction;
      const out = path.resolve(flags.out ?? `${image.replace(/\.[^./\\]+$/, '')}.${direction}.png`);

      const { config } = await import('../../config.ts');
      const { createInferenceClient } = await import('../../inference/inference.client.ts');
      const client = await createInferenceClient(config(), {
        modelFile: flags.model ? path.resolve(flags.model) : undefined,
        modelOverrides: flags.model ? { direction, version: flags.version } : undefined,
        inFlight: 1,
      });
      try {
        const result = await client.translate(bytes, {
          direction,
          attention: !!flags.attention,
          sideBySide: !!flags.sideBySide,
          faces: flags.faces === 'all' ? 'all' : 'one',
          crop: flags.crop,
          outputSize: flags.size ? (Number(flags.size) as 256 | 512) : undefined,
        });
        mkdirSync(path.dirname(out), { recursive: true });
        writeFileAtomicSync(out, result.png);
        const { png, ...meta } = result;
        if (flags.json) process.stdout.write(`${JSON.stringify({ out, bytes: png.length, ...meta }, null, 2)}\n`);
        else
          process.stdout.write(
            `${out}: ${meta.direction} model ${meta.modelVersion}, ${meta.facesFound} face(s), crop ${meta.cropMode}, ${Math.round(meta.timings.total)} ms\n`,
          );
      } finally {
        await client.close();
      }
    });
}
