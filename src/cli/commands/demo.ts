/**
 * `webtoon demo [--out demo] [--image file]`: the whole serving pipeline from a plain clone, with
 * nothing from outside the repository. It makes two tiny generators with random weights (our own
 * exporter, light U-GAT-IT, ngf 8, 2 blocks, 64², seeded so every run gives the same files), writes
 * them to the demo folder (never into MODELS_DIR, so the bot never serves them), and translates the
 * bundled photograph (assets/demo/astronaut.jpg, public domain) with face detection, attention
 * overlay and a before/after picture. The output is noise, since the weights are random; everything
 * around the generator runs for real.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { writeFileAtomicSync } from '../../shared/atomic-write.ts';
import type { GeneratorGraphConfig } from '../../training/export/generator-graph.ts';
import type { StateDict } from '../../training/tensors.ts';

/** The bundled photograph the demo translates by default. */
export const DEMO_IMAGE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../assets/demo/astronaut.jpg');
/** The demo generators' architecture: small enough to export in a second and serve in milliseconds. */
export const DEMO_GENERATOR = { variant: 'pytorch', light: true, ngf: 8, n_blocks: 2, img_size: 64, step: 0 } as const;

interface DemoFlags {
  out: string;
  image?: string;
}

export default function register(program: Command): void {
  program
    .command('demo')
    .description('try the pipeline from a plain clone: tiny random-weight generators + the bundled photo → demo/ (output is noise; detection, crop, ONNX, overlay are real)')
    .option('-o, --out <dir>', 'folder for the demo models and pictures (never MODELS_DIR)', 'demo')
    .option('-i, --image <file>', 'photo to translate instead of the bundled assets/demo/astronaut.jpg')
    .action(async (flags: DemoFlags) => {
      const { config } = await import('../../config.ts');
      const cfg = config();
      const out = path.resolve(flags.out);
      if (out === cfg.MODELS_DIR || out.startsWith(`${cfg.MODELS_DIR}${path.sep}`)) {
        throw new UsageError(`--out ${flags.out} is inside MODELS_DIR (${cfg.MODELS_DIR}): the bot would serve the random demo generators. Pick another folder.`, { out });
      }
      const image = path.resolve(flags.image ?? DEMO_IMAGE);
      if (!existsSync(image)) throw new UsageError(`cannot read ${flags.image ?? image}: no such file`, { image });
      const bytes = readFileSync(image);

      const { exportGenerator } = await import('../../training/export/exporter.ts');
      const { createTfjsReference } = await import('../../training/export/tfjs-reference.ts');
      const { randomGeneratorState } = await import('../../training/export/random-state.ts');
      // The self-check of a 64² generator takes milliseconds on wasm: no GPU probe (whose driver
      // messages would be the demo's only output on a machine without one).
      const reference = (state: StateDict, cfg: GeneratorGraphConfig) => createTfjsReference(state, cfg, 'wasm');
      mkdirSync(out, { recursive: true });
      const models: Record<'a2b' | 'b2a', string> = { a2b: path.join(out, 'tiny-a2b.onnx'), b2a: path.join(out, 'tiny-b2a.onnx') };
      for (const [direction, seed] of [['a2b', 1], ['b2a', 2]] as const) {
        const state = { [direction === 'a2b' ? 'genA2B' : 'genB2A']: randomGeneratorState(DEMO_GENERATOR, seed) };
        const r = await exportGenerator({ state, config: DEMO_GENERATOR, direction, outPath: models[direction], version: `demo-random-${direction}`, reference });
        process.stdout.write(`${path.relative(process.cwd(), r.path)}: random-weight ${direction} generator, ${Math.round(r.bytes / 1024)} KiB, verified (max diff ${r.maxAbsDiff?.toExponential(1)})\n`);
      }

      const { createInferenceClient } = await import('../../inference/inference.client.ts');
      const client = await createInferenceClient(cfg, { modelFile: models.a2b, inFlight: 1 });
      try {
        const result = await client.translate(bytes, { direction: 'a2b', attention: true, sideBySide: true });
        const png = path.join(out, `${path.basename(image).replace(/\.[^.]+$/, '')}.a2b.png`);
        writeFileAtomicSync(png, result.png);
        process.stdout.write(
          `${path.relative(process.cwd(), png)}: ${result.facesFound} face(s) found, input crop | random-generator output with its attention overlay, ${Math.round(result.timings.total)} ms\n` +
            `next: npx webtoon translate <your photo> --model ${path.relative(process.cwd(), models.a2b)} -o ${path.relative(process.cwd(), path.join(out, 'out.png'))} --attention --side-by-side\n`,
        );
      } finally {
        await client.close();
      }
    });
}
